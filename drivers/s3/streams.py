"""The streams of the S3 driver: an upload source s3transfer keeps multipart, and a GET body.

``save_stream`` hands boto3 a :class:`FullReads` over the caller's stream; ``open_stream``
returns an :class:`ObjectStream` over the response body, whose read errors are
``ArtifactError``s like those of every operation.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from drivers.calls import Translate, translating


class FullReads:
    """``read(n)`` returns n bytes unless the stream has ended, and the stream is never sought.

    s3transfer takes one short read for the end of a non-seekable stream when choosing between
    a single PUT and multipart, and would then read the rest in one call; sockets and pipes
    return short reads, so this loop keeps the upload multipart and its memory bounded.
    """

    def __init__(self, stream: BinaryIO):
        self._stream = stream

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self._stream.read()
        chunks: list[bytes] = []
        remaining = size
        while remaining > 0:
            data = self._stream.read(remaining)
            if not data:
                break
            chunks.append(data)
            remaining -= len(data)
        return b"".join(chunks)


class ObjectStream(io.RawIOBase):
    """A GET response body as a readable binary stream; read errors become ArtifactErrors."""

    def __init__(self, body: Any, what: str, translate: Translate):
        super().__init__()
        self._body = body
        self._what = what
        self._translate = translate

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with translating(self._what, self._translate):
            data = self._body.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        return size

    def read(self, size: int = -1) -> bytes:
        with translating(self._what, self._translate):
            return self._body.read(None if size is None or size < 0 else size)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
