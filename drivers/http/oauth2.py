"""OAuth2 client credentials as golang.org/x/oauth2's ``clientcredentials`` does it (v0.35.0).

The token is fetched on first use and reused until 10 seconds before it expires. The request is
a form POST: ``grant_type=client_credentials``, ``scope`` (the scopes joined by spaces) when
there are scopes, and the ``endpointParams``, keys sorted as Go's ``url.Values.Encode`` sorts
them. The client authenticates with HTTP Basic over the query-escaped id and secret first; on
any failure it tries once more with ``client_id``/``client_secret`` in the form, and keeps the
style that worked.

The token URL is a secret like the client's id and secret: no message names it or quotes a
server's answer without redacting them.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

import requests

from drivers.core.errors import causes
from drivers.core.secrets import SecretValue, redact
from drivers.http.headers import Headers

#: Go's ``expiryDelta``: a token this close to its expiry is fetched again.
EXPIRY_DELTA = 10.0
#: Go reads at most 1 MiB of a token response.
MAX_RESPONSE = 1 << 20

#: Sends a POST to the token URL (redirects followed): (url, headers, form body).
Post = Callable[[str, Headers, bytes], requests.Response]


class TokenError(Exception):
    """No token: ``status`` is the token endpoint's answer, ``error_code`` its OAuth2 error,
    ``transport`` what failed on the way there (kept off ``__cause__``, its text may hold the
    token URL)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str = "",
        transport: BaseException | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.transport = transport

    @property
    def refused(self) -> bool:
        """Whether the endpoint refused the client's credentials."""
        return self.status == 401 or self.error_code == "invalid_client"


@dataclass(frozen=True)
class ClientCredentials:
    client_id: SecretValue
    client_secret: SecretValue
    token_url: SecretValue
    scopes: tuple[str, ...] = ()
    endpoint_params: tuple[tuple[str, str | SecretValue], ...] = ()

    def secrets(self) -> list[SecretValue]:
        values = [self.client_id, self.client_secret, self.token_url]
        values += [v for _, v in self.endpoint_params if isinstance(v, SecretValue)]
        return values


@dataclass(frozen=True)
class Token:
    access_token: str
    token_type: str
    expires_at: float | None  # time.monotonic() seconds; None: never expires

    @property
    def authorization(self) -> bytes:
        """Go's ``Token.SetAuthHeader`` value: the normalised type, then the token."""
        kind = self.token_type
        for known in ("Bearer", "MAC", "Basic"):
            if kind.lower() == known.lower():
                kind = known
        return f"{kind or 'Bearer'} {self.access_token}".encode()


class TokenSource:
    """The client-credentials token of one driver, fetched lazily and cached."""

    def __init__(self, credentials: ClientCredentials, post: Post):
        self.credentials = credentials
        self._post = post
        self._token: Token | None = None
        self._in_form: bool | None = None  # the auth style that worked; None: not probed yet

    def authorization(self) -> bytes:
        token = self._token
        if token is None or (
            token.expires_at is not None and token.expires_at - EXPIRY_DELTA <= time.monotonic()
        ):
            token = self._token = self._fetch()
        return token.authorization

    def _fetch(self) -> Token:
        form = self._form()
        if self._in_form is not None:
            return self._retrieve(form, in_form=self._in_form)
        try:
            token = self._retrieve(form, in_form=False)
            self._in_form = False
        except TokenError:
            token = self._retrieve(form, in_form=True)  # Go's second way, on any failure
            self._in_form = True
        return token

    def _form(self) -> dict[str, list[str]]:
        form: dict[str, list[str]] = {"grant_type": ["client_credentials"]}
        if self.credentials.scopes:
            form["scope"] = [" ".join(self.credentials.scopes)]
        params: dict[str, list[str]] = {}
        for key, value in self.credentials.endpoint_params:
            text = value.reveal() if isinstance(value, SecretValue) else value
            params.setdefault(key, []).append(text)
        for key, values in params.items():
            if key in form and key != "grant_type":
                raise TokenError(f"oauth2: cannot overwrite parameter {json.dumps(key)}")
            form[key] = values
        return form

    def _retrieve(self, form: dict[str, list[str]], *, in_form: bool) -> Token:
        creds = self.credentials
        headers: Headers = [("Content-Type", b"application/x-www-form-urlencoded")]
        if in_form:
            form = dict(form)
            if creds.client_id:
                form["client_id"] = [creds.client_id.reveal()]
            if creds.client_secret:
                form["client_secret"] = [creds.client_secret.reveal()]
        else:
            pair = f"{_query_escape(creds.client_id.reveal())}:"
            pair += _query_escape(creds.client_secret.reveal())
            headers.append(("Authorization", b"Basic " + base64.b64encode(pair.encode())))
        body = _encode(form).encode()
        try:
            response = self._post(creds.token_url.reveal(), headers, body)
            with response:
                content = response.raw.read(MAX_RESPONSE, decode_content=True)
        except Exception as exc:
            raise TokenError(
                "oauth2: cannot fetch token from the endpoint in tokenURLSecret: "
                f"{self._safe(_root(exc))}",
                transport=exc,
            ) from None
        return self._parse(response, content)

    def _parse(self, response: requests.Response, content: bytes) -> Token:
        failed = not 200 <= response.status_code <= 299
        status = f"{response.status_code} {response.reason or ''}".rstrip()
        generic = TokenError(
            f"oauth2: cannot fetch token: {status}\nResponse: "
            f"{self._safe(content.decode('utf-8', 'replace'))}",
            status=response.status_code,
        )
        media = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media in ("application/x-www-form-urlencoded", "text/plain"):
            values = urllib.parse.parse_qs(content.decode("utf-8", "replace"))
            fields = {key: items[0] for key, items in values.items()}
        else:
            try:
                parsed = json.loads(content)
            except ValueError as exc:
                if failed:
                    raise generic from None
                raise TokenError(f"oauth2: cannot parse json: {exc}") from None
            fields = parsed if isinstance(parsed, dict) else {}
        code = str(fields.get("error") or "")
        if failed or code:
            if not code:
                raise generic
            parts = [code, str(fields.get("error_description") or "")]
            parts.append(str(fields.get("error_uri") or ""))
            text = " ".join(json.dumps(part) for part in parts if part)
            raise TokenError(
                f"oauth2: {self._safe(text)}", status=response.status_code, error_code=code
            )
        access = str(fields.get("access_token") or "")
        if not access:
            raise TokenError("oauth2: server response missing access_token")
        return Token(access, str(fields.get("token_type") or ""), _expiry(fields))

    def _safe(self, text: object) -> str:
        return redact(str(text), self.credentials.secrets())


def _query_escape(text: str) -> str:
    """Go's ``url.QueryEscape``."""
    return urllib.parse.quote_plus(text, safe="")


def _encode(form: dict[str, list[str]]) -> str:
    """Go's ``url.Values.Encode``: keys sorted, each value query-escaped."""
    return "&".join(
        f"{_query_escape(key)}={_query_escape(value)}"
        for key in sorted(form)
        for value in form[key]
    )


def _expiry(fields: dict[str, object]) -> float | None:
    try:
        seconds = int(str(fields.get("expires_in") or 0))
    except ValueError:
        return None
    return time.monotonic() + seconds if seconds else None


def _root(exc: BaseException) -> str:
    """The innermost cause's text: an errno or an OpenSSL reason, without the URL around it."""
    root = list(causes(exc))[-1]
    return f"{type(root).__name__}: {root}"
