"""Request bodies and the response stream of the HTTP driver.

A body is read in :data:`CHUNK_SIZE` pieces, so a large file or stream never sits in memory, and
goes out chunked as Go sends an ``*os.File`` or a reader; an empty one goes as
``Content-Length: 0``, as Go's probe of the body decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

import requests

CHUNK_SIZE = 1024 * 1024


class FileBody:
    """A local file, opened afresh for each send (Go's ``GetBody``): a 307 re-sends it whole."""

    resendable = True

    def __init__(self, path: str):
        self.path = path

    def open(self) -> bytes | Iterator[bytes]:
        handle = open(self.path, "rb")  # noqa: SIM115 - closed by _pieces
        return _pieces(handle.read, handle.close)


class StreamBody:
    """A one-way reader, sent once. Its own failure is kept in ``error``: urllib3 would report
    it as a broken connection."""

    resendable = False

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._opened = False
        self.sent = 0
        self.error: BaseException | None = None

    def open(self) -> bytes | Iterator[bytes]:
        if self._opened:
            raise RuntimeError("a stream body is sent once; it cannot be sent again")
        self._opened = True
        return _pieces(self._read)

    def _read(self, size: int) -> bytes:
        try:
            data = self._stream.read(size)
        except BaseException as exc:
            self.error = exc
            raise
        self.sent += len(data)
        return data


def _pieces(read: Callable[[int], bytes], close: Callable[[], None] = lambda: None):
    """``b""`` for an empty body, else a generator of its chunks (closing it at the end)."""
    try:
        head = read(CHUNK_SIZE)
    except BaseException:
        close()
        raise
    if not head:
        close()
        return b""

    def generate() -> Iterator[bytes]:
        try:
            chunk = head
            while chunk:
                yield chunk
                chunk = read(CHUNK_SIZE)
        finally:
            close()

    return generate()


class DecodedBody:
    """A response's body, decoded as Go's transport decodes it (gzip only when Go asked for
    it): what a ``drivers.calls.TranslatedStream`` reads."""

    def __init__(self, response: requests.Response, *, decode: bool):
        self._response = response
        self._decode = decode

    def read(self, size: int | None = None) -> bytes:
        return self._response.raw.read(size, decode_content=self._decode)

    def close(self) -> None:
        self._response.close()
