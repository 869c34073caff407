"""Directories: a key whose objects live under `key/` (spec 1.1, 1.3, 11 item 8).

A directory artifact is exactly the objects under `key + "/"`: never siblings such as `out-2/`
or `outx`, and never the "folder" marker objects (`key/`, `key/sub/`) consoles create.
"""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.cases import deviation, requires, verifies
from drivers.core.errors import Code

PAGE_PAST = 1001  # one more than the usual list page size (1,000 keys)

# Siblings of "out" that share its prefix but are not inside it.
SIBLINGS = {"out-2/c.txt": b"sibling dir", "outx": b"sibling file", "out.txt": b"sibling dot"}
INSIDE = {"out/a.txt": b"a", "out/sub/b.bin": b"\x00b", "out/sub/deeper/c.txt": b"c"}
MARKERS = ("out/", "out/sub/")


def inside(objects: dict[str, bytes], prefix: str) -> dict[str, bytes]:
    """`objects` by their path under `prefix/`: the tree a directory load must produce."""
    return {k.removeprefix(f"{prefix}/"): v for k, v in objects.items()}


# --- load -----------------------------------------------------------------------------------


@verifies("load_directory")
@deviation("raw-prefix-siblings")
def test_load_prefix_takes_only_objects_under_it(store):
    """load of `out` downloads `out/...` only, never siblings `out-2/`, `outx` (spec 1.3)."""
    store.objects.put_many({**INSIDE, **SIBLINGS})
    out = store.tmp / "loaded"
    store.driver.load(store.artifact("out"), str(out))
    checks.same_files(checks.files_under(out), inside(INSIDE, "out"))


@verifies("load_directory")
@deviation("folder-markers-downloaded")
def test_load_directory_skips_folder_markers(store):
    """Folder markers (`out/`, `out/sub/`) never become files when loading (spec 1.3)."""
    store.objects.put_many({**INSIDE, **dict.fromkeys(MARKERS, b"")})
    out = store.tmp / "loaded"
    store.driver.load(store.artifact("out"), str(out))
    checks.same_files(checks.files_under(out), inside(INSIDE, "out"))


@verifies("load_directory")
@deviation("key-kept-verbatim")  # a cleaned key loses its slash, then takes its siblings
def test_load_directory_with_trailing_slash(store):
    """load of `out/` is the same directory as `out`: the prefix is `clean(key) + "/"` either
    way (spec 1.3)."""
    store.objects.put_many({**INSIDE, **SIBLINGS})
    out = store.tmp / "loaded"
    store.driver.load(store.artifact("out/"), str(out))
    checks.same_files(checks.files_under(out), inside(INSIDE, "out"))


@verifies("load_directory")
def test_load_directory_pages_past_1000_objects(store):
    """load of a prefix with 1,001 objects downloads all of them (listing pages, spec 1.3)."""
    objects = {f"big/f{i:04d}": str(i).encode() for i in range(PAGE_PAST)}
    store.objects.put_many(objects)
    out = store.tmp / "loaded"
    store.driver.load(store.artifact("big"), str(out))
    checks.same_files(checks.files_under(out), inside(objects, "big"))


# --- is_directory ---------------------------------------------------------------------------

# (objects on the server, key asked, expected answer)
IS_DIRECTORY = [
    pytest.param(["out/a.txt"], "out", True, id="prefix-with-object"),
    pytest.param(["out/sub/deep.txt"], "out", True, id="prefix-with-nested-object-only"),
    pytest.param(["out/a.txt"], "out/", True, id="trailing-slash"),
    pytest.param(["out"], "out", False, id="plain-file"),
    pytest.param([], "out", False, id="missing"),
    pytest.param(["out-2/a.txt"], "out", False, id="sibling-dir-only"),
    pytest.param(["outx/a.txt"], "out", False, id="sibling-prefix-only"),
    pytest.param(["out.txt"], "out", False, id="sibling-file-only"),
]


@verifies("is_directory")
@deviation("is-directory-implemented")
@pytest.mark.parametrize(("present", "key", "expected"), IS_DIRECTORY)
def test_is_directory(store, present, key, expected):
    """is_directory is true exactly when objects exist under `key/` (spec 1.3, 11 item 8)."""
    store.objects.put_many(dict.fromkeys(present, b"x"))
    assert store.driver.is_directory(store.artifact(key)) is expected


# --- list_objects ---------------------------------------------------------------------------


@verifies("list_objects")
@deviation("raw-prefix-siblings")
def test_list_objects_gives_full_keys_without_markers_or_siblings(store):
    """list_objects lists full keys under `key/`, skipping `.../` markers and siblings (1.3)."""
    store.objects.put_many({**INSIDE, **SIBLINGS, **dict.fromkeys(MARKERS, b"")})
    checks.same_keys(store.driver.list_objects(store.artifact("out")), INSIDE)


@verifies("list_objects")
@deviation("list-objects-skips-markers")
@deviation("list-objects-s3-semantics")
def test_list_objects_of_a_file_is_empty(store):
    """list_objects of a plain file (nothing under `key/`) is an empty list (spec 1.3)."""
    store.objects.put("out", b"file")
    checks.same_keys(store.driver.list_objects(store.artifact("out")), [])


@verifies("list_objects")
@deviation("raw-prefix-siblings")
def test_list_objects_pages_past_1000_objects(store):
    """list_objects of a prefix with 1,001 objects returns all of them (spec 1.3)."""
    objects = {f"big/f{i:04d}": b"" for i in range(PAGE_PAST)}
    store.objects.put_many({**objects, "big-2/other": b""})
    checks.same_keys(store.driver.list_objects(store.artifact("big")), objects)


# --- delete of a large directory -----------------------------------------------------------


@verifies("delete_directory")
@requires("delete")
@deviation("directory-delete-without-trailing-slash")
@deviation("directory-delete-tree")
@deviation("raw-prefix-siblings")
def test_delete_directory_pages_past_1000_objects(store):
    """delete of a prefix with 1,001 objects removes all of them, and only them (7.3)."""
    objects = {f"big/f{i:04d}": b"" for i in range(PAGE_PAST)}
    store.objects.put_many({**objects, "big-2/other": b"keep"})
    store.driver.delete(store.artifact("big"))
    checks.same_keys(store.objects.keys(), ["big-2/other"])


# --- drivers of files only ------------------------------------------------------------------

#: Argo's refusal of a directory by its files-only drivers (the typo is Argo's).
DIRECTORY_REFUSED = r"artifact does not suppot directory copy"


@verifies("refuses_directories")
def test_save_of_a_directory_is_refused(store):
    """save of a local directory fails with Argo's error and stores nothing (spec 1.3)."""
    root = store.local_tree("out", {"a.txt": b"a", "sub/b.txt": b"b"})
    checks.raises(
        lambda: store.driver.save(str(root), store.artifact("out")),
        Code.INTERNAL,
        match=DIRECTORY_REFUSED,
    )
    checks.same_keys(store.objects.keys(), [])


@verifies("refuses_directories")
def test_load_of_a_directory_is_refused(store):
    """load of a stored directory fails with Argo's error and writes nothing (spec 1.3)."""
    store.objects.put_many(INSIDE)
    out = store.tmp / "loaded"
    checks.raises(
        lambda: store.driver.load(store.artifact("out"), str(out)),
        Code.INTERNAL,
        match=DIRECTORY_REFUSED,
    )
    assert not out.exists(), f"a refused load left {out}"
