"""Archive strategies through the executor's staging: tar.gz, zip and none (spec 5.1-5.4).

Every case goes through `drivers.core.executor.save_output` / `load_input`, as a workflow pod does;
what lands on the server is checked with the server's official SDK (`store.objects`).
"""

from __future__ import annotations

import gzip
import io
import subprocess
import tarfile
import zipfile

import pytest

from conformance import checks
from conformance.cases import deviation, requires, verifies
from drivers.core.executor import StagingContext, load_input, save_output

TREE = {
    "a.txt": b"alpha\n" * 64,
    "sub/b.txt": b"bravo \x00\xff\n" * 16,
    "sub/deeper/c.txt": b"charlie\n",
}


def _staging(store) -> StagingContext:
    return StagingContext(temp_dir=store.tmp / "staging")


def _compressible(size: int) -> bytes:
    """Text that deflate compresses well, but differently at levels 1 and 9."""
    words = [b"artifact", b"bucket", b"key", b"workflow", b"pod", b"archive", b"gzip", b"tar"]
    out = bytearray()
    state = 7
    while len(out) < size:
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out += words[state % len(words)] + (b"\n" if state % 5 == 0 else b" ")
    return bytes(out[:size])


def _save_tar(store, key: str, level: int | None) -> tuple[bytes, int]:
    payload = _compressible(256 * 1024)
    store.local_tree("out", {"data.txt": payload})
    tar = {} if level is None else {"compressionLevel": level}
    artifact = store.artifact(key, archive={"tar": tar})
    save_output(store.driver, store.tmp / "out", artifact, _staging(store))
    data = store.objects.get(key)
    assert data is not None, f"nothing was saved at {key!r}"
    return data, len(payload)


@verifies("archive_tar")
@requires("save", "load")
def test_tar_directory_round_trips(store):
    """tar: a directory is one tar.gz with top-level basename/ and loads back (5.3, 5.4)."""
    store.local_tree("out", TREE)
    artifact = store.artifact("wf/out.tgz", archive={"tar": {}})
    save_output(store.driver, store.tmp / "out", artifact, _staging(store))

    checks.same_keys(store.objects.keys(), ["wf/out.tgz"])
    data = store.objects.get("wf/out.tgz")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = {m.name.rstrip("/") for m in tar.getmembers()}
    assert {"out", "out/a.txt", "out/sub", "out/sub/b.txt", "out/sub/deeper/c.txt"} <= names

    dest = store.tmp / "in" / "out"
    load_input(store.driver, store.artifact("wf/out.tgz"), dest, _staging(store))
    checks.same_files(checks.files_under(dest), TREE)


@verifies("archive_tar")
@requires("save")
@pytest.mark.parametrize("level", [0, 1, 9])
def test_tar_compression_level_is_honoured(store, level):
    """tar.compressionLevel sets the gzip level of the uploaded archive (5.1, 5.2)."""
    data, payload_size = _save_tar(store, "level.tgz", level)
    assert data[:2] == b"\x1f\x8b", "the object is not gzip"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile("out/data.txt")
        assert member is not None and len(member.read()) == payload_size
    xfl = data[8]  # RFC 1952 XFL: 2 = maximum compression, 4 = fastest
    if level == 0:
        assert len(data) > payload_size, f"level 0 must store, got {len(data)} < {payload_size}"
    elif level == 1:
        assert xfl == 4, f"gzip header XFL {xfl}: not written at level 1 (fastest)"
        assert len(data) < payload_size // 2
    else:
        assert xfl == 2, f"gzip header XFL {xfl}: not written at level 9 (maximum)"
        assert len(data) < payload_size // 2


@verifies("archive_tar")
@requires("save")
def test_tar_levels_change_the_archive_size(store):
    """compressionLevel 9 makes a smaller archive than level 1, which is smaller than 0 (5.1)."""
    sizes = {level: len(_save_tar(store, f"size-{level}.tgz", level)[0]) for level in (0, 1, 9)}
    assert sizes[9] < sizes[1] < sizes[0], f"archive sizes by level: {sizes}"


@verifies("archive_zip")
@requires("save", "load")
def test_zip_directory_round_trips(store):
    """zip: a directory is saved as one zip of basename/rel file entries and unzips back (5.3)."""
    store.local_tree("out", TREE)
    artifact = store.artifact("wf/out.zip", archive={"zip": {}})
    save_output(store.driver, store.tmp / "out", artifact, _staging(store))

    checks.same_keys(store.objects.keys(), ["wf/out.zip"])
    data = store.objects.get("wf/out.zip")
    assert data[:4] == b"PK\x03\x04", "the object is not a zip"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        checks.same_keys(zf.namelist(), [f"out/{name}" for name in TREE], what="zip entries")

    dest = store.tmp / "in" / "out"
    load_input(
        store.driver, store.artifact("wf/out.zip", archive={"zip": {}}), dest, _staging(store)
    )
    checks.same_files(checks.files_under(dest), TREE)


@verifies("archive_zip")
@requires("save", "load")
def test_zip_is_never_auto_detected(store):
    """An input without a strategy is renamed, not unzipped: zip is never auto-detected (5.4)."""
    store.local_tree("out", TREE)
    save_output(
        store.driver,
        store.tmp / "out",
        store.artifact("out.zip", archive={"zip": {}}),
        _staging(store),
    )
    dest = store.tmp / "in.zip"
    load_input(store.driver, store.artifact("out.zip"), dest, _staging(store))
    checks.same_file(dest, store.objects.get("out.zip"))


@verifies("archive_none")
@requires("save_directory")
def test_none_directory_is_one_object_per_file(store):
    """archive none: a directory is one object per regular file under key/ (5.2, 1.3)."""
    store.local_tree("out", TREE)
    artifact = store.artifact("wf/out", archive={"none": {}})
    save_output(store.driver, store.tmp / "out", artifact, _staging(store))
    checks.same_keys(store.objects.keys(), [f"wf/out/{name}" for name in TREE])
    for name, data in TREE.items():
        checks.same_bytes(store.objects.get(f"wf/out/{name}"), data, what=name)


@verifies("archive_none")
@requires("save")
def test_none_file_is_uploaded_as_is(store):
    """archive none: a file is uploaded byte for byte, not archived (5.2)."""
    path = store.local_file("report.bin", b"\x1f\x8b not really gzip")
    save_output(store.driver, path, store.artifact("wf/report.bin", archive={"none": {}}),
                _staging(store))  # fmt: skip
    checks.same_keys(store.objects.keys(), ["wf/report.bin"])
    checks.same_bytes(store.objects.get("wf/report.bin"), b"\x1f\x8b not really gzip")


@verifies("archive_none")
@requires("save_directory", "load_directory")
def test_none_directory_round_trips(store):
    """archive none: a directory saved as is loads back as the same tree (5.4 none: rename)."""
    store.local_tree("out", TREE)
    save_output(store.driver, store.tmp / "out", store.artifact("wf/out", archive={"none": {}}),
                _staging(store))  # fmt: skip
    dest = store.tmp / "in" / "out"
    load_input(store.driver, store.artifact("wf/out", archive={"none": {}}), dest, _staging(store))
    checks.same_files(checks.files_under(dest), TREE)


@verifies("archive_none")
@requires("save_directory")
@deviation("save-dangling-symlink")
def test_none_skips_symlinks_and_empty_directories(store):
    """archive none: symlinks and empty directories are not uploaded (spec 1.3 Save)."""
    root = store.local_tree("out", {"real.txt": b"real", "sub/kept.txt": b"kept"})
    (root / "empty").mkdir()
    (root / "sub" / "empty-too").mkdir()
    (root / "link-to-file").symlink_to("real.txt")
    (root / "link-to-dir").symlink_to("sub", target_is_directory=True)
    (root / "dangling").symlink_to("nowhere")
    save_output(store.driver, root, store.artifact("wf/out", archive={"none": {}}),
                _staging(store))  # fmt: skip
    checks.same_keys(store.objects.keys(), ["wf/out/real.txt", "wf/out/sub/kept.txt"])


@verifies("archive_tar")
@requires("load")
@pytest.mark.parametrize(
    "how",
    [["tar", "czf", "{archive}", "tree"], ["tar", "czf", "{archive}", "-C", "tree", "."]],
    ids=["dir", "dash-C-dot"],
)
def test_gnu_tar_archive_loads(store, how):
    """A tar.gz made by GNU tar (`tar czf x.tgz dir` or `-C dir .`) unpacks on input (5.4)."""
    store.local_tree("tree", TREE)
    archive = store.tmp / "x.tgz"
    argv = [part.format(archive=archive) for part in how]
    subprocess.run(argv, cwd=store.tmp, check=True, capture_output=True)
    store.objects.put("made-by/x.tgz", archive.read_bytes())

    dest = store.tmp / "in" / "tree"
    load_input(store.driver, store.artifact("made-by/x.tgz"), dest, _staging(store))
    checks.same_files(checks.files_under(dest), TREE)


@verifies("archive_tar")
@requires("load")
def test_gzip_without_tar_is_not_unpacked(store):
    """An input without a strategy that is gzip but not tar is renamed as is (5.4 auto-detect)."""
    payload = gzip.compress(b"just gzip, no tar inside\n" * 10)
    store.objects.put("plain.gz", payload)
    dest = store.tmp / "plain.gz"
    load_input(store.driver, store.artifact("plain.gz"), dest, _staging(store))
    checks.same_file(dest, payload)
