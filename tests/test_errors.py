"""drivers.core.errors: codes, the hierarchy, the classification table and SDK translation."""

from __future__ import annotations

import logging
import pickle
import ssl

import pytest

from drivers.core import errors
from drivers.core.errors import (
    ArtifactError,
    BadRequest,
    Code,
    Forbidden,
    Internal,
    NotFound,
    Unauthorized,
    Unimplemented,
    causes,
    classify,
    error_for,
    from_exception,
    is_cert_failure,
    is_cert_failure_message,
)

NO_ENV: dict[str, str] = {}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (Code.NOT_FOUND, 404),
        (Code.BAD_REQUEST, 400),
        (Code.UNAUTHORIZED, 401),
        (Code.FORBIDDEN, 403),
        (Code.NOT_IMPLEMENTED, 501),
        (Code.INTERNAL, 500),
    ],
)
def test_http_status_per_spec_1_5(code: Code, status: int) -> None:
    assert code.http_status == status


def test_code_values_are_argo_strings() -> None:
    assert Code.NOT_FOUND == "ERR_NOT_FOUND"
    assert Code("ERR_NOT_IMPLEMENTED") is Code.NOT_IMPLEMENTED


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (Code.NOT_FOUND, NotFound),
        (Code.BAD_REQUEST, BadRequest),
        (Code.UNAUTHORIZED, Unauthorized),
        (Code.FORBIDDEN, Forbidden),
        (Code.NOT_IMPLEMENTED, Unimplemented),
        (Code.INTERNAL, Internal),
        ("ERR_FORBIDDEN", Forbidden),
        ("ERR_SOMETHING_ELSE", Internal),
    ],
)
def test_error_for_builds_the_matching_subclass(code: str, cls: type[ArtifactError]) -> None:
    err = error_for(code, "boom", transient=True)
    assert type(err) is cls
    assert err.message == "boom"
    assert err.transient is True
    assert err.code is cls.code


def test_artifact_error_attributes_and_str() -> None:
    cause = ValueError("inner")
    err = NotFound("no such key 'k'", cause=cause)
    assert str(err) == "no such key 'k'"
    assert err.cause is cause
    assert err.__cause__ is cause
    assert err.transient is False
    assert ArtifactError("x").code is Code.INTERNAL
    assert "transient=False" in repr(err)


def test_artifact_error_pickles_with_its_class_and_flag() -> None:
    err = Forbidden("denied", transient=True, cause=RuntimeError("x"))
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is Forbidden
    assert back.message == "denied"
    assert back.transient is True


# ---------------------------------------------------------------------------- classify


@pytest.mark.parametrize(
    ("driver", "status", "code", "message", "expected"),
    [
        ("s3", 401, None, "unauthorized", (Code.UNAUTHORIZED, False)),
        ("s3", 403, "AccessDenied", "Access Denied", (Code.FORBIDDEN, False)),
        ("s3", 403, "SignatureDoesNotMatch", "sig", (Code.FORBIDDEN, False)),
        ("s3", 403, "InvalidAccessKeyId", "key", (Code.FORBIDDEN, False)),
        ("azure", 403, "AuthenticationFailed", "auth", (Code.FORBIDDEN, False)),
        ("azure", 403, "AuthorizationFailure", "authz", (Code.FORBIDDEN, False)),
        ("s3", None, "AccessDenied", "no status", (Code.FORBIDDEN, False)),
        ("s3", 404, "NoSuchKey", "The specified key does not exist.", (Code.NOT_FOUND, False)),
        ("s3", 404, "NoSuchBucket", "bucket", (Code.NOT_FOUND, False)),
        ("azure", 404, "BlobNotFound", "blob", (Code.NOT_FOUND, False)),
        ("azure", 404, "ContainerNotFound", "container", (Code.NOT_FOUND, False)),
        ("gcs", 404, None, "No such object", (Code.NOT_FOUND, False)),
        ("s3", 503, "SlowDown", "slow down", (Code.INTERNAL, True)),
        ("s3", 400, "RequestTimeout", "timeout", (Code.INTERNAL, True)),
        ("s3", None, "RequestError", "x", (Code.INTERNAL, True)),
        ("s3", None, "Throttling", "x", (Code.INTERNAL, True)),
        ("s3", None, "ThrottlingException", "x", (Code.INTERNAL, True)),
        ("s3", None, "RequestLimitExceeded", "x", (Code.INTERNAL, True)),
        ("s3", None, "RequestThrottled", "x", (Code.INTERNAL, True)),
        ("s3", None, "InternalError", "x", (Code.INTERNAL, True)),
        ("s3", None, "ServiceUnavailable", "x", (Code.INTERNAL, True)),
        # A bare proxy 5xx whose "code" is the status text.
        ("s3", 502, "Bad Gateway", "502 Bad Gateway", (Code.INTERNAL, True)),
        ("s3", 500, None, "oops", (Code.INTERNAL, True)),
        ("s3", 400, "InvalidArgument", "bad", (Code.INTERNAL, False)),
        ("gcs", 429, None, "rate limited", (Code.INTERNAL, True)),
        ("gcs", 503, None, "backend error", (Code.INTERNAL, True)),
        ("gcs", None, None, "googleapi: Received 504 gateway", (Code.INTERNAL, True)),
        ("gcs", None, None, "read: connection reset", (Code.INTERNAL, True)),
        # The GCS message rule is GCS-only: "connection reset" without "by peer".
        ("s3", None, None, "read: connection reset", (Code.INTERNAL, False)),
        ("s3", None, None, "googleapi: Received 504", (Code.INTERNAL, False)),
        ("oss", None, "QuotaExceeded.Refresh", "x", (Code.INTERNAL, True)),
        ("oss", None, "RequestTimeTooSkewed", "x", (Code.INTERNAL, True)),
        ("s3", None, "QuotaExceeded.Refresh", "x", (Code.INTERNAL, False)),
        ("oss", None, "NoSuchKey", "x", (Code.NOT_FOUND, False)),
        ("http", None, None, "read tcp: connection reset by peer", (Code.INTERNAL, True)),
        ("http", None, None, "dial tcp: Connection refused", (Code.INTERNAL, True)),
        ("git", None, None, "i/o timeout", (Code.INTERNAL, True)),
        ("s3", None, None, "net/http: TLS handshake timeout", (Code.INTERNAL, True)),
        ("s3", None, None, "http2: client connection lost", (Code.INTERNAL, True)),
        ("s3", None, None, "received GOAWAY", (Code.INTERNAL, True)),
        ("s3", None, None, "unexpected EOF", (Code.INTERNAL, True)),
        ("s3", None, None, "something else", (Code.INTERNAL, False)),
        # A 4xx-class result is never made transient by a network-looking message.
        ("s3", 404, "NoSuchKey", "connection reset by peer", (Code.NOT_FOUND, False)),
    ],
)
def test_classification_table(
    driver: str, status: int | None, code: str | None, message: str, expected: tuple[Code, bool]
) -> None:
    assert classify(driver, status=status, code=code, message=message, env=NO_ENV) == expected


def test_transient_error_pattern_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    args = {"status": None, "code": None, "message": "quota flapping: try later"}
    monkeypatch.delenv("TRANSIENT_ERROR_PATTERN", raising=False)
    assert classify("s3", **args) == (Code.INTERNAL, False)
    monkeypatch.setenv("TRANSIENT_ERROR_PATTERN", "quota flap+ing")
    assert classify("s3", **args) == (Code.INTERNAL, True)


def test_transient_error_pattern_can_retry_a_4xx_error() -> None:
    env = {"TRANSIENT_ERROR_PATTERN": "Access Denied"}
    result = classify("s3", status=403, code="AccessDenied", message="Access Denied", env=env)
    assert result == (Code.FORBIDDEN, True)


def test_invalid_transient_error_pattern_is_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {"TRANSIENT_ERROR_PATTERN": "([unclosed"}
    with caplog.at_level(logging.WARNING, logger="drivers.core.errors"):
        assert classify("s3", status=None, code=None, message="x", env=env) == (
            Code.INTERNAL,
            False,
        )
    assert "TRANSIENT_ERROR_PATTERN" in caplog.text


def test_certificate_failure_is_never_transient_even_with_the_pattern() -> None:
    env = {"TRANSIENT_ERROR_PATTERN": ".*"}
    message = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed; connection reset by peer"
    assert classify("s3", status=None, code=None, message=message, env=env) == (
        Code.INTERNAL,
        False,
    )


def test_rules_table_is_data() -> None:
    assert all(isinstance(rule, errors.Rule) for rule in errors.RULES)
    assert all(rule.why for rule in errors.RULES)
    s3_rules = [r for r in errors.RULES if r.applies_to("s3")]
    assert any("SlowDown" in r.sdk_codes for r in s3_rules)
    assert not any("SlowDown" in r.sdk_codes for r in errors.RULES if r.applies_to("azure"))


# ---------------------------------------------------------------------- from_exception


def _client_error(code: str, status: int, message: str = "msg"):
    from botocore.exceptions import ClientError

    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "GetObject",
    )


def test_botocore_access_denied_says_what_failed_and_what_to_do() -> None:
    err = from_exception(
        "s3", _client_error("AccessDenied", 403, "Access Denied"), "reading key 'x' in bucket 'b'"
    )
    assert isinstance(err, Forbidden)
    assert err.transient is False
    assert err.message.startswith(
        "s3: access denied reading key 'x' in bucket 'b': "
        "check the access key and the bucket policy"
    )
    assert "AccessDenied" in err.message
    assert err.cause is not None


def test_botocore_slow_down_is_transient() -> None:
    err = from_exception("s3", _client_error("SlowDown", 503), "writing key 'k'", env=NO_ENV)
    assert isinstance(err, Internal)
    assert err.transient is True
    assert "may succeed on retry" in err.message


def test_botocore_no_such_bucket_is_not_found_with_advice() -> None:
    err = from_exception("s3", _client_error("NoSuchBucket", 404), "reading key 'k'", env=NO_ENV)
    assert isinstance(err, NotFound)
    assert "createBucketIfNotPresent" in err.message


def test_botocore_signature_mismatch_mentions_whitespace() -> None:
    err = from_exception("s3", _client_error("SignatureDoesNotMatch", 403), "listing", env=NO_ENV)
    assert isinstance(err, Forbidden)
    assert "whitespace" in err.message


def test_botocore_endpoint_connection_error_is_transient() -> None:
    from botocore.exceptions import EndpointConnectionError

    exc = EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    err = from_exception("s3", exc, "reading key 'k'", env=NO_ENV)
    assert (err.code, err.transient) == (Code.INTERNAL, True)


def test_azure_http_response_error() -> None:
    from azure.core.exceptions import HttpResponseError

    exc = HttpResponseError(message="The specified blob does not exist.")
    exc.status_code = 404
    exc.error_code = "BlobNotFound"
    err = from_exception("azure", exc, "reading blob 'b'", env=NO_ENV)
    assert isinstance(err, NotFound)
    assert "BlobNotFound" in err.message


def test_azure_service_request_error_is_transient() -> None:
    from azure.core.exceptions import ServiceRequestError

    err = from_exception("azure", ServiceRequestError("oops"), "reading blob", env=NO_ENV)
    assert err.transient is True


@pytest.mark.parametrize(
    ("name", "cls", "transient"),
    [
        ("NotFound", NotFound, False),
        ("Forbidden", Forbidden, False),
        ("Unauthorized", Unauthorized, False),
        ("TooManyRequests", Internal, True),
        ("ServiceUnavailable", Internal, True),
        ("InternalServerError", Internal, True),
        ("BadRequest", Internal, False),
    ],
)
def test_google_api_core_exceptions(name: str, cls: type[ArtifactError], transient: bool) -> None:
    from google.api_core import exceptions as gexc

    err = from_exception("gcs", getattr(gexc, name)("detail"), "reading key 'k'", env=NO_ENV)
    assert type(err) is cls
    assert err.transient is transient


def test_requests_connection_error_chain_is_transient() -> None:
    import requests
    import urllib3

    inner = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    try:
        try:
            raise inner
        except urllib3.exceptions.NewConnectionError as e:
            raise requests.exceptions.ConnectionError("Max retries exceeded") from e
    except requests.exceptions.ConnectionError as outer:
        err = from_exception("http", outer, "GET http://x/y", env=NO_ENV)
    assert (err.code, err.transient) == (Code.INTERNAL, True)


def test_requests_http_error_uses_the_response_status() -> None:
    import requests

    response = requests.Response()
    response.status_code = 404
    err = from_exception("http", requests.HTTPError("404", response=response), "GET u", env=NO_ENV)
    assert isinstance(err, NotFound)


def test_ssl_certificate_failure_anywhere_in_the_chain_is_fatal() -> None:
    import requests

    cert = ssl.SSLCertVerificationError(1, "certificate verify failed: self signed")
    try:
        try:
            raise cert
        except ssl.SSLCertVerificationError as e:
            # requests.SSLError is a ConnectionError, which would otherwise be transient.
            raise requests.exceptions.SSLError("HTTPSConnectionPool: SSL error") from e
    except requests.exceptions.SSLError as outer:
        err = from_exception("s3", outer, "reading key 'k'", env={"TRANSIENT_ERROR_PATTERN": "."})
    assert err.transient is False
    assert "caSecret" in err.message


def test_cert_failure_detected_from_message_only() -> None:
    exc = OSError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    err = from_exception("s3", exc, "reading", env=NO_ENV)
    assert err.transient is False
    assert "TLS certificate verification failed" in err.message


def test_is_cert_failure_by_type_message_cause_context_and_inner_exception() -> None:
    """The one certificate check: any link, by type or by OpenSSL's words, in any spelling."""
    verify = ssl.SSLCertVerificationError(1, "unable to get local issuer certificate")
    assert is_cert_failure(verify)
    assert is_cert_failure(OSError("[SSL: CERTIFICATE_VERIFY_FAILED] oops"))
    assert is_cert_failure_message("ssl: Certificate Verify Failed: self-signed")
    assert not is_cert_failure(ConnectionResetError(104, "Connection reset by peer"))
    assert not is_cert_failure_message("[SSL: WRONG_VERSION_NUMBER] wrong version number")

    try:
        try:
            raise verify
        except ssl.SSLCertVerificationError:
            raise ConnectionError("handshake failed")  # noqa: B904 - testing __context__
    except ConnectionError as implicit:
        assert is_cert_failure(implicit)

    class Wrapped(Exception):  # azure-core's ServiceRequestError keeps its cause here
        def __init__(self, message: str, inner: BaseException) -> None:
            super().__init__(message)
            self.inner_exception = inner

    assert is_cert_failure(Wrapped("request failed", verify))
    assert not is_cert_failure(Wrapped("request failed", TimeoutError("slow")))


def test_causes_follow_cause_then_context_to_the_root() -> None:
    root = OSError("disk gone")
    try:
        try:
            raise root
        except OSError as e:
            raise RuntimeError("write failed") from e
    except RuntimeError as outer:
        assert list(causes(outer)) == [outer, root]
    assert list(causes(root)) == [root]


def test_implicit_context_is_walked() -> None:
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            raise RuntimeError("upload failed")  # noqa: B904 - testing __context__
    except RuntimeError as outer:
        err = from_exception("s3", outer, "writing key 'k'", env=NO_ENV)
    assert err.transient is True


def test_plain_exception_is_internal_and_fatal() -> None:
    err = from_exception("raw", ValueError("bad"), "loading", env=NO_ENV)
    assert (type(err), err.transient) == (Internal, False)
    assert err.message == "raw: failed loading: bad"  # the reason itself, nothing "below"


def test_artifact_error_is_returned_unchanged() -> None:
    original = NotFound("already ours")
    assert from_exception("s3", original, "x") is original


def test_duck_typed_sdk_error() -> None:
    class OssServiceError(Exception):
        status = 503
        code = "ServiceBusy"

    err = from_exception("oss", OssServiceError("busy"), "reading key 'k'", env=NO_ENV)
    assert (err.code, err.transient) == (Code.INTERNAL, True)

    class IntCode(Exception):
        code = 404

    assert isinstance(from_exception("gcs", IntCode("gone"), "reading", env=NO_ENV), NotFound)


def test_missing_sdk_is_tolerated() -> None:
    assert errors._optional_type("no_such_sdk_module_xyz", "ClientError") is None
    assert errors._optional_type("builtins", "NoSuchName") is None
    assert errors._as_int("abc") is None


def test_cyclic_context_does_not_loop() -> None:
    a = RuntimeError("a")
    b = RuntimeError("b")
    a.__context__ = b
    b.__context__ = a
    assert isinstance(from_exception("s3", a, "x", env=NO_ENV), Internal)


def test_ssl_eof_is_transient_but_other_ssl_errors_are_not() -> None:
    eof = ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
    assert from_exception("s3", eof, "reading", env=NO_ENV).transient is True
    other = ssl.SSLError(1, "wrong version number")
    assert from_exception("s3", other, "reading", env=NO_ENV).transient is False


# ---------------------------------------------------------------------------- messages

TEN_MB_KEY = "k" * 10_000_000


def test_a_10_mb_key_gives_an_error_under_1_kb() -> None:
    err = NotFound(f"no such key {TEN_MB_KEY!r} in bucket 'b'; check the key")
    assert len(err.message) < 1000
    assert "(10000002 characters)" in err.message  # the repr: the key and its two quotes
    assert err.message.startswith("no such key 'kkk")
    assert err.message.endswith("in bucket 'b'; check the key")
    assert str(err) == err.message and "10000002" in repr(err)


def test_a_long_value_keeps_its_first_100_and_last_20_characters() -> None:
    path = "/data/" + "a" * 300 + "/end-of-the-path.txt"
    err = BadRequest(f"cannot read {path}: no such file")
    head, rest = err.message.removeprefix("cannot read ").split("...", 1)
    assert head == path[:100]
    assert rest == f"{path[-20:]} ({len(path)} characters): no such file"


def test_a_long_key_with_spaces_is_cut_as_one_value() -> None:
    key = "a b " * 1000
    err = Internal(f"failed saving key {key!r} in bucket 'b'")
    assert len(err.message) < 300
    assert err.message.endswith(f"({len(key) + 2} characters) in bucket 'b'")


def test_short_values_and_prose_are_left_alone() -> None:
    message = (
        "gcs: TLS certificate verification failed while reading key 'dir/a.txt': the server's "
        "certificate is not signed by a CA in /etc/ssl/certs/ca-certificates.crt; give the "
        "driver context the CA bundle that signed it (cause: [SSL] certificate verify failed)"
    )
    assert Internal(message).message == message


def test_many_values_are_bounded_as_a_whole() -> None:
    message = " ".join(f"'{'v' * 150}{n}'" for n in range(200))
    err = Internal(message)
    assert len(err.message) <= errors.MAX_MESSAGE_CHARS
    assert err.message.startswith(message[:100]) and err.message.endswith(message[-100:])
    assert "characters in all" in err.message


def test_bounding_is_idempotent_so_a_pickled_error_keeps_its_message() -> None:
    for message in (f"key {TEN_MB_KEY!r}", " ".join(["x" * 170] * 30), "k" * 200 + " tail"):
        once = errors.bounded(message)
        assert errors.bounded(once) == once
    err = NotFound(f"no such key {TEN_MB_KEY!r}")
    assert pickle.loads(pickle.dumps(err)).message == err.message


def test_a_10_mb_key_that_closes_the_connection_is_not_transient() -> None:
    # MinIO closes the connection on a 10 MB key; botocore's error repeats the whole URL.
    from botocore.exceptions import ConnectionClosedError

    url = f"http://127.0.0.1:9000/bucket/{TEN_MB_KEY}"
    exc = ConnectionClosedError(endpoint_url=url)
    short = from_exception("s3", exc, "saving key 'k' in bucket 'bucket'", env=NO_ENV)
    assert short.transient is True  # a closed connection alone may well be transient
    err = from_exception("s3", exc, f"saving key {TEN_MB_KEY!r} in bucket 'bucket'", env=NO_ENV)
    assert err.transient is False
    assert "transient" not in err.message and "retry" not in err.message
    assert "longer than 1024 bytes" in err.message
    assert len(err.message) < 1000


def test_a_key_too_long_for_the_server_is_not_transient_even_when_it_answers() -> None:
    class TooLong(Exception):
        status = 414

    err = from_exception("s3", TooLong("Request-URI Too Long"), f"saving key {'k' * 9000!r}")
    assert (err.code, err.transient) == (Code.INTERNAL, False)


def test_no_message_says_see_the_cause_below() -> None:
    # The cause is part of the message; a log line or `artconf artifact` shows nothing below.
    for exc in (ValueError("bad"), RuntimeError(""), KeyError("k")):
        err = from_exception("s3", exc, "saving key '../x' in bucket 'b'", env=NO_ENV)
        assert "below" not in err.message
        assert err.message.startswith("s3: failed saving key '../x' in bucket 'b': ")
        assert err.message.removeprefix("s3: failed saving key '../x' in bucket 'b': ")


def test_a_refused_dot_dot_key_says_why() -> None:
    class ClientError(Exception):  # what MinIO answers for a `../` key
        status = 400
        code = "XMinioInvalidResourceName"

    exc = ClientError('Resource name contains bad components such as ".." or "."')
    err = from_exception("s3", exc, "saving key '../dot-dot/kept.txt' in bucket 'b'", env=NO_ENV)
    assert err.message == (
        "s3: failed saving key '../dot-dot/kept.txt' in bucket 'b': XMinioInvalidResourceName: "
        'Resource name contains bad components such as ".." or "."'
    )
    assert err.transient is False


def test_a_key_format_with_thousands_of_bad_tags_lists_five() -> None:
    from drivers.core.keys import KeyContext, render_key

    with pytest.raises(BadRequest) as caught:
        render_key("{{nope}}/" * 100_000, KeyContext())
    message = caught.value.message
    assert message.count("unknown variable 'nope'") == 5
    assert "and 99995 more like these" in message
    assert len(message) < errors.MAX_MESSAGE_CHARS
