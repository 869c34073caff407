"""The driver contract: seven methods that move bytes, plus `close()` and `capabilities`.

Drivers never archive, unarchive or derive keys (that is `drivers.core.executor`); they take an
`Artifact` whose location is complete and move bytes between it and a local path or stream.
Every failure is an `ArtifactError` with Argo's code; see spec 1.1 for each method's contract.

Each reference driver is a package `drivers.<type>` of the same shape: `driver.py` holds the
driver class (the seven methods, then `close`, in this order), `connection.py` how it reaches
the storage (client construction, credentials, trust store), `streams.py` the stream adapters
its SDK needs, plus what one driver alone needs (S3: `transfer.py`, `ssec.py`). Every operation
goes through `Driver._call` (`drivers.calls`), which applies Argo's retry policy and the
driver's `_translate`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, ClassVar, TypeVar

from drivers import calls
from drivers.core.capabilities import OBJECT_STORE_BASE, Capability
from drivers.core.context import DriverContext
from drivers.core.errors import (
    ArtifactError,
    Internal,
    causes,
    error_for,
    from_exception,
    is_cert_failure,
)
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource

T = TypeVar("T")
_BUFFER = 1 << 20  # the copy size of a stream buffered to a temp file

#: What every reference driver declares: the object-store operations and archives, TLS with the
#: CA it is given and plain HTTP, the SDK's own credential chain, and refusing bad credentials.
#: Each driver adds what its protocol allows beyond that.
REFERENCE_BASE: frozenset[Capability] = OBJECT_STORE_BASE | frozenset(
    {
        Capability.TLS_CUSTOM_CA,
        Capability.TLS_PLAIN_HTTP,
        Capability.AUTH_SDK_CHAIN,
        Capability.AUTH_REJECTS_BAD_CREDENTIALS,
    }
)


class Driver(ABC):
    """Base of the reference drivers. Subclasses set `kind` and `capabilities`."""

    kind: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        self.secrets = secrets
        self.context = context

    @abstractmethod
    def load(self, artifact: Artifact, path: str) -> None:
        """Materialise the artifact at `path`, as a file or a directory tree."""

    @abstractmethod
    def open_stream(self, artifact: Artifact) -> BinaryIO:
        """A readable binary stream of a file artifact (NOT_IMPLEMENTED for a directory)."""

    @abstractmethod
    def save(self, path: str, artifact: Artifact) -> None:
        """Upload a local file, or each regular file of a directory, to the artifact's key."""

    @abstractmethod
    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        """Upload from a stream; never retried with the same stream."""

    @abstractmethod
    def delete(self, artifact: Artifact) -> None:
        """Delete the artifact (file or directory); a missing key is a success."""

    @abstractmethod
    def list_objects(self, artifact: Artifact) -> list[str]:
        """Full keys of the objects inside the artifact."""

    @abstractmethod
    def is_directory(self, artifact: Artifact) -> bool:
        """Whether the key acts as a directory (a prefix with objects under it)."""

    def close(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Release clients and private files. Safe to call twice."""

    def __enter__(self) -> Driver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- calling the SDK

    def _call(self, operation: str, what: str, fn: Callable[[], T]) -> T:
        """``fn()`` as this driver's ``operation``: Argo's retry policy, failures translated."""
        return calls.call(
            self.kind,
            operation,
            what,
            fn,
            context=self.context,
            translate=self._translate,
            on_transient=self._on_transient,
        )

    def _translate(self, exc: BaseException, what: str) -> ArtifactError:
        """The ``ArtifactError`` for ``exc``, raised while ``what``; drivers add SDK cases."""
        return from_exception(self.kind, exc, what, env=self.context.settings)

    def _naming_trust(self, error: ArtifactError, exc: BaseException, what: str) -> ArtifactError:
        """`error`, or for a certificate failure one that names the trust store in use."""
        if not is_cert_failure(exc):
            return error
        trusted = self.context.ca_bundle or "the default trust store"
        return error_for(
            error.code,
            f"{self.kind}: TLS certificate verification failed while {what}: the server's "
            f"certificate is not signed by a CA in {trusted}; give the driver context the CA "
            f"bundle that signed it (cause: {list(causes(exc))[-1]})",
            transient=False,
            cause=exc,
        )

    def _save_via_temp_file(self, stream: BinaryIO, artifact: Artifact, prefix: str) -> None:
        """Go's ``common.SaveStreamViaTempFile``: buffer `stream` in a private temp file named
        `prefix`*, ``save`` it, always remove it (drivers without a native stream upload)."""
        directory = Path(self.context.temp_dir)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=prefix, dir=directory)
        except OSError as exc:
            raise Internal(f"failed to create temp file: {exc}", cause=exc) from exc
        try:
            try:
                with os.fdopen(fd, "wb") as file:
                    shutil.copyfileobj(stream, file, _BUFFER)
            except ArtifactError as exc:
                message = f"failed to buffer stream to temp file: {exc.message}"
                raise error_for(exc.code, message, cause=exc) from exc
            except Exception as exc:
                message = f"failed to buffer stream to temp file: {exc}"
                raise Internal(message, cause=exc) from exc
            self.save(name, artifact)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    def _on_transient(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Runs after each transient failure of ``_call``, before any retry."""
