"""Round trips: what is saved is what is loaded, byte for byte, at exactly its key (spec 1.1, 1.3).

Server-side state is checked through `store.objects` (the server's official SDK), so a driver
that both writes and reads the wrong way round cannot pass by agreeing with itself.
"""

from __future__ import annotations

import os

import pytest

from conformance import checks
from conformance.cases import deviation, requires, verifies
from drivers.core.errors import Code

MIB = 1024 * 1024
BINARY = bytes(range(256)) * 4 + b"\r\n\x00\r\x1a\xff"


def long_key(length: int = 1024) -> str:
    """A key of exactly `length` bytes whose segments stay under every server's 255-byte limit."""
    segments = []
    while sum(len(s) + 1 for s in segments) < length:
        segments.append("k" * 200)
    key = "/".join(segments)[:length]
    key = key if not key.endswith("/") else key[:-1] + "z"
    assert len(key.encode()) == length
    return key


# Keys every backend must keep verbatim (spec 2.1 key, 4.4 "used verbatim").
VERBATIM_KEYS = [
    pytest.param("with space/ä ü.txt", id="unicode-and-spaces"),
    pytest.param("emoji/😀 ☃.bin", id="emoji"),
    pytest.param("symbols/a+b=c&d;e,f@g$h(i)[j]'k'!.txt", id="symbols"),
    pytest.param("percent/%41%2F%zz.txt", id="percent-signs"),
    pytest.param(long_key(), id="1024-byte-key"),
]

# Argo allows `../` in keys and leaves containment to the credentials (spec 4.7).
DOT_DOT_KEYS = [
    pytest.param("../dot-dot/kept.txt", id="leading-dot-dot"),
    pytest.param("a/../b.txt", id="inner-dot-dot", marks=deviation("key-kept-verbatim")),
]

# Payloads a file round trip must keep byte for byte.
PAYLOADS = [
    pytest.param(b"", id="empty"),
    pytest.param(b"x", id="one-byte"),
    pytest.param(BINARY, id="binary"),
    pytest.param("naïve ☃ text\n".encode(), id="utf-8"),
    pytest.param(os.urandom(3 * MIB + 17), id="3MiB-random"),
]
# ... and as a load gives them back (a 0-byte object may be taken for a directory marker).
LOADED_PAYLOADS = [
    pytest.param(b"", id="empty", marks=deviation("empty-blob-is-file")),
    *PAYLOADS[1:],
]


# --- save -----------------------------------------------------------------------------------


@verifies("save")
def test_save_file_lands_at_its_key(store):
    """save uploads a file to exactly the artifact's key and nowhere else (spec 1.1 Save)."""
    path = store.local_file("in.bin", b"hello \x00\xff")
    store.driver.save(str(path), store.artifact("dir/in.bin"))
    checks.same_keys(store.objects.keys(), ["dir/in.bin"])
    checks.same_bytes(store.objects.get("dir/in.bin"), b"hello \x00\xff")


@verifies("save")
def test_save_empty_file_creates_empty_object(store):
    """save of a 0-byte file creates a 0-byte object (spec 1.1 Save, 5.2 empty-file warning)."""
    path = store.local_file("empty.txt", b"")
    store.driver.save(str(path), store.artifact("out/empty.txt"))
    checks.same_keys(store.objects.keys(), ["out/empty.txt"])
    checks.same_bytes(store.objects.get("out/empty.txt"), b"")


@verifies("save")
@pytest.mark.parametrize("data", PAYLOADS)
def test_save_keeps_bytes(store, data):
    """save stores the file's bytes unchanged, whatever they are (spec 1.1 Save)."""
    path = store.local_file("payload.bin", data)
    store.driver.save(str(path), store.artifact("payload.bin"))
    checks.same_bytes(store.objects.get("payload.bin"), data)


@verifies("save")
@pytest.mark.parametrize("key", VERBATIM_KEYS)
def test_save_keeps_unusual_keys_verbatim(store, key):
    """Keys with spaces, unicode, symbols and 1,024 bytes are stored verbatim (spec 2.1, 4.4)."""
    path = store.local_file("in.txt", b"verbatim")
    store.driver.save(str(path), store.artifact(key))
    checks.same_keys(store.objects.keys(), [key])
    checks.same_bytes(store.objects.get(key), b"verbatim")


@verifies("save")
@pytest.mark.parametrize("key", DOT_DOT_KEYS)
def test_save_keeps_dot_dot_keys_verbatim(store, key):
    """A key containing `../` is stored verbatim, never resolved (spec 4.7, 4.4)."""
    path = store.local_file("in.txt", b"dot-dot")
    store.driver.save(str(path), store.artifact(key))
    checks.same_keys(store.objects.keys(), [key])


@verifies("save")
def test_save_overwrites_existing_object(store):
    """save over an existing key replaces its content entirely (spec 1.1 Save)."""
    store.objects.put("over.txt", b"old content that is longer than the new one")
    path = store.local_file("new.txt", b"new")
    store.driver.save(str(path), store.artifact("over.txt"))
    checks.same_keys(store.objects.keys(), ["over.txt"])
    checks.same_bytes(store.objects.get("over.txt"), b"new")


@verifies("save_directory")
def test_save_nested_directory_one_object_per_file(store):
    """save of a directory uploads each regular file to `key/<relative path>` (spec 1.3)."""
    files = {
        "top.txt": b"top",
        "empty.txt": b"",
        "sub/mid.bin": BINARY,
        "sub/deeper/deepest/leaf.txt": b"leaf",
        "space dir/ä.txt": "ä".encode(),
    }
    root = store.local_tree("tree", files)
    store.driver.save(str(root), store.artifact("out/tree"))
    checks.same_keys(store.objects.keys(), [f"out/tree/{rel}" for rel in files])
    for rel, data in files.items():
        checks.same_bytes(store.objects.get(f"out/tree/{rel}"), data, what=rel)


@verifies("save_directory")
def test_save_directory_of_100_files(store):
    """save of a directory with 100 small files uploads all 100 (spec 1.3)."""
    files = {f"f{i:03d}.txt": f"file {i}".encode() for i in range(100)}
    root = store.local_tree("many", files)
    store.driver.save(str(root), store.artifact("many"))
    checks.same_keys(store.objects.keys(), [f"many/{rel}" for rel in files])
    checks.same_bytes(store.objects.get("many/f042.txt"), b"file 42")


@verifies("multipart_upload")
@requires("save")
@deviation("upload-part-size-setting")
@deviation("block-upload-threshold")
def test_save_above_part_size_is_multipart(store):
    """A file above the part size is uploaded in parts, as the server records (spec 6.6)."""
    data = os.urandom(12 * MIB)
    path = store.local_file("big.bin", data)
    location, parts = store.kind.multipart(store.location, len(data))
    store.driver_for(location).save(str(path), store.artifact_in(location, "big.bin"))
    checks.same_bytes(store.objects.get("big.bin"), data)
    recorded = store.objects.part_count("big.bin")
    if parts is None:  # the split is the driver's: any more than one
        assert recorded is not None and recorded > 1, f"uploaded in {recorded} part(s)"
    else:
        assert recorded == parts, f"uploaded in {recorded} part(s), expected {parts}"


# --- load -----------------------------------------------------------------------------------


@verifies("load")
def test_load_file_materialises_bytes(store):
    """load writes a file artifact's bytes at the given path (spec 1.1 Load)."""
    store.objects.put("file.bin", b"payload")
    out = store.tmp / "out.bin"
    store.driver.load(store.artifact("file.bin"), str(out))
    checks.same_file(out, b"payload")


@verifies("load")
@pytest.mark.parametrize("data", LOADED_PAYLOADS)
def test_load_keeps_bytes(store, data):
    """load returns the object's bytes unchanged, whatever they are (spec 1.1 Load)."""
    store.objects.put("payload.bin", data)
    out = store.tmp / "out.bin"
    store.driver.load(store.artifact("payload.bin"), str(out))
    checks.same_file(out, data)


@verifies("load")
@deviation("empty-blob-is-file")
def test_load_empty_object_is_empty_file(store):
    """A 0-byte object with nothing under it loads as an empty file, never as an empty
    directory (spec 1.3, 0-byte blob quirk)."""
    store.objects.put("empty.txt", b"")
    out = store.tmp / "out.txt"
    store.driver.load(store.artifact("empty.txt"), str(out))
    checks.same_file(out, b"")


@verifies("load")
@pytest.mark.parametrize("key", VERBATIM_KEYS)
def test_load_keeps_unusual_keys_verbatim(store, key):
    """Keys with spaces, unicode, symbols and 1,024 bytes are read verbatim (spec 2.1, 4.4)."""
    store.objects.put(key, b"x")
    store.objects.put(key[:-1] + ("y" if key[-1] != "y" else "z"), b"wrong")  # same length
    out = store.tmp / "out.bin"
    store.driver.load(store.artifact(key), str(out))
    checks.same_file(out, b"x")


@verifies("load")
def test_load_object_beside_same_named_prefix_is_the_file(store):
    """With object `a` and objects under `a/`, loading `a` gives the file (spec 1.3 Load)."""
    store.objects.put("a/child.txt", b"the child")
    store.objects.put("a", b"the file")
    try:
        out = store.tmp / "out"
        store.driver.load(store.artifact("a"), str(out))
        checks.same_file(out, b"the file")
    finally:
        # A server that stores objects as files keeps `a/child.txt` beside object `a` but
        # hides it from listings, so the bucket clean-up (which lists) would miss it.
        store.objects.delete("a/child.txt")


@verifies("load_directory")
def test_load_nested_directory(store):
    """load of a prefix recreates the nested tree under the path (spec 1.3 Load)."""
    files = {
        "top.txt": b"top",
        "sub/mid.bin": BINARY,
        "sub/deeper/deepest/leaf.txt": b"leaf",
        "space dir/ä.txt": "ä".encode(),
    }
    for rel, data in files.items():
        store.objects.put(f"out/tree/{rel}", data)
    out = store.tmp / "loaded"
    store.driver.load(store.artifact("out/tree"), str(out))
    checks.same_files(checks.files_under(out), files)


@verifies("load_directory")
@requires("save_directory")
def test_saved_directory_loads_back_identical(store):
    """A directory saved then loaded comes back file for file, byte for byte (spec 1.1)."""
    files = {f"d{i % 7}/f{i:03d}.bin": os.urandom(i * 13) for i in range(100)}
    root = store.local_tree("src", files)
    store.driver.save(str(root), store.artifact("round/trip"))
    out = store.tmp / "back"
    store.driver.load(store.artifact("round/trip"), str(out))
    checks.same_files(checks.files_under(out), files)


# --- force ----------------------------------------------------------------------------------


@verifies("save_force")
def test_save_with_force_replaces_an_existing_file(store):
    """With `force`, save replaces an existing file with the new bytes (spec 1.3, 2.8)."""
    store.objects.put("out/result.txt", b"old bytes, longer than the new")
    path = store.local_file("result.txt", b"new")
    location = store.kind.forcing(store.location)
    store.driver_for(location).save(str(path), store.artifact_in(location, "out/result.txt"))
    checks.same_bytes(store.objects.get("out/result.txt"), b"new")


@verifies("save_force")
def test_save_without_force_keeps_an_existing_file(store):
    """Without `force`, save onto an existing file fails (ERR_INTERNAL "... already exists")
    and the stored bytes stay as they were (spec 1.3, 2.8)."""
    store.objects.put("out/result.txt", b"old")
    path = store.local_file("result.txt", b"new")
    location = store.kind.forcing(store.location, force=False)
    checks.raises(
        lambda: store.driver_for(location).save(
            str(path), store.artifact_in(location, "out/result.txt")
        ),
        Code.INTERNAL,
        match="already exists",
    )
    checks.same_bytes(store.objects.get("out/result.txt"), b"old")
