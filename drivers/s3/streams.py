"""The streams of the S3 driver: an upload source s3transfer keeps multipart, and a GET body.

``save_stream`` hands boto3 a :class:`FullReads` over the caller's stream; ``open_stream``
returns a ``drivers.calls.TranslatedStream`` over the response body, whose read errors are
``ArtifactError``s like those of every operation.
"""

from __future__ import annotations

from typing import BinaryIO


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
