"""A minimal OpenID provider for web identity cases: discovery document, JWKS and signed tokens.

A storage server configured with `config_url` fetches the discovery document and the key set
from here; a case hands a pod-side SDK a token from `token()`, which the server verifies with
that key set before its STS issues credentials (AssumeRoleWithWebIdentity, spec 6.3). It serves
plain HTTP on 127.0.0.1 from a thread of the test process, and signs RS256 JWTs with a key made
for this provider only.

    with OpenIDProvider(client_id="artconf") as provider:
        env = {"CONFIG_URL": provider.config_url}          # for the server
        token = provider.token({"policy": "readwrite"})     # for the pod
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class SigningKey:
    """An RSA key with a key id: signs JWTs, and describes itself as a JWK."""

    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex[:16]
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, str]:
        numbers = self._key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _uint(numbers.n),
            "e": _uint(numbers.e),
        }

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"


class OpenIDProvider:
    """Discovery and JWKS on 127.0.0.1, from a daemon thread; `close()` stops it."""

    def __init__(self, client_id: str = "artconf") -> None:
        self.client_id = client_id
        self.key = SigningKey()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                documents = {DISCOVERY_PATH: provider.discovery(), JWKS_PATH: provider.jwks()}
                body = documents.get(self.path.split("?", 1)[0])
                if body is None:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the server's requests are not the case's output

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="artconf-openid", daemon=True
        )
        self._thread.start()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def config_url(self) -> str:
        return self.issuer + DISCOVERY_PATH

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": self.issuer + JWKS_PATH,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.jwk()]}

    def token(
        self,
        claims: dict[str, Any] | None = None,
        *,
        lifetime: float = 3600,
        key: SigningKey | None = None,
    ) -> str:
        """An ID token for `client_id` with `claims` added, valid for `lifetime` seconds, signed
        with this provider's key (or `key`: a key the provider never published)."""
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "sub": "system:serviceaccount:argo:artconf",
            "aud": self.client_id,
            "iat": now,
            "exp": now + int(lifetime),
            **(claims or {}),
        }
        return (key or self.key).sign(body)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpenIDProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
