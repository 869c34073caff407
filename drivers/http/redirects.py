"""Following redirects by hand, with the rules of Go's ``http.Client`` (net/http client.go).

requests' own rules differ from Go's in ways that change what a server receives: it keeps a PUT
(without its body) on a 301, re-sends an EMPTY generator body on a 307, drops
``Authorization`` when only the port changes, and re-adds ``~/.netrc`` credentials. So every
request is sent with ``allow_redirects=False`` and :func:`follow` decides, as Go does:

* 307 and 308 repeat the method and re-send the body, if the body can be sent again (Go's
  ``GetBody``); a one-shot body (a stream) is not followed: the 3xx is the answer.
* 301, 302 and 303 turn anything but GET and HEAD into a GET without a body (and without the
  body's ``Content-*`` headers), for the rest of the chain.
* ``Authorization``, cookies and the like go only to the first request's host or its
  subdomains, whatever the port; other headers always go. Once dropped, they stay dropped.
* ``Referer`` is the previous URL, unless that would tell an http URL about an https one.
* A 3xx without ``Location`` is the answer; the 10th redirect in a row is an error.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Protocol

import requests

from drivers.http.headers import Headers, replaced

MAX_REDIRECTS = 10

SENSITIVE = frozenset(
    {
        "Authorization",
        "Www-Authenticate",
        "Cookie",
        "Cookie2",
        "Proxy-Authorization",
        "Proxy-Authenticate",
    }
)
BODY_HEADERS = frozenset(
    {"Content-Encoding", "Content-Language", "Content-Location", "Content-Type"}
)


class Body(Protocol):
    """A request body; ``open()`` gives it afresh for each send when ``resendable``."""

    resendable: bool

    def open(self) -> bytes | object: ...


#: Sends one request, never following a redirect: (method, url, headers, body or None).
SendOnce = Callable[[str, str, Headers, Body | None], requests.Response]


class RedirectError(Exception):
    """Go's ``*url.Error`` for a redirect it refuses to follow (``Put "<url>": ...``)."""

    def __init__(self, method: str, url: str, reason: str):
        super().__init__(f'{method[:1]}{method[1:].lower()} "{url}": {reason}')


def follow(
    send: SendOnce, method: str, url: str, headers: Headers, body: Body | None
) -> requests.Response:
    """The final response of ``method url``, redirects followed with Go's rules."""
    initial = urllib.parse.urlsplit(url)
    current_method, current_url, current_headers = method, url, headers
    include_body, strip_sensitive = True, False
    for hop in range(1, MAX_REDIRECTS + 1):
        response = send(
            current_method, current_url, current_headers, body if include_body else None
        )
        next_method, keep_body = _behaviour(current_method, response.status_code, body)
        if next_method is None:
            return response
        include_body = include_body and keep_body  # once a hop drops the body, it stays dropped
        location = response.headers.get("Location")
        if not location:
            return response
        try:
            target = urllib.parse.urljoin(current_url, location)
            parts = urllib.parse.urlsplit(target)
        except ValueError as exc:
            response.close()
            raise RedirectError(
                method, current_url, f"failed to parse Location header {location!r}: {exc}"
            ) from None
        if not strip_sensitive and _host(parts) != _host(initial):
            strip_sensitive = not _domain_or_subdomain(parts.hostname, initial.hostname)
        response.close()
        if hop == MAX_REDIRECTS:
            raise RedirectError(method, location, f"stopped after {MAX_REDIRECTS} redirects")
        current_headers = [
            (name, value)
            for name, value in headers
            if not (strip_sensitive and name in SENSITIVE)
            and not (not include_body and name in BODY_HEADERS)
        ]
        referer = _referer(current_url, target, current_headers)
        if referer is not None:
            current_headers = replaced(current_headers, "Referer", referer)
        current_method, current_url = next_method, target
    raise AssertionError("unreachable")  # pragma: no cover


def _behaviour(method: str, status: int, body: Body | None) -> tuple[str | None, bool]:
    """Go's ``redirectBehavior``: the next method (None: do not follow), keep the body."""
    if status in (301, 302, 303):
        return ("GET" if method not in ("GET", "HEAD") else method), False
    if status in (307, 308):
        if body is not None and not body.resendable:
            return None, False  # Go returns the 3xx when it cannot send the body again
        return method, True
    return None, False


def _host(parts: urllib.parse.SplitResult) -> str:
    """Go's ``URL.Host``: host and port, without user information."""
    return parts.netloc.rpartition("@")[2].lower()


def _domain_or_subdomain(sub: str | None, parent: str | None) -> bool:
    """Go's ``isDomainOrSubdomain`` over host names (ports are not part of them)."""
    sub, parent = sub or "", parent or ""
    if sub == parent:
        return True
    if ":" in sub or "%" in sub:  # an IPv6 address is never a subdomain
        return False
    return sub.endswith("." + parent)


def _referer(previous: str, target: str, headers: Headers) -> bytes | None:
    """Go's ``refererForURL``: none from https to http; an explicit one kept."""
    before, after = urllib.parse.urlsplit(previous), urllib.parse.urlsplit(target)
    if before.scheme == "https" and after.scheme == "http":
        return None
    if any(name == "Referer" for name, _ in headers):
        return None
    netloc = before.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(before._replace(netloc=netloc)).encode()
