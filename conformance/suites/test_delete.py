"""Delete: what Argo's artifact GC calls, once per output artifact (spec 1.1, 7.3, 11 item 11).

The intended contract (drivers/core/deviations.yaml): delete removes the object named `key`
and every object under `key + "/"`, with or without the trailing slash, never a sibling,
and a missing key is a success so that GC can be retried.
"""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.cases import deviation, verifies

TREE = {"out/a.txt": b"a", "out/sub/b.bin": b"\x00b", "out/sub/deeper/c.txt": b"c"}
SIBLINGS = {
    "out-2/c.txt": b"sibling dir",
    "out-2/sub/d.txt": b"sibling nested",
    "outx": b"sibling file",
    "out.txt": b"sibling dot",
    "ou": b"shorter",
}


@verifies("delete")
def test_delete_file(store):
    """delete of a file removes exactly that object (spec 1.1 Delete, 7.3)."""
    store.objects.put_many({"out/file.txt": b"x", "out/file.txt.bak": b"keep"})
    store.driver.delete(store.artifact("out/file.txt"))
    checks.same_keys(store.objects.keys(), ["out/file.txt.bak"])


@verifies("delete")
def test_delete_file_spares_siblings(store):
    """delete of file `out` leaves `out-2/...`, `outx`, `out.txt` and `ou` alone (spec 7.3)."""
    store.objects.put_many({"out": b"the file", **SIBLINGS})
    store.driver.delete(store.artifact("out"))
    checks.same_keys(store.objects.keys(), SIBLINGS)


@verifies("delete_directory")
@deviation("directory-delete-tree")
@deviation("prefix-delete-keeps-folder-markers")
def test_delete_directory_with_trailing_slash(store):
    """delete of `out/` removes every object under `out/`, markers included (spec 1.3, 7.3)."""
    store.objects.put_many({**TREE, "out/": b"", "out/sub/": b""})
    store.driver.delete(store.artifact("out/"))
    checks.same_keys(store.objects.keys(), [])


@verifies("delete_directory")
@deviation("directory-delete-without-trailing-slash")
@deviation("directory-delete-tree")
def test_delete_directory_without_trailing_slash(store):
    """delete of `out` (no slash) removes every object under `out/` too (spec 7.3, #14387)."""
    store.objects.put_many(TREE)
    store.driver.delete(store.artifact("out"))
    checks.same_keys(store.objects.keys(), [])


@verifies("delete_directory")
@deviation("directory-delete-tree")
@pytest.mark.parametrize(
    "key",
    [
        pytest.param(
            "out",
            id="no-slash",
            marks=[
                *deviation("directory-delete-without-trailing-slash"),
                *deviation("raw-prefix-siblings"),  # a key with its slash spares them
            ],
        ),
        pytest.param("out/", id="trailing-slash"),
    ],
)
def test_delete_directory_spares_siblings(store, key):
    """delete of directory `out` never touches `out-2/...`, `outx`, `out.txt` (spec 7.3)."""
    store.objects.put_many({**TREE, **SIBLINGS})
    store.driver.delete(store.artifact(key))
    checks.same_keys(store.objects.keys(), SIBLINGS)
    checks.same_bytes(store.objects.get("out-2/sub/d.txt"), b"sibling nested")


@verifies("delete")
@deviation("delete-missing-idempotent")
def test_delete_twice_is_a_success(store):
    """A second delete of the same artifact succeeds: GC may be retried (spec 7.3, 11)."""
    store.objects.put("gone.txt", b"x")
    store.driver.delete(store.artifact("gone.txt"))
    store.driver.delete(store.artifact("gone.txt"))
    checks.same_keys(store.objects.keys(), [])


@verifies("delete")
@deviation("delete-missing-idempotent")
def test_delete_missing_key_is_a_success(store):
    """delete of a key that never existed succeeds and touches nothing else (spec 7.3)."""
    store.objects.put("other.txt", b"keep")
    store.driver.delete(store.artifact("never-written.tgz"))
    checks.same_keys(store.objects.keys(), ["other.txt"])


@verifies("delete_directory")
@deviation("delete-missing-idempotent")
@deviation("directory-delete-tree")
def test_delete_directory_twice_is_a_success(store):
    """A second delete of a directory artifact succeeds (spec 7.3)."""
    store.objects.put_many(TREE)
    store.driver.delete(store.artifact("out/"))
    store.driver.delete(store.artifact("out/"))
    checks.same_keys(store.objects.keys(), [])
