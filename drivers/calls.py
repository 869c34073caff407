"""How every reference driver calls its SDK: under Argo's retry policy, failures translated.

An operation runs as :func:`call`: the policy Argo applies to that driver and operation
(``drivers.core.retry.policy_for``, with the context's settings and its sleep) around the SDK
calls, and every exception that is not already an ``ArtifactError`` turned into one by the
driver's ``translate``, which knows its SDK's special cases and otherwise uses
``drivers.core.errors.from_exception``. Whether a failure is retried is decided by that
translation alone (its ``transient`` flag), so the retry policy and the error codes agree.

Reads from a stream an operation returned happen after the operation, outside any policy: they
are only translated (:func:`translating`, :class:`TranslatedStream`).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from drivers.core.context import DriverContext
from drivers.core.errors import ArtifactError
from drivers.core.retry import policy_for, retry_call

T = TypeVar("T")

#: ``translate(exc, what)``: the ``ArtifactError`` for ``exc``, raised while ``what``.
Translate = Callable[[BaseException, str], ArtifactError]


@contextlib.contextmanager
def translating(what: str, translate: Translate) -> Iterator[None]:
    """Raise whatever the block raises as ``translate(exc, what)``; ArtifactErrors pass as they are.

    The translated error is raised from its own ``cause``: a translation that dropped the
    original exception (its text held a secret) leaves no trace of it in the traceback.
    """
    try:
        yield
    except ArtifactError:
        raise
    except Exception as exc:
        error = translate(exc, what)
        raise error from error.__cause__


def call(
    driver: str,
    operation: str,
    what: str,
    fn: Callable[[], T],
    *,
    context: DriverContext,
    translate: Translate,
    on_transient: Callable[[], None] | None = None,
) -> T:
    """``fn()`` as ``driver``'s ``operation``: retried per Argo's policy, failures translated.

    ``what`` describes the call for error messages ("reading key 'k' in bucket 'b'"). Each
    transient failure first runs ``on_transient`` (S3 drops its clients: Argo builds a new client,
    with fresh credentials, per attempt), then is retried while the policy has steps left; see
    ``drivers.core.retry.retry_call`` for what is raised in the end.
    """

    def attempt() -> T:
        try:
            with translating(what, translate):
                return fn()
        except ArtifactError as error:
            if error.transient and on_transient is not None:
                on_transient()
            raise

    policy = policy_for(driver, operation, context.settings)
    return retry_call(attempt, policy, sleep=context.sleep)


class TranslatedStream(io.RawIOBase):
    """A response body (anything with ``read(n)`` and ``close()``) as a readable binary
    stream whose read errors are ArtifactErrors, like those of every operation."""

    def __init__(self, body: Any, what: str, translate: Translate):
        super().__init__()
        self._body = body
        self._what = what
        self._translate = translate

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        with translating(self._what, self._translate):
            data = self._body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        with translating(self._what, self._translate):
            return self._body.read(None if size is None or size < 0 else size)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
