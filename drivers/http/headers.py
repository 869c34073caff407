"""Request headers as Go's net/http writes them: canonical names, repeats kept, bytes as given.

A header set is a list of ``(name, value)`` pairs, so a name may repeat (``Header.Add``) and the
values of one name keep their order. requests' ``CaseInsensitiveDict`` keeps one value per name,
so :func:`wire_headers` hands urllib3 an ``HTTPHeaderDict``, whose items are written one line
each. Values are bytes: Go sends a string's bytes, where ``http.client`` would encode latin-1.
"""

from __future__ import annotations

import base64
import re

from urllib3 import HTTPHeaderDict
from urllib3.util import SKIP_HEADER

from drivers.core.errors import BadRequest
from drivers.core.secrets import SecretValue

Headers = list[tuple[str, bytes]]

AUTHORIZATION = "Authorization"
ACCEPT_ENCODING = "Accept-Encoding"
USER_AGENT = "User-Agent"

# RFC 9110 token characters: what Go's httpguts.ValidHeaderFieldName accepts.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Go's httpguts.ValidHeaderFieldValue: no control characters but horizontal tab.
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# Go never writes these from a request's Header: it frames the body and names the host itself.
_NOT_SENT = frozenset({"Host", "Content-Length", "Transfer-Encoding", "Trailer"})


def canonical(name: str) -> str:
    """Go's ``CanonicalMIMEHeaderKey``: ``x-artconf-check`` is sent as ``X-Artconf-Check``."""
    if not _TOKEN.match(name):
        return name  # Go leaves a name it cannot canonicalise as it is
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def header(name: str, value: str | bytes | SecretValue) -> tuple[str, bytes]:
    """One checked header; BAD_REQUEST names the header, never its value (it may be secret)."""
    if not _TOKEN.match(name):
        raise BadRequest(f"http: invalid header field name {name!r}; fix headers[].name")
    if isinstance(value, SecretValue):
        raw = value.reveal_bytes()
    elif isinstance(value, str):
        raw = value.encode("utf-8", "surrogateescape")
    else:
        raw = value
    if _CONTROL.search(raw):
        raise BadRequest(
            f"http: invalid header field value for {name!r}: control characters (such as a "
            "newline) are not allowed; fix headers[].value or the secret it comes from"
        )
    return canonical(name), raw


def first(headers: Headers, name: str) -> bytes | None:
    return next((value for key, value in headers if key == name), None)


def replaced(headers: Headers, name: str, value: bytes) -> Headers:
    """``Header.Set``: every value of ``name`` replaced by one."""
    return [(key, old) for key, old in headers if key != name] + [(name, value)]


def basic_credentials(username: SecretValue, password: SecretValue) -> bytes:
    """``SetBasicAuth``'s value over the raw bytes (UTF-8), not requests' latin-1."""
    pair = username.reveal_bytes() + b":" + password.reveal_bytes()
    return b"Basic " + base64.b64encode(pair)


def wire_headers(headers: Headers, framing: dict[str, str], user_agent: str) -> HTTPHeaderDict:
    """What urllib3 writes for one request: body framing, Go's defaults, then ``headers``.

    Go adds ``Accept-Encoding: gzip`` (and decodes it) only when the request has neither
    ``Accept-Encoding`` nor ``Range``; a ``User-Agent`` header replaces the default, and an
    empty one sends none.
    """
    wire = HTTPHeaderDict()
    for name, value in framing.items():
        wire.add(name, value)
    agent = first(headers, USER_AGENT)
    if agent is None:
        wire.add(USER_AGENT, user_agent)
    elif agent:
        wire.add(USER_AGENT, agent)  # type: ignore[arg-type]
    else:
        wire.add(USER_AGENT, SKIP_HEADER)
    if requests_gzip(headers):
        wire.add(ACCEPT_ENCODING, "gzip")
    elif not first(headers, ACCEPT_ENCODING):
        wire.add(ACCEPT_ENCODING, SKIP_HEADER)  # else http.client adds "identity"
    for name, value in headers:
        if name in _NOT_SENT or name == USER_AGENT or (name == ACCEPT_ENCODING and not value):
            continue
        wire.add(name, value)  # type: ignore[arg-type]  # urllib3 writes bytes as they are
    return wire


def requests_gzip(headers: Headers) -> bool:
    """Whether Go's transport asks for (and transparently decodes) gzip."""
    return not first(headers, ACCEPT_ENCODING) and not first(headers, "Range")
