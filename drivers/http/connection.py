"""How the HTTP and Artifactory driver reaches a URL: credentials, trust, proxies, the client.

What Argo's factory builds (``workflow/artifacts/artifacts.go``), read at construction:

* HTTP: basic auth from ``auth.basicAuth`` (each secret read if set, used only when both values
  are non-empty); OAuth2 client credentials when all three ``auth.oauth2`` selectors are set;
  a client certificate when both ``auth.clientCert`` selectors are set, which REPLACES the
  OAuth2 client (no bearer), as Go assigns the client twice. Secrets are used verbatim.
* Artifactory: basic auth always, from both required secrets; no headers, OAuth2 or certificate.

Each client is one Go ``http.Client``: requests go through a bare ``HTTPAdapter`` (no
``Session``, so no ``~/.netrc``, cookie jar, CA variables or automatic redirects), trusting
``context.ca_bundle``. Go's default and OAuth2 clients use the proxy environment; the
client-certificate transport does not, and neither proxies localhost or loopback addresses.
"""

from __future__ import annotations

import ipaddress
import os
import secrets as _secrets
import shutil
import urllib.parse
import weakref
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from requests.adapters import HTTPAdapter

from drivers.core.context import DriverContext
from drivers.core.errors import BadRequest, Internal
from drivers.core.model import Artifact, ArtifactoryArtifact, Header, HTTPArtifact, HTTPAuth
from drivers.core.secrets import SecretSource, SecretValue, read_selector
from drivers.http.headers import (
    AUTHORIZATION,
    Headers,
    basic_credentials,
    first,
    header,
    replaced,
    requests_gzip,
    wire_headers,
)
from drivers.http.oauth2 import ClientCredentials, TokenSource
from drivers.http.redirects import Body, follow

#: (connect, read) seconds; Go's dialer gives up connecting after 30 s.
TIMEOUT: tuple[float, float] = (30.0, 120.0)
NOT_CONFIGURED = "Either Artifactory or HTTP artifact needs to be configured"


@dataclass(frozen=True)
class Target:
    """Where one operation goes, and whether it goes the Artifactory way (Argo decides by the
    operation's artifact, whichever driver serves it)."""

    url: str
    headers: tuple[Header, ...]
    artifactory: bool


def target_of(artifact: Artifact) -> Target:
    if artifact.artifactory is not None and artifact.http is None:
        return Target(artifact.artifactory.url, (), True)
    if artifact.http is not None and artifact.artifactory is None:
        return Target(artifact.http.url, tuple(artifact.http.headers), False)
    raise Internal(NOT_CONFIGURED)


class Connection:
    """The credentials of one driver and the Go client every request goes through."""

    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        self.username = self.password = SecretValue("")
        self.certificate: ClientCertificate | None = None
        token: TokenSource | None = None
        self._token_client: Client | None = None
        verify = context.verify
        if artifact.http is not None:
            token = self._read_http(artifact.http, secrets, context)
        elif artifact.artifactory is not None:
            self._read_artifactory(artifact.artifactory, secrets)
        else:
            raise BadRequest(f"artifact {artifact.name!r} has no http or artifactory location")
        if self.certificate is not None:
            self.client = Client(verify, cert=self.certificate.files, proxied=False)
        else:
            self.client = Client(verify, token=token)

    # ------------------------------------------------------------------ requests

    def headers_for(self, target: Target) -> Headers:
        """The first request's headers: Argo's ``Header.Add`` of each, then ``SetBasicAuth``."""
        if target.artifactory:
            return [(AUTHORIZATION, basic_credentials(self.username, self.password))]
        headers = [header(h.name, h.value) for h in target.headers]
        if self.username and self.password:
            headers = replaced(
                headers, AUTHORIZATION, basic_credentials(self.username, self.password)
            )
        return headers

    def send(self, method: str, target: Target, body: Body | None = None) -> requests.Response:
        """The final response (unread) of ``method`` to the target, redirects followed."""
        return self.client.send(method, target.url, self.headers_for(target), body)

    def decodes(self, target: Target) -> bool:
        """Whether a response body is decoded (Go asked for gzip itself)."""
        return requests_gzip(self.headers_for(target))

    def close(self) -> None:
        self.client.close()
        if self._token_client is not None:
            self._token_client.close()
        if self.certificate is not None:
            self.certificate.remove()

    # ------------------------------------------------------------------ credentials

    def _read_http(
        self, http: HTTPArtifact, secrets: SecretSource, context: DriverContext
    ) -> TokenSource | None:
        auth = http.auth or HTTPAuth()
        field = "http.auth"
        if auth.basic_auth is not None:
            basic = auth.basic_auth
            self.username = _read(
                secrets, basic.username_secret, f"{field}.basicAuth.usernameSecret"
            )
            self.password = _read(
                secrets, basic.password_secret, f"{field}.basicAuth.passwordSecret"
            )
        token = None
        oauth2 = auth.oauth2
        if oauth2 is not None and None not in (
            oauth2.client_id_secret,
            oauth2.client_secret_secret,
            oauth2.token_url_secret,
        ):
            credentials = ClientCredentials(
                client_id=_read(secrets, oauth2.client_id_secret, f"{field}.oauth2.clientIDSecret"),
                client_secret=_read(
                    secrets, oauth2.client_secret_secret, f"{field}.oauth2.clientSecretSecret"
                ),
                token_url=_read(secrets, oauth2.token_url_secret, f"{field}.oauth2.tokenURLSecret"),
                scopes=tuple(oauth2.scopes),
                endpoint_params=tuple((p.key, p.value) for p in oauth2.endpoint_params),
            )
            # Go's http.DefaultClient fetches the token: proxies, the pod's trust, no bearer.
            self._token_client = Client(context.verify)
            token = TokenSource(credentials, self._token_client.post)
        cert = auth.client_cert
        if cert is not None and None not in (cert.client_cert_secret, cert.client_key_secret):
            pem = _read(secrets, cert.client_cert_secret, f"{field}.clientCert.clientCertSecret")
            key = _read(secrets, cert.client_key_secret, f"{field}.clientCert.clientKeySecret")
            self.certificate = ClientCertificate(
                pem.reveal_bytes(), key.reveal_bytes(), Path(context.temp_dir)
            )
            token = None  # evaluated after OAuth2 in Argo's factory: the certificate wins
        return token

    def _read_artifactory(self, artifactory: ArtifactoryArtifact, secrets: SecretSource) -> None:
        missing = [
            name
            for name, selector in (
                ("usernameSecret", artifactory.username_secret),
                ("passwordSecret", artifactory.password_secret),
            )
            if selector is None
        ]
        if missing:
            raise BadRequest(
                f"artifactory.{missing[0]}: required (Artifactory always sends basic auth from "
                "usernameSecret and passwordSecret); set both selectors"
            )
        self.username = _read(secrets, artifactory.username_secret, "artifactory.usernameSecret")
        self.password = _read(secrets, artifactory.password_secret, "artifactory.passwordSecret")


def _read(secrets: SecretSource, selector, field: str) -> SecretValue:
    """The secret's value, verbatim (Argo trims nothing for HTTP); "" when not named."""
    return read_selector(secrets, selector, field=field) or SecretValue("")


class Client:
    """One Go ``http.Client``: trust, an optional client certificate, the proxy environment or
    none, and an optional OAuth2 bearer set on every hop (as ``oauth2.Transport`` does)."""

    def __init__(
        self,
        verify: str | bool,
        *,
        cert: tuple[str, str] | None = None,
        proxied: bool = True,
        token: TokenSource | None = None,
    ):
        self.verify = verify
        self.cert = cert
        self.proxied = proxied
        self.token = token
        self.user_agent = requests.utils.default_user_agent()
        self._adapter = HTTPAdapter()  # no retries: Argo never retries HTTP

    def send(self, method: str, url: str, headers: Headers, body: Body | None):
        return follow(self._send_once, method, url, headers, body)

    def post(self, url: str, headers: Headers, form: bytes) -> requests.Response:
        return self.send("POST", url, headers, _Bytes(form))

    def close(self) -> None:
        self._adapter.close()

    def _send_once(
        self, method: str, url: str, headers: Headers, body: Body | None
    ) -> requests.Response:
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method)
        prepared.prepare_url(url, None)
        prepared.prepare_headers(None)
        hop = list(headers)
        parts = urllib.parse.urlsplit(prepared.url)
        if parts.username is not None and first(hop, AUTHORIZATION) is None:
            # Go's Client.send: credentials in the URL, unless a header says otherwise.
            user = SecretValue(urllib.parse.unquote(parts.username))
            password = SecretValue(urllib.parse.unquote(parts.password or ""))
            hop.append((AUTHORIZATION, basic_credentials(user, password)))
        if self.token is not None:
            hop = replaced(hop, AUTHORIZATION, self.token.authorization())
        prepared.prepare_body(body.open() if body is not None else None, None)
        framing = {
            name: prepared.headers[name]
            for name in ("Content-Length", "Transfer-Encoding")
            if name in prepared.headers
        }
        prepared.headers = wire_headers(hop, framing, self.user_agent)  # type: ignore[assignment]
        return self._adapter.send(
            prepared,
            stream=True,
            timeout=TIMEOUT,
            verify=self.verify,
            cert=self.cert,
            proxies=environment_proxies(url) if self.proxied else {},
        )


class _Bytes:
    """A body held in memory (the token request's form); Go can always send it again."""

    resendable = True

    def __init__(self, data: bytes):
        self.data = data

    def open(self) -> bytes:
        return self.data


def environment_proxies(url: str) -> dict[str, str]:
    """Go's ``ProxyFromEnvironment``: ``HTTP(S)_PROXY`` and ``NO_PROXY``, never a loopback host."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost" or _is_loopback(host):
        return {}
    found = requests.utils.get_environ_proxies(url)
    return {scheme: proxy for scheme, proxy in found.items() if scheme in ("http", "https")}


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ------------------------------------------------------------------ client certificate


class ClientCertificate:
    """``clientCert``'s PEM certificate and key, checked as Go's ``tls.X509KeyPair`` checks
    them, in 0600 files inside a private 0700 directory of ``temp_dir`` until :meth:`remove`."""

    def __init__(self, cert_pem: bytes, key_pem: bytes, temp_dir: Path):
        check_key_pair(cert_pem, key_pem)
        temp_dir.mkdir(parents=True, exist_ok=True)
        self.directory = temp_dir / f"artconf-http-cert-{_secrets.token_hex(8)}"
        os.mkdir(self.directory, 0o700)
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.directory, True)
        self.files = (str(self.directory / "client.pem"), str(self.directory / "client.key"))
        for path, data in zip(self.files, (cert_pem, key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)

    def remove(self) -> None:
        self._finalizer()


def check_key_pair(cert_pem: bytes, key_pem: bytes) -> None:
    """BAD_REQUEST unless ``cert_pem`` holds a certificate and ``key_pem`` its private key.

    The messages never quote the secrets (nor the parser's words about them).
    """
    field = "http.auth.clientCert"
    try:
        leaf = x509.load_pem_x509_certificates(cert_pem)[0]
    except ValueError:
        raise BadRequest(
            f"{field}.clientCertSecret: no PEM certificate could be read from the secret (tls: "
            "failed to find any PEM data in certificate input); it must hold a "
            "'-----BEGIN CERTIFICATE-----' block"
        ) from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise BadRequest(
            f"{field}.clientKeySecret: no unencrypted PEM private key could be read from the "
            "secret (tls: failed to find any PEM data in key input); it must hold a "
            "'-----BEGIN ... PRIVATE KEY-----' block without a passphrase"
        ) from None
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != leaf.public_key().public_bytes(*spki):
        raise BadRequest(
            f"{field}: the private key in clientKeySecret does not belong to the certificate in "
            "clientCertSecret (tls: private key does not match public key)"
        )
