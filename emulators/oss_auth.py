"""OSS request signatures, recomputed by the stand-in (``emulators/oss_standin.py``).

Our own implementation of Alibaba's published algorithms, never the SDK's signer, so that a
request the SDK signed is checked by an independent hand:

* V1 (``Authorization: OSS <id>:<base64 HMAC-SHA1>``): VERB, Content-MD5, Content-Type, the
  date (``x-oss-date`` if sent, else ``Date``), the ``x-oss-*`` headers lower-cased and sorted,
  then the canonical resource ``/<bucket>/<key>`` with the signed sub-resources sorted; and the
  presigned-URL form (``OSSAccessKeyId``, ``Expires``, ``Signature`` in the query).
* V4 (``OSS4-HMAC-SHA256 Credential=<id>/<date>/<region>/oss/aliyun_v4_request,
  AdditionalHeaders=...,Signature=<hex>``): the canonical request (URI, sorted encoded query,
  the ``x-oss-*``/Content-Type/Content-MD5 headers plus the additional ones, the payload hash
  from ``x-oss-content-sha256``), its SHA-256 in the string to sign, and the key derived
  ``aliyun_v4<secret>`` -> date -> region -> ``oss`` -> ``aliyun_v4_request``.

Each check returns an :class:`AuthError` naming OSS's error code, or ``None`` when it passes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import quote

#: OSS refuses a request whose time differs from its own by more than this (15 minutes).
MAX_SKEW = dt.timedelta(minutes=15)
#: The temporary key ids OSS's STS issues start with this; they need their security token.
STS_PREFIX = "STS."

#: Query parameters V1 signs (the published list; the Go and Python SDKs each sign a subset).
V1_SUBRESOURCES = frozenset(
    [
        "acl",
        "uploads",
        "location",
        "cors",
        "logging",
        "website",
        "referer",
        "lifecycle",
        "delete",
        "append",
        "tagging",
        "objectMeta",
        "uploadId",
        "partNumber",
        "security-token",
        "position",
        "img",
        "style",
        "styleName",
        "replication",
        "replicationProgress",
        "replicationLocation",
        "cname",
        "bucketInfo",
        "comp",
        "qos",
        "live",
        "status",
        "vod",
        "startTime",
        "endTime",
        "symlink",
        "x-oss-process",
        "response-content-type",
        "x-oss-traffic-limit",
        "response-content-language",
        "response-expires",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "udf",
        "udfName",
        "udfImage",
        "udfId",
        "udfImageDesc",
        "udfApplication",
        "udfApplicationLog",
        "restore",
        "callback",
        "callback-var",
        "qosInfo",
        "policy",
        "stat",
        "encryption",
        "versions",
        "versioning",
        "versionId",
        "requestPayment",
        "x-oss-request-payer",
        "sequential",
        "inventory",
        "inventoryId",
        "continuation-token",
        "asyncFetch",
        "worm",
        "wormId",
        "wormExtend",
        "withHashContext",
        "x-oss-enable-md5",
        "x-oss-enable-sha1",
        "x-oss-enable-sha256",
        "x-oss-hash-ctx",
        "x-oss-md5-ctx",
        "transferAcceleration",
        "regionList",
        "cloudboxes",
        "resourceGroup",
    ]
)


@dataclass(frozen=True)
class Key:
    """One access key the stand-in knows: its secret, and the token of a temporary key."""

    key_id: str
    secret: str
    token: str = ""


@dataclass
class AuthError(Exception):
    """A refused request: OSS's code, HTTP status and message, plus extra XML elements."""

    status: int
    code: str
    message: str
    extra: dict[str, str] = field(default_factory=dict)
    ec: str = ""


@dataclass
class Request:
    """What a signature covers, as the server received it."""

    method: str
    bucket: str | None
    key: str | None
    query: list[tuple[str, str]]  # decoded pairs, in order
    raw_query: str
    headers: dict[str, str]  # lower-cased names

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


def verify(request: Request, keys: dict[str, Key], region: str, now: dt.datetime) -> Key:
    """The key that signed ``request``; raises :class:`AuthError` as OSS would refuse it."""
    auth = request.header("authorization")
    params = dict(request.query)
    if auth.startswith("OSS4-HMAC-SHA256"):
        return _verify_v4(request, auth, keys, region, now)
    if auth.startswith("OSS "):
        return _verify_v1(request, auth, keys, now)
    if "OSSAccessKeyId" in params and "Signature" in params:
        return _verify_v1_query(request, params, keys, now)
    if "x-oss-signature" in params:
        raise AuthError(403, "AccessDenied", "V4 presigned URLs are not served by this stand-in.")
    raise AuthError(
        403,
        "AccessDenied",
        "You have no right to access this object because of bucket acl.",
        ec="0003-00000001",
    )


# ------------------------------------------------------------------ keys and tokens


def _key(key_id: str, keys: dict[str, Key]) -> Key:
    key = keys.get(key_id)
    if key is None:
        raise _unknown_key(key_id)
    return key


def _unknown_key(key_id: str) -> AuthError:
    return AuthError(
        403,
        "InvalidAccessKeyId",
        "The OSS Access Key Id you provided does not exist in our records.",
        {"OSSAccessKeyId": key_id},
        ec="0002-00000002",
    )


def _check_token(key: Key, token: str) -> None:
    """A temporary key needs its exact token; a permanent key must come without one."""
    if not key.token:
        if token:  # OSS then treats the request as an STS one, for a key STS never issued
            raise _unknown_key(key.key_id)
        return
    if not token:
        raise _unknown_key(key.key_id)
    if not hmac.compare_digest(token.encode(), key.token.encode()):
        raise AuthError(
            403,
            "InvalidSecurityToken",
            "The security token you provided is invalid.",
            {"OSSAccessKeyId": key.key_id},
            ec="0002-00000006",
        )


def _check_time(when: dt.datetime, now: dt.datetime) -> None:
    if abs(now - when) > MAX_SKEW:
        raise AuthError(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            {
                "RequestTime": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "MaxAllowedSkewMilliseconds": str(int(MAX_SKEW.total_seconds() * 1000)),
            },
            ec="0002-00000504",
        )


def _mismatch(key_id: str, provided: str, string_to_sign: str) -> AuthError:
    return AuthError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        {
            "StringToSign": string_to_sign,
            "SignatureProvided": provided,
            "OSSAccessKeyId": key_id,
        },
        ec="0002-00000040",
    )


def _compare(key_id: str, provided: str, expected: str, string_to_sign: str) -> None:
    if not hmac.compare_digest(provided.encode(), expected.encode()):
        raise _mismatch(key_id, provided, string_to_sign)


def _token(request: Request, *, query: bool = False) -> str:
    # The Go SDK sends x-oss-security-token (signed); the Python SDK's V1 signer sends a
    # `security-token` header; a presigned URL carries `security-token` in its query.
    if query:
        return dict(request.query).get("security-token", "")
    return request.header("x-oss-security-token") or request.header("security-token")


# ------------------------------------------------------------------ V1


def _resource(request: Request, subresources: frozenset[str] = V1_SUBRESOURCES) -> str:
    path = "/"
    if request.bucket is not None:
        path += request.bucket + "/"
        if request.key is not None:
            path += request.key
    signed = sorted((k, v) for k, v in request.query if k in subresources)
    if not signed:
        return path
    return path + "?" + "&".join(f"{k}={v}" if v else k for k, v in signed)


def _oss_headers(request: Request) -> str:
    pairs = sorted((k, v) for k, v in request.headers.items() if k.startswith("x-oss-"))
    return "".join(f"{k}:{v}\n" for k, v in pairs)


def v1_string_to_sign(request: Request, date: str) -> str:
    return "\n".join(
        [
            request.method,
            request.header("content-md5"),
            request.header("content-type"),
            date,
            _oss_headers(request) + _resource(request),
        ]
    )


def v1_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _verify_v1(request: Request, auth: str, keys: dict[str, Key], now: dt.datetime) -> Key:
    key_id, sep, provided = auth[len("OSS ") :].strip().rpartition(":")
    if not sep:
        raise AuthError(400, "InvalidArgument", "Authorization header is invalid.")
    key = _key(key_id, keys)
    _check_token(key, _token(request))
    date = request.header("x-oss-date") or request.header("date")
    try:
        when = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise AuthError(403, "AccessDenied", "Invalid date format in Date header.") from None
    _check_time(when, now)
    string_to_sign = v1_string_to_sign(request, date)
    _compare(key_id, provided, v1_signature(key.secret, string_to_sign), string_to_sign)
    return key


def _verify_v1_query(
    request: Request, params: dict[str, str], keys: dict[str, Key], now: dt.datetime
) -> Key:
    key = _key(params["OSSAccessKeyId"], keys)
    _check_token(key, _token(request, query=True))
    try:
        expires = dt.datetime.fromtimestamp(int(params.get("Expires", "")), dt.UTC)
    except ValueError:
        raise AuthError(403, "AccessDenied", "Invalid Expires in the query string.") from None
    if now > expires:
        raise AuthError(403, "AccessDenied", "Request has expired.", ec="0002-00000069")
    string_to_sign = v1_string_to_sign(request, params["Expires"])
    _compare(
        key.key_id, params["Signature"], v1_signature(key.secret, string_to_sign), string_to_sign
    )
    return key


# ------------------------------------------------------------------ V4


def _v4_fields(auth: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in auth[len("OSS4-HMAC-SHA256") :].split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    return fields


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def v4_canonical_request(request: Request, additional: list[str]) -> str:
    uri = "/"
    if request.bucket is not None:
        uri += request.bucket + "/"
        if request.key is not None:
            uri += request.key
    pairs = sorted((_encode(k), _encode(v)) for k, v in request.query)
    query = "&".join(f"{k}={v}" if v else k for k, v in pairs)
    signed = {
        k: v
        for k, v in request.headers.items()
        if k.startswith("x-oss-") or k in ("content-type", "content-md5") or k in additional
    }
    headers = "".join(f"{k}:{v.strip()}\n" for k, v in sorted(signed.items()))
    payload = request.header("x-oss-content-sha256") or "UNSIGNED-PAYLOAD"
    return "\n".join(
        [
            request.method,
            quote(uri, safe="/"),
            query,
            headers,
            ";".join(additional),
            payload,
        ]
    )


def v4_signing_key(secret: str, date: str, region: str, product: str = "oss") -> bytes:
    key = ("aliyun_v4" + secret).encode()
    for part in (date, region, product, "aliyun_v4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def v4_string_to_sign(timestamp: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    return "\n".join(["OSS4-HMAC-SHA256", timestamp, scope, digest])


def _verify_v4(
    request: Request, auth: str, keys: dict[str, Key], region: str, now: dt.datetime
) -> Key:
    fields = _v4_fields(auth)
    credential = fields.get("Credential", "")
    parts = credential.split("/")
    if len(parts) != 5 or parts[3] != "oss" or parts[4] != "aliyun_v4_request":
        raise AuthError(400, "InvalidArgument", "Invalid credential in Authorization header.")
    key_id, date, scope_region = parts[0], parts[1], parts[2]
    key = _key(key_id, keys)
    _check_token(key, _token(request))
    timestamp = request.header("x-oss-date")
    try:
        when = dt.datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise AuthError(
            403, "AccessDenied", "x-oss-date is missing or malformed in a V4 request."
        ) from None
    _check_time(when, now)
    if date != timestamp[:8]:
        raise AuthError(
            400,
            "InvalidArgument",
            "Invalid signing date in Authorization header.",
            ec="0002-00000409",
        )
    if scope_region != region:
        raise AuthError(400, "InvalidArgument", "Invalid signing region in Authorization header.")
    if not request.header("x-oss-content-sha256"):
        raise AuthError(
            400,
            "InvalidArgument",
            "Missing required header for this request: x-oss-content-sha256.",
        )
    additional = [h for h in fields.get("AdditionalHeaders", "").split(";") if h]
    canonical = v4_canonical_request(request, additional)
    scope = "/".join(parts[1:])
    string_to_sign = v4_string_to_sign(timestamp, scope, canonical)
    expected = hmac.new(
        v4_signing_key(key.secret, date, region), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()
    _compare(key_id, fields.get("Signature", ""), expected, string_to_sign)
    return key
