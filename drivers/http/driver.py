"""The reference HTTP and Artifactory driver (spec 1.3 "HTTP/Artifactory", 2.5, 2.6, 8.1).

One implementation serves both location types, as Argo's one Go type does (v4.1.2,
``workflow/artifacts/http/http.go``). The operation's artifact decides the way: an ``http``
location sends its headers, then basic auth if both values are set; an ``artifactory`` location
sends basic auth always, and nothing else.

* ``load``: GET, the body written to ``path`` only once the answer is 2xx, and removed if the
  copy fails (deviation ``<kind>-failed-load-leaves-file``). 404 is ERR_NOT_FOUND with the bare
  status line (``404 Not Found``); other refusals are ``loading content from <url> failed with
  reason: <status>``.
* ``open_stream``: the same GET's body, decoded as Go's transport decodes it.
* ``save``: PUT of the file, chunked, redirects followed with Go's rules
  (``drivers.http.redirects``): a 307/308 gets the whole file again. A directory is refused
  (deviation ``<kind>-save-directory-refused``).
* ``save_stream``: PUT of the stream, which cannot be sent twice, so a 307 is the answer
  (``saving stream to <url> failed with reason: 307 Temporary Redirect``); with
  ``http.saveStreamViaFile`` the stream goes to a temp file ``http-upload-*`` first and is saved
  as a file, the temp file removed whatever happens.
* ``delete``, ``list_objects``, ``is_directory``: Argo's refusals, word for word.

A 401 or 403 is ERR_UNAUTHORIZED or ERR_FORBIDDEN, its message still Argo's (deviation
``<kind>-refusals-are-typed``). Credentials and the client: ``drivers.http.connection``.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path
from typing import BinaryIO, ClassVar

import requests

from drivers.base import Driver
from drivers.calls import TranslatedStream
from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext
from drivers.core.errors import (
    ArtifactError,
    BadRequest,
    Code,
    Forbidden,
    Internal,
    NotFound,
    Unauthorized,
    classify,
    error_for,
    from_exception,
)
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource
from drivers.http.connection import Connection, Target, target_of
from drivers.http.oauth2 import TokenError
from drivers.http.streams import CHUNK_SIZE, DecodedBody, FileBody, StreamBody
from drivers.refusals import RefusesObjectOperations

#: The temp file of ``saveStreamViaFile`` (Go's ``os.CreateTemp("", "http-upload-*")``).
UPLOAD_PREFIX = "http-upload-"
_REFUSED_HINT = " (the server refused the request: check the credentials of this artifact)"

_TRANSFERS = frozenset(
    {
        Capability.LOAD,
        Capability.SAVE,
        Capability.SAVE_STREAM,
        Capability.OPEN_STREAM,
        Capability.ARCHIVE_TAR,
        Capability.ARCHIVE_ZIP,
        Capability.ARCHIVE_NONE,
        Capability.TLS_CUSTOM_CA,
        Capability.TLS_PLAIN_HTTP,
        Capability.AUTH_REJECTS_BAD_CREDENTIALS,
        Capability.AUTH_BASIC,
        Capability.REDIRECT_RESEND,
        Capability.REFUSES_UNSUPPORTED,
    }
)


class HTTPDriver(RefusesObjectOperations, Driver):
    """Argo's HTTP driver with our deviations; see the module docstring."""

    kind: ClassVar[str] = "http"
    refused_as: ClassVar[str] = "http"  # for Artifactory too: Argo's one Go type
    capabilities: ClassVar[frozenset[Capability]] = _TRANSFERS | frozenset(
        {
            Capability.AUTH_OAUTH2,
            Capability.AUTH_CLIENT_CERT,
            Capability.REQUEST_HEADERS,
            Capability.SAVE_STREAM_VIA_FILE,
        }
    )

    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        super().__init__(artifact, secrets, context)
        if getattr(artifact, self.kind) is None:
            raise BadRequest(f"artifact {artifact.name!r} has no {self.kind} location")
        self.connection = Connection(artifact, secrets, context)

    # ============================================================== the seven methods

    def load(self, artifact: Artifact, path: str) -> None:
        target = target_of(artifact)
        what = f"loading content from {target.url}"

        def attempt() -> None:
            with self._get(target, what) as body:
                _write(body, Path(path))

        self._call("load", f"{what} to {path}", attempt)

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        target = target_of(artifact)
        what = f"loading content from {target.url}"
        return self._call(
            "open_stream",
            what,
            lambda: io.BufferedReader(self._get(target, what), CHUNK_SIZE),  # type: ignore[return-value]
        )

    def save(self, path: str, artifact: Artifact) -> None:
        target = target_of(artifact)
        if os.path.isdir(path):
            raise BadRequest(
                f"{self.kind}: cannot save the directory {path} to {target.url}: a PUT carries "
                "one file; archive it (tar or zip) or save a single file "
                f"(deviation {self.kind}-save-directory-refused)"
            )
        what = f"saving file {path} to {target.url}"
        body = FileBody(path)

        def attempt() -> None:
            with self.connection.send("PUT", target, body) as response:
                self._check(response, what)

        self._call("save", what, attempt)

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        target = target_of(artifact)
        if artifact.http is not None and artifact.http.save_stream_via_file:
            self._save_via_temp_file(stream, artifact, UPLOAD_PREFIX)
            return
        what = f"saving stream to {target.url}"
        body = StreamBody(stream)

        def attempt() -> None:
            try:
                response = self.connection.send("PUT", target, body)
            except Exception:
                if body.error is None:
                    raise
                raise _stream_failed(self.kind, body, what) from body.error
            with response:
                self._check(response, what)

        self._call("save_stream", what, attempt)  # never retried: the stream is consumed

    def close(self) -> None:
        self.connection.close()

    # ================================================================== helpers

    def _get(self, target: Target, what: str) -> TranslatedStream:
        response = self.connection.send("GET", target)
        try:
            self._check(response, what, missing_is_not_found=True)
        except ArtifactError:
            response.close()
            raise
        decode = self.connection.decodes(target)
        return TranslatedStream(DecodedBody(response, decode=decode), what, self._translate)

    def _check(
        self, response: requests.Response, what: str, *, missing_is_not_found: bool = False
    ) -> None:
        """Argo's status handling: 2xx passes; a 404 of a read is NOT_FOUND; else an error."""
        code = response.status_code
        if 200 <= code <= 299:
            return
        status = f"{code} {response.reason or ''}".rstrip()
        if code == 404 and missing_is_not_found:
            raise NotFound(status)
        message = f"{what} failed with reason: {status}"
        if code == 401:
            raise Unauthorized(message + _REFUSED_HINT)
        if code == 403:
            raise Forbidden(message + _REFUSED_HINT)
        _, transient = classify(
            self.kind, status=code, code=None, message=message, env=self.context.settings
        )
        raise Internal(message, transient=transient)

    def _translate(self, exc: BaseException, what: str) -> ArtifactError:
        if isinstance(exc, TokenError):
            return self._token_error(exc, what)
        return self._naming_trust(super()._translate(exc, what), exc, what)

    def _token_error(self, exc: TokenError, what: str) -> ArtifactError:
        """No OAuth2 token: the refusal of the client is UNAUTHORIZED (deviation
        ``http-refusals-are-typed``); the message never carries the token URL's text."""
        code, transient = (Code.UNAUTHORIZED if exc.refused else Code.INTERNAL), False
        if exc.transport is not None:
            found = from_exception(self.kind, exc.transport, what, env=self.context.settings)
            code, transient = found.code, found.transient
        return error_for(code, f"{self.kind}: {what}: {exc}", transient=transient)


class ArtifactoryDriver(HTTPDriver):
    """Argo's Artifactory location: the HTTP driver with basic auth always, and no headers."""

    kind: ClassVar[str] = "artifactory"
    # A repository too (repoURL + keyFormat), which a plain HTTP location never is.
    capabilities: ClassVar[frozenset[Capability]] = _TRANSFERS | {Capability.KEY_FORMAT}


def _write(body: BinaryIO | io.RawIOBase, target: Path) -> None:
    """The body at ``target``; nothing is left there if the copy fails."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(target, "wb") as file:
            shutil.copyfileobj(body, file, CHUNK_SIZE)
    except BaseException:
        with contextlib.suppress(OSError):
            target.unlink()
        raise


def _stream_failed(kind: str, body: StreamBody, what: str) -> ArtifactError:
    """The input stream's own failure, not the broken connection urllib3 makes of it."""
    cause = body.error
    code = cause.code if isinstance(cause, ArtifactError) else Code.INTERNAL
    return error_for(
        code,
        f"{kind}: reading the input stream failed after {body.sent} bytes while {what}; the "
        f"server may keep a partial body (cause: {cause!r})",
        cause=cause,
    )
