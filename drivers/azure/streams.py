"""The streams of the Azure driver: a chunked download reader and an upload source.

``open_stream`` returns a :class:`DownloadReader` (buffered) over the downloader's chunks, one
chunk in memory at a time, whose read errors are ``ArtifactError``s; ``save_stream`` hands
``upload_blob`` an :class:`UploadSource` over the caller's stream.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, BinaryIO

from drivers.calls import Translate, translating
from drivers.core.errors import ArtifactError


class DownloadReader(io.RawIOBase):
    """A raw reader over the downloader's chunk iterator: one chunk in memory at a time."""

    def __init__(self, chunks: Iterator[bytes], what: str, translate: Translate) -> None:
        super().__init__()
        self._chunks: Iterator[bytes] | None = chunks
        self._view = memoryview(b"")
        self._what = what
        self._translate = translate

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._view:
            self._view.release()  # an empty slice still pins the whole previous chunk
            self._view = memoryview(b"")
            if self._chunks is None:
                return 0
            try:
                with translating(self._what, self._translate):
                    chunk = next(self._chunks, None)
            except ArtifactError:
                self._chunks = None
                raise
            if chunk is None:  # the last chunk was read
                self._chunks = None
                return 0
            self._view = memoryview(chunk)
        n = min(len(buffer), len(self._view))
        buffer[:n] = self._view[:n]
        self._view = self._view[n:]
        return n

    def close(self) -> None:
        self._chunks = None
        self._view = memoryview(b"")
        super().close()


class UploadSource:
    """What ``upload_blob`` reads: not seekable and without ``fileno``, so the SDK reads it in
    blocks and never guesses a length from the underlying file (whose position may not be 0).

    :meth:`read_head` reads the first block ahead; :meth:`read` serves it first, then the rest.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._head = b""
        self.error: BaseException | None = None

    def _read(self, size: int) -> bytes:
        try:
            data = self._stream.read(size)
            while data is None:  # a non-blocking raw stream with nothing ready yet
                data = self._stream.read(size)
        except BaseException as exc:
            self.error = exc
            raise
        return data if isinstance(data, bytes) else bytes(data)

    def read_head(self, size: int) -> bytes:
        """Read until ``size`` bytes or the end of the stream; kept for :meth:`read`."""
        parts, total = [], 0
        while total < size:
            data = self._read(size - total)
            if not data:
                break
            parts.append(data)
            total += len(data)
        self._head = b"".join(parts)
        return self._head

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0 or size >= len(self._head):
                data, self._head = self._head, b""
            else:
                data, self._head = self._head[:size], self._head[size:]
            return data
        return self._read(size)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False
