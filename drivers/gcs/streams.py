"""The streams of the GCS driver, both moving :data:`CHUNK_SIZE` bytes per request.

``open_stream`` returns an :class:`ObjectStream` over the SDK's ranged reader (range reads
retried by :data:`RANGE_RETRY` alone); ``save_stream`` hands the SDK's resumable upload a
:class:`FullReads` over the caller's stream.
"""

from __future__ import annotations

import http.client
import io
from typing import Any, BinaryIO

import requests
import urllib3
from google.api_core import retry as gretry

from drivers.calls import Translate, translating
from drivers.core.errors import is_cert_failure

#: Bytes per request when streaming either way (a multiple of 256 KiB, as GCS requires for
#: resumable chunks). Files up to this size are uploaded in one multipart request.
CHUNK_SIZE = 8 * 1024 * 1024


class ObjectStream(io.BufferedIOBase):
    """A file artifact's bytes, read through the SDK's ranged reader; errors are ArtifactErrors."""

    def __init__(self, reader: io.BufferedIOBase, what: str, translate: Translate):
        super().__init__()
        self._reader = reader
        self._what = what
        self._translate = translate

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        with translating(self._what, self._translate):
            return self._reader.read(-1 if size is None else size)

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()


class FullReads:
    """What the SDK's resumable upload needs of a stream, for any stream.

    ``tell()`` counts bytes handed out (the SDK requires it and a pipe has none); ``read(n)``
    returns exactly ``n`` bytes until the end (a short read means "last chunk" to the SDK).
    The stream's own exception is kept in ``error`` so it is reported as the stream's fault.
    """

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._position = 0
        self.error: BaseException | None = None

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET and offset == self._position:
            return self._position
        raise io.UnsupportedOperation("the input stream can only be read forward")

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        wanted = size
        try:
            while wanted != 0:
                chunk = self._stream.read(wanted if wanted > 0 else CHUNK_SIZE)
                if not chunk:
                    break
                parts.append(chunk)
                if wanted > 0:
                    wanted -= len(chunk)
        except Exception as exc:
            self.error = exc
            raise
        data = b"".join(parts)
        self._position += len(data)
        return data


def _is_dropped_connection(exc: BaseException) -> bool:
    """A pooled connection the server had already closed (a reset or an aborted response)."""
    dropped = (
        ConnectionResetError,
        http.client.RemoteDisconnected,
        urllib3.exceptions.ProtocolError,
        requests.exceptions.ConnectionError,
    )
    return isinstance(exc, dropped) and not is_cert_failure(exc)


#: Range reads of an open stream are pinned to one object generation, so re-reading a range is
#: safe: retry only a dropped keep-alive connection, briefly (the open itself follows Argo's
#: GCS backoff through the driver's ``_call``).
RANGE_RETRY = gretry.Retry(
    predicate=_is_dropped_connection, initial=0.1, maximum=1.0, multiplier=2.0, timeout=15.0
)
