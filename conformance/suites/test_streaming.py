"""Streaming: open_stream and save_stream, what argo-server uses to serve and upload artifacts
(spec 1.1, 1.3, 8.1, 11 items 9 and 10).
"""

from __future__ import annotations

import functools
import io
import os
import tempfile

import pytest

from conformance import checks
from conformance.cases import deviation, requires, verifies
from drivers.core.errors import Code

MIB = 1024 * 1024

# Sizes that cross, or end exactly on, the usual chunk and part boundaries of drivers (4 MiB
# blocks and GET chunks, 8 MiB stream parts and resumable-upload chunks), plus the degenerate
# ones.
SIZES = [
    pytest.param(0, id="empty"),
    pytest.param(1, id="one-byte"),
    pytest.param(MIB + 1, id="1MiB+1"),
    pytest.param(8 * MIB, id="exactly-8MiB"),
    pytest.param(9 * MIB + 7, id="9MiB+7"),
]
# A reader that fails is no storage error: Argo returns it as a plain error, ERR_INTERNAL
# (spec 1.5). Whether it is marked transient is the driver's call; retrying is the caller's,
# with a new reader (spec 1.1 SaveStream).
FAILED_READ = Code.INTERNAL


def read_all(stream, chunk: int = 64 * 1024) -> bytes:
    """Read the way argo-server copies a stream to a response: fixed-size reads until EOF."""
    parts = []
    try:
        while block := stream.read(chunk):
            parts.append(block)
    finally:
        stream.close()
    return b"".join(parts)


class ReaderFailed(ConnectionResetError):
    """The reader's own failure: the error save_stream must end with (as its cause)."""


class OneWayStream(io.RawIOBase):
    """A readable, non-seekable stream (a request body): bytes, then optionally an error."""

    def __init__(self, data: bytes, fail_after: int | None = None):
        super().__init__()
        self._data = memoryview(data)
        self._pos = 0
        self._fail_after = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._fail_after is not None and self._pos >= self._fail_after:
            raise ReaderFailed("client went away in the middle of the upload")
        end = len(self._data)
        if self._fail_after is not None:
            end = min(end, self._fail_after)
        size = min(len(buffer), end - self._pos)
        buffer[:size] = self._data[self._pos : self._pos + size]
        self._pos += size
        return size


@pytest.fixture
def empty_tmpdir(tmp_path, monkeypatch):
    """TMPDIR (and tempfile's cached default) pointed at an empty directory."""
    path = tmp_path / "TMPDIR"
    path.mkdir()
    monkeypatch.setenv("TMPDIR", str(path))
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


# --- open_stream ----------------------------------------------------------------------------


@verifies("open_stream")
@pytest.mark.parametrize("size", SIZES)
def test_open_stream_gives_the_object_bytes(store, size):
    """open_stream yields exactly the object's bytes, to the end (spec 1.1 OpenStream)."""
    data = os.urandom(size)
    store.objects.put("stream.bin", data)
    checks.same_bytes(read_all(store.driver.open_stream(store.artifact("stream.bin"))), data)


@verifies("open_stream")
@requires("save")
def test_open_stream_reads_what_save_wrote(store):
    """A file saved by the driver streams back identical (spec 1.1, 8.1)."""
    data = os.urandom(5 * MIB + 3)
    path = store.local_file("in.bin", data)
    store.driver.save(str(path), store.artifact("dir/in.bin"))
    checks.same_bytes(read_all(store.driver.open_stream(store.artifact("dir/in.bin"))), data)


@verifies("open_stream")
def test_open_stream_leaves_no_temp_files(store, empty_tmpdir):
    """open_stream, read and closed, leaves nothing in TMPDIR (spec 1.1 LoadToStream, 11.9)."""
    data = os.urandom(2 * MIB + 5)
    store.objects.put("stream.bin", data)
    checks.same_bytes(read_all(store.driver.open_stream(store.artifact("stream.bin"))), data)
    checks.same_keys((p.name for p in empty_tmpdir.iterdir()), [], what="files in TMPDIR")


@verifies("open_stream")
@deviation("open-stream-missing-not-found")
def test_open_stream_of_missing_key_is_not_found(store):
    """open_stream of a key that does not exist fails with ERR_NOT_FOUND (spec 1.3, 1.5)."""
    store.objects.put("present.txt", b"x")
    artifact = store.artifact("absent.txt")
    checks.raises(lambda: read_all(store.driver.open_stream(artifact)), Code.NOT_FOUND)


@verifies("open_stream")
@requires("load_directory")  # a kind with no directory artifacts has nothing to refuse here
@deviation("open-stream-directory")
def test_open_stream_of_directory_is_not_implemented(store):
    """open_stream of a directory fails with ERR_NOT_IMPLEMENTED (spec 1.3, 11 item 9)."""
    store.objects.put("dir/a.txt", b"a")
    store.objects.put("dir/sub/b.txt", b"b")
    artifact = store.artifact("dir")
    checks.raises(lambda: read_all(store.driver.open_stream(artifact)), Code.NOT_IMPLEMENTED)


# --- save_stream ----------------------------------------------------------------------------


@verifies("save_stream")
@pytest.mark.parametrize("size", SIZES)
def test_save_stream_writes_the_stream_bytes(store, size):
    """save_stream stores exactly the bytes read from a one-way stream (spec 1.1 SaveStream)."""
    data = os.urandom(size)
    store.driver.save_stream(OneWayStream(data), store.artifact("up/stream.bin"))
    checks.same_keys(store.objects.keys(), ["up/stream.bin"])
    checks.same_bytes(store.objects.get("up/stream.bin"), data)


@verifies("open_stream")
@requires("save_stream")
def test_open_stream_reads_what_save_stream_wrote(store):
    """What save_stream wrote, open_stream gives back identical (spec 8.1)."""
    data = os.urandom(6 * MIB + 1)
    store.driver.save_stream(io.BytesIO(data), store.artifact("rt.bin"))
    checks.same_bytes(read_all(store.driver.open_stream(store.artifact("rt.bin"))), data)


@verifies("save_stream")
def test_save_stream_leaves_no_temp_files(store, empty_tmpdir):
    """save_stream leaves nothing in TMPDIR, even when it buffers (spec 1.1, 11 item 10)."""
    data = os.urandom(3 * MIB + 1)
    store.driver.save_stream(OneWayStream(data), store.artifact("up.bin"))
    checks.same_bytes(store.objects.get("up.bin"), data)
    checks.same_keys((p.name for p in empty_tmpdir.iterdir()), [], what="files in TMPDIR")


@verifies("save_stream")
def test_save_stream_failing_midway_leaves_nothing(store, empty_tmpdir):
    """A stream that fails midway leaves no object, no open multipart upload, no temp file
    (spec 1.1 SaveStream: never retried with the same reader)."""
    stream = OneWayStream(os.urandom(10 * MIB), fail_after=9 * MIB)
    backoff = checks.Backoff()
    driver = store.new_driver(context=store.context_with(sleep=backoff))
    save = functools.partial(driver.save_stream, stream, store.artifact("half"))
    checks.raises(save, FAILED_READ, cause=ReaderFailed, transient=None, backoff=backoff)
    checks.same_keys(store.objects.keys(), [])
    left_open = checks.settled(store.objects.open_uploads)
    checks.same_keys(left_open, [], what="uploads left open")
    checks.same_keys((p.name for p in empty_tmpdir.iterdir()), [], what="files in TMPDIR")


@verifies("save_stream")
def test_save_stream_failing_midway_keeps_previous_object(store):
    """A failed save_stream over an existing key leaves the old content intact (spec 1.1)."""
    store.objects.put("kept.bin", b"previous version")
    stream = OneWayStream(os.urandom(10 * MIB), fail_after=9 * MIB)
    save = functools.partial(store.driver.save_stream, stream, store.artifact("kept.bin"))
    checks.raises(save, FAILED_READ, cause=ReaderFailed, transient=None)
    checks.same_bytes(store.objects.get("kept.bin"), b"previous version")
