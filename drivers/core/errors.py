"""One error hierarchy carrying Argo's error codes (spec 1.5) and a transient flag (spec 6.5).

Drivers never raise SDK exceptions to their callers: they translate them with
:func:`from_exception`, which classifies the whole cause chain through one data table
(:data:`RULES`) so that the retry policy (``drivers.core.retry``) and the conformance suite agree on
what is fatal and what may succeed on a second attempt.
"""

from __future__ import annotations

import enum
import functools
import importlib
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


class Code(enum.StrEnum):
    """Argo's error codes (``errors/errors.go``)."""

    NOT_FOUND = "ERR_NOT_FOUND"
    BAD_REQUEST = "ERR_BAD_REQUEST"
    UNAUTHORIZED = "ERR_UNAUTHORIZED"
    FORBIDDEN = "ERR_FORBIDDEN"
    NOT_IMPLEMENTED = "ERR_NOT_IMPLEMENTED"
    INTERNAL = "ERR_INTERNAL"

    @property
    def http_status(self) -> int:
        """The HTTP status argo-server answers with for this code (anything else is 500)."""
        return _HTTP_STATUS.get(self, 500)


_HTTP_STATUS: dict[Code, int] = {
    Code.NOT_FOUND: 404,
    Code.BAD_REQUEST: 400,
    Code.UNAUTHORIZED: 401,
    Code.FORBIDDEN: 403,
    Code.NOT_IMPLEMENTED: 501,
}


#: A key, path or value longer than this (a stretch without spaces, or a quoted repr) is cut
#: in error messages to its first and last characters and its length.
MAX_VALUE_CHARS = 160
KEEP_HEAD, KEEP_TAIL = 100, 20
#: No message, however many values it names, is longer than this.
MAX_MESSAGE_CHARS = 4000  # room for the ten problems a model error lists

_LONG_VALUES = re.compile(
    r"""(?<!\w)'[^'\\]*(?:\\.[^'\\]*)*'(?!\w)"""  # a quoted repr such as 'a key' ...
    r"""|(?<!\w)"[^"\\]*(?:\\.[^"\\]*)*"(?!\w)"""  # ... or "it's a key"
    # An unquoted stretch without spaces (a key, a path, a URL), matched from its start only,
    # without the punctuation that follows it in the sentence.
    rf"""|(?<![^\s'"])[^\s'"]{{{MAX_VALUE_CHARS},}}[^\s'":;,]"""
)


def _cut(text: str, head: int, tail: int) -> str:
    return f"{text[:head]}...{text[-tail:]} ({len(text)} characters)"


def bounded(message: str) -> str:
    """``message`` with each long value in it cut, so that it stays readable in a log line.

    A 10 MB key must not make a 20 MB error; the start and end of a value, and its length,
    are usually enough to recognise it. Applying it twice changes nothing.
    """
    if len(message) <= MAX_VALUE_CHARS:
        return message
    message = _LONG_VALUES.sub(
        lambda m: m[0] if len(m[0]) <= MAX_VALUE_CHARS else _cut(m[0], KEEP_HEAD, KEEP_TAIL),
        message,
    )
    if len(message) > MAX_MESSAGE_CHARS:  # many values: keep the start and the end
        head, tail = message[: MAX_MESSAGE_CHARS - 300], message[-250:]
        message = f"{head} ... ({len(message)} characters in all) ... {tail}"
    return message


class ArtifactError(Exception):
    """Base of every error a driver raises; ``code`` is Argo's, ``transient`` drives retries.

    The message is :func:`bounded` here, once for every driver and every call site.
    """

    code: Code = Code.INTERNAL

    def __init__(
        self, message: str, *, transient: bool = False, cause: BaseException | None = None
    ) -> None:
        message = bounded(message)
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.cause = cause
        if cause is not None:
            self.__cause__ = cause

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, transient={self.transient})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments are not restored by Exception's default pickling (xdist workers
        # ship exceptions between processes); the cause is dropped as it may not pickle.
        return (_rebuild, (type(self), self.message, self.transient))


def _rebuild(cls: type[ArtifactError], message: str, transient: bool) -> ArtifactError:
    return cls(message, transient=transient)


class NotFound(ArtifactError):
    """The artifact, key, bucket or container does not exist (lets ``optional`` inputs skip)."""

    code = Code.NOT_FOUND


class BadRequest(ArtifactError):
    """The configuration or request is invalid; retrying cannot help."""

    code = Code.BAD_REQUEST


class Unauthorized(ArtifactError):
    """The storage did not accept who we are (HTTP 401)."""

    code = Code.UNAUTHORIZED


class Forbidden(ArtifactError):
    """The storage knows who we are and refuses the operation (HTTP 403, bad signature, ...)."""

    code = Code.FORBIDDEN


class Unimplemented(ArtifactError):
    """The driver does not support the operation (e.g. ``open_stream`` of a directory)."""

    code = Code.NOT_IMPLEMENTED


class Internal(ArtifactError):
    """Anything else; often transient."""

    code = Code.INTERNAL


_CLASS_FOR_CODE: dict[Code, type[ArtifactError]] = {
    Code.NOT_FOUND: NotFound,
    Code.BAD_REQUEST: BadRequest,
    Code.UNAUTHORIZED: Unauthorized,
    Code.FORBIDDEN: Forbidden,
    Code.NOT_IMPLEMENTED: Unimplemented,
    Code.INTERNAL: Internal,
}


#: Argo's ListObjects error in the drivers without a listing (HTTP, Artifactory, Git, HDFS, Raw),
#: word for word; a plain error there, so ERR_INTERNAL.
LIST_OBJECTS_NOT_SUPPORTED = (
    "ListObjects is currently not supported for this artifact type, but it will be in a future "
    "version"
)


def error_for(code: Code | str, message: str, **kw: Any) -> ArtifactError:
    """Build the subclass matching ``code``; unknown codes give :class:`Internal` (Argo's 500)."""
    try:
        cls = _CLASS_FOR_CODE[Code(code)]
    except ValueError:
        cls = Internal
    return cls(message, **kw)


# --------------------------------------------------------------------------------------------
# Classification table
# --------------------------------------------------------------------------------------------

ALL_DRIVERS: frozenset[str] = frozenset()  # an empty ``drivers`` set means "every driver"


@dataclass(frozen=True)
class Rule:
    """One row of the classification table.

    A rule matches when the driver is in scope and any of its SDK codes, HTTP statuses or
    (case-insensitive) message fragments matches. ``why`` cites the spec so a reader of a failing
    classification test knows which Argo behaviour the row reproduces.
    """

    code: Code
    transient: bool
    why: str
    sdk_codes: frozenset[str] = frozenset()
    statuses: frozenset[int] = frozenset()
    messages: tuple[str, ...] = ()
    drivers: frozenset[str] = ALL_DRIVERS

    def applies_to(self, driver: str) -> bool:
        return not self.drivers or driver in self.drivers


_5XX = frozenset(range(500, 600))

S3_TRANSIENT_CODES = frozenset(
    {
        "RequestError",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "InternalError",
        "SlowDown",
        "ServiceUnavailable",
    }
)

OSS_TRANSIENT_CODES = frozenset(
    {
        "RequestTimeout",
        "QuotaExceeded.Refresh",
        "Default",
        "ServiceUnavailable",
        "Throttling",
        "RequestTimeTooSkewed",
        "SocketException",
        "SocketTimeout",
        "ServiceBusy",
        "DomainNetWorkVisitedException",
        "ConnectionTimeout",
        "CachedTimeTooLarge",
        "InternalError",
    }
)

GENERIC_TRANSIENT_MESSAGES: tuple[str, ...] = (
    "connection reset by peer",
    "connection refused",
    "i/o timeout",
    "tls handshake timeout",
    "connection timed out",
    "http2: client connection lost",
    "goaway",
    "connection closed by foreign host",
    "invalid connection",
    "unexpected error when reading response body",
    "stream error when reading response body",
    "request did not complete within requested timeout",
    "unexpected eof",
    # Python spellings of the same network conditions.
    "connection aborted",
    "remote end closed connection",
    "read timed out",
    "connect timeout",
    "temporary failure in name resolution",
)

GCS_TRANSIENT_MESSAGES: tuple[str, ...] = (
    "connection refused",
    "connection reset",
    "received 504",
    "received 500",
    "tls handshake timeout",
)

#: Evaluated in order; the first rule whose SDK code matches decides the code, then the first
#: status rule, then the first message rule. See :func:`classify` for how transience combines.
RULES: tuple[Rule, ...] = (
    Rule(Code.UNAUTHORIZED, False, "spec 1.5: 401", statuses=frozenset({401})),
    Rule(
        Code.FORBIDDEN,
        False,
        "spec 1.5: 403; S3 AccessDenied is fatal (6.5); auth failures of S3/Azure",
        sdk_codes=frozenset(
            {
                "SignatureDoesNotMatch",
                "InvalidAccessKeyId",
                "AccessDenied",
                "AuthenticationFailed",
                "AuthorizationFailure",
            }
        ),
        statuses=frozenset({403}),
    ),
    Rule(
        Code.NOT_FOUND,
        False,
        "spec 1.5 and 11.7: missing objects are ERR_NOT_FOUND; NoSuchBucket/NoSuchKey fatal (6.5)",
        sdk_codes=frozenset({"NoSuchKey", "NoSuchBucket", "BlobNotFound", "ContainerNotFound"}),
        statuses=frozenset({404}),
    ),
    Rule(
        Code.INTERNAL,
        True,
        "spec 6.5 S3: transient minio codes",
        sdk_codes=S3_TRANSIENT_CODES,
        drivers=frozenset({"s3"}),
    ),
    Rule(
        Code.INTERNAL,
        True,
        "spec 6.5 OSS: transient service error codes",
        sdk_codes=OSS_TRANSIENT_CODES,
        drivers=frozenset({"oss"}),
    ),
    Rule(Code.INTERNAL, True, "spec 6.5: 5xx (S3 bare proxy 5xx, GCS 5xx)", statuses=_5XX),
    Rule(
        Code.INTERNAL,
        True,
        "spec 6.5: GCS 429; Kubernetes too-many-requests",
        statuses=frozenset({429}),
    ),
    Rule(
        Code.INTERNAL,
        True,
        "spec 6.5 GCS: message fragments",
        messages=GCS_TRANSIENT_MESSAGES,
        drivers=frozenset({"gcs"}),
    ),
    Rule(
        Code.INTERNAL,
        True,
        "spec 6.5 generic rule: network error messages",
        messages=GENERIC_TRANSIENT_MESSAGES,
    ),
)

#: Marks of a TLS certificate-verification failure: retrying cannot fix a trust problem.
CERT_FAILURE_MARKS: tuple[str, ...] = ("certificate_verify_failed", "certificate verify failed")

TRANSIENT_PATTERN_ENV = "TRANSIENT_ERROR_PATTERN"


def is_cert_failure_message(message: str) -> bool:
    """Whether ``message`` carries OpenSSL's words for a failed certificate verification.

    SDKs re-raise the ``ssl`` error as their own exception, often keeping only its text.
    """
    lowered = message.lower()
    return any(mark in lowered for mark in CERT_FAILURE_MARKS)


def _matches_env_pattern(message: str, env: Mapping[str, str]) -> bool:
    pattern = env.get(TRANSIENT_PATTERN_ENV, "")
    if not pattern:
        return False
    try:
        return re.search(pattern, message) is not None
    except re.error as exc:
        # Go's regexp.MatchString returns an error that isTransientErr treats as "no match".
        log.warning("ignoring invalid %s=%r: %s", TRANSIENT_PATTERN_ENV, pattern, exc)
        return False


def classify(
    driver: str,
    *,
    status: int | None,
    code: str | None,
    message: str,
    env: Mapping[str, str] | None = None,
) -> tuple[Code, bool]:
    """Classify one error into Argo's code and whether it is transient.

    The SDK code wins over the HTTP status, which wins over the message. 4xx-class results
    (NOT_FOUND, FORBIDDEN, ...) are never made transient by message fragments, but the user's
    ``TRANSIENT_ERROR_PATTERN`` (read from ``env``, default ``os.environ`` at call time) can
    make any error transient, as in Argo. A certificate-verification failure is never transient.
    """
    env = os.environ if env is None else env
    lowered = message.lower()
    rules = [r for r in RULES if r.applies_to(driver)]
    by_code = next((r for r in rules if code is not None and code in r.sdk_codes), None)
    by_status = next((r for r in rules if status is not None and status in r.statuses), None)
    by_message = [r for r in rules if any(m in lowered for m in r.messages)]

    decided = by_code or by_status or (by_message[0] if by_message else None)
    result = decided.code if decided else Code.INTERNAL
    transient = bool(decided and decided.transient)
    if result is Code.INTERNAL and any(r.transient for r in by_message):
        transient = True
    if _matches_env_pattern(message, env):
        transient = True
    if is_cert_failure_message(message):
        transient = False
    return result, transient


# --------------------------------------------------------------------------------------------
# Translating exceptions
# --------------------------------------------------------------------------------------------


@functools.cache
def _optional_type(module: str, name: str) -> type | None:
    """Import an SDK exception type if the SDK is installed; the module works without any."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _isinstance(exc: BaseException, module: str, name: str) -> bool:
    cls = _optional_type(module, name)
    return cls is not None and isinstance(exc, cls)


#: Exception types that are network failures by nature (Go's net.OpError, DNSError,
#: io.ErrUnexpectedEOF). Matched by import so SDKs stay optional.
TRANSIENT_TYPES: tuple[tuple[str, str], ...] = (
    ("builtins", "ConnectionError"),
    ("builtins", "TimeoutError"),
    ("socket", "gaierror"),
    ("http.client", "IncompleteRead"),
    ("ssl", "SSLEOFError"),
    ("ssl", "SSLZeroReturnError"),
    ("requests.exceptions", "ConnectionError"),
    ("requests.exceptions", "Timeout"),
    ("requests.exceptions", "ChunkedEncodingError"),
    ("urllib3.exceptions", "ProtocolError"),
    ("urllib3.exceptions", "NewConnectionError"),
    ("urllib3.exceptions", "TimeoutError"),
    ("botocore.exceptions", "EndpointConnectionError"),
    ("botocore.exceptions", "ConnectionClosedError"),
    ("botocore.exceptions", "ReadTimeoutError"),
    ("botocore.exceptions", "ConnectTimeoutError"),
    ("azure.core.exceptions", "ServiceRequestError"),
    ("azure.core.exceptions", "ServiceResponseError"),
    ("google.auth.exceptions", "TransportError"),
)


@dataclass(frozen=True)
class _Facts:
    """What one exception of the chain tells us."""

    status: int | None
    code: str | None
    message: str


def _facts(exc: BaseException) -> _Facts:
    """Extract HTTP status, SDK error code and text from one exception, whatever its SDK."""
    message = str(exc) or type(exc).__name__
    if _isinstance(exc, "botocore.exceptions", "ClientError"):
        response: Mapping[str, Any] = getattr(exc, "response", {}) or {}
        error = response.get("Error", {}) or {}
        meta = response.get("ResponseMetadata", {}) or {}
        status = meta.get("HTTPStatusCode")
        return _Facts(_as_int(status), error.get("Code") or None, message)
    if _isinstance(exc, "azure.core.exceptions", "HttpResponseError"):
        error_code = getattr(exc, "error_code", None)
        # azure-storage-blob gives a StorageErrorCode enum: keep its wire value for messages.
        error_code = getattr(error_code, "value", error_code)
        return _Facts(
            _as_int(getattr(exc, "status_code", None)),
            error_code or None,
            message,
        )
    if _isinstance(exc, "google.api_core.exceptions", "GoogleAPICallError"):
        return _Facts(_as_int(getattr(exc, "code", None)), None, message)
    if _isinstance(exc, "requests.exceptions", "HTTPError"):
        response = getattr(exc, "response", None)
        return _Facts(_as_int(getattr(response, "status_code", None)), None, message)
    # Duck-typed fallbacks for other SDKs and test doubles.
    status = _as_int(getattr(exc, "status_code", None) or getattr(exc, "status", None))
    code = getattr(exc, "error_code", None) or getattr(exc, "code", None)
    if isinstance(code, int) and status is None:
        status, code = code, None
    return _Facts(status, code if isinstance(code, str) and code else None, message)


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def exception_chain(exc: BaseException, *, wrapped: bool = False) -> Iterator[BaseException]:
    """The exception, then its ``__cause__``/``__context__`` ancestors, each once.

    ``wrapped`` also follows azure-core's ``inner_exception``, which its transport sets instead
    of raising from the exception it wraps.
    """
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        links = [current.__cause__, current.__context__]
        if wrapped:
            links.append(getattr(current, "inner_exception", None))
        pending.extend(link for link in links if isinstance(link, BaseException))


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then what it was raised from (``__cause__``, else ``__context__``), each once.

    The last one is the root cause: what an error message quotes when the layers above it only
    repeat it.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_cert_failure(exc: BaseException) -> bool:
    """Whether any link of ``exc``'s chain is a TLS certificate-verification failure.

    The one check for it: :func:`from_exception`, the drivers (their messages, and the SDK retries
    they configure) and ``drivers.probe`` all use it. A link is such a failure by type
    (``ssl.SSLCertVerificationError``) or by OpenSSL's words in its message
    (:func:`is_cert_failure_message`). Retrying cannot fix a trust problem.
    """
    import ssl

    return any(
        isinstance(link, ssl.SSLCertVerificationError) or is_cert_failure_message(str(link))
        for link in exception_chain(exc, wrapped=True)
    )


@dataclass(frozen=True)
class _Advice:
    phrase: str
    hint: str


_ADVICE_BY_SDK_CODE: dict[str, _Advice] = {
    "NoSuchBucket": _Advice(
        "bucket does not exist",
        "create the bucket, set createBucketIfNotPresent, or fix the bucket name",
    ),
    "ContainerNotFound": _Advice(
        "container does not exist", "create the container or fix the container name"
    ),
    "SignatureDoesNotMatch": _Advice(
        "request signature rejected",
        "check the secret key (look for stray whitespace or a newline in the secret) "
        "and the region",
    ),
    "InvalidAccessKeyId": _Advice(
        "access key not recognised", "check the access key secret and the endpoint"
    ),
    "AuthenticationFailed": _Advice(
        "authentication failed", "check the account key or SAS token secret"
    ),
}

_ADVICE_BY_CODE: dict[Code, _Advice] = {
    Code.NOT_FOUND: _Advice(
        "not found",
        "check that the object exists at that key, or mark the artifact optional",
    ),
    Code.UNAUTHORIZED: _Advice(
        "authentication required", "check the credentials configured for this artifact"
    ),
    Code.FORBIDDEN: _Advice("access denied", "check the access key and the bucket policy"),
    Code.BAD_REQUEST: _Advice("invalid request", "fix the artifact configuration"),
    Code.NOT_IMPLEMENTED: _Advice("not implemented", "use an operation this driver supports"),
}

_CERT_ADVICE = _Advice(
    "TLS certificate verification failed",
    "set caSecret to the CA bundle that signed the server certificate, "
    "or fix the server certificate",
)
_TRANSIENT_ADVICE = _Advice(
    "transient failure", "this may succeed on retry; check the storage service is reachable"
)
_INTERNAL_ADVICE = _Advice("failed", "")  # no advice: the message ends with the cause itself

#: S3, GCS and Azure refuse keys longer than this (bytes; Azure: characters).
MAX_KEY_BYTES = 1024
#: ``what`` names the key: a description longer than this holds a key (or name) far beyond
#: what any storage accepts, so no retry can help, whatever the failure looked like (MinIO
#: just closes the connection on a 10 MB key, which would otherwise read as transient).
MAX_WHAT_BYTES = 8 * MAX_KEY_BYTES
_OVERSIZED_ADVICE = _Advice(
    "request too large",
    f"a key longer than {MAX_KEY_BYTES} bytes is refused by S3, GCS and Azure; shorten it",
)


def from_exception(
    driver: str,
    exc: BaseException,
    what: str,
    *,
    env: Mapping[str, str] | None = None,
) -> ArtifactError:
    """Translate any exception raised while ``what`` (e.g. "reading key 'k' in bucket 'b'").

    Walks ``__cause__``/``__context__``: the first link with an SDK code or HTTP status decides
    the code; the error is transient if any link is (by table, by type or by the env pattern),
    and never transient if any link is a certificate-verification failure or ``what`` is
    longer than :data:`MAX_WHAT_BYTES` (it names a key no storage accepts). An
    :class:`ArtifactError` is returned unchanged.
    """
    if isinstance(exc, ArtifactError):
        return exc
    links = list(exception_chain(exc))
    facts = [_facts(link) for link in links]
    decisive = next((f for f in facts if f.code or f.status is not None), facts[0])
    code, transient = classify(
        driver,
        status=decisive.status,
        code=decisive.code,
        message=decisive.message,
        env=env,
    )
    for fact in facts:
        if fact is decisive:
            continue
        _, link_transient = classify(
            driver, status=fact.status, code=fact.code, message=fact.message, env=env
        )
        transient = transient or link_transient
    if code is Code.INTERNAL and any(
        _isinstance(link, module, name) for link in links for module, name in TRANSIENT_TYPES
    ):
        transient = True
    if code is not Code.INTERNAL:
        # Only the user's pattern may retry a 4xx-class error (spec 6.5 generic rule).
        transient = any(_matches_env_pattern(f.message, env or os.environ) for f in facts)
    cert_failure = is_cert_failure(exc)
    oversized = len(what.encode(errors="replace")) > MAX_WHAT_BYTES
    if cert_failure or oversized:
        transient = False

    if cert_failure:
        advice = _CERT_ADVICE
    elif oversized and code is Code.INTERNAL:
        advice = _OVERSIZED_ADVICE
    elif decisive.code in _ADVICE_BY_SDK_CODE:
        advice = _ADVICE_BY_SDK_CODE[decisive.code]
    elif code in _ADVICE_BY_CODE:
        advice = _ADVICE_BY_CODE[code]
    else:
        advice = _TRANSIENT_ADVICE if transient else _INTERNAL_ADVICE
    detail = f"{decisive.code}: {decisive.message}" if decisive.code else decisive.message
    if advice.hint:
        message = f"{driver}: {advice.phrase} {what}: {advice.hint} (cause: {detail})"
    else:
        message = f"{driver}: {advice.phrase} {what}: {detail}"
    return error_for(code, message, transient=transient, cause=exc)
