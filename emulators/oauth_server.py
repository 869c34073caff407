"""An OAuth2 client-credentials token server on Authlib, the bearer check nginx consults.

Two endpoints, served on a loopback port that nginx proxies (`emulators/nginx.py`):

- `POST /token`: Authlib's `ClientCredentialsGrant` (RFC 6749 §4.4). The client authenticates
  with HTTP Basic or with `client_id`/`client_secret` in the form, as golang.org/x/oauth2 tries
  them in that order. The request must carry the endpoint parameter `audience=<AUDIENCE>`, so a
  driver dropping Argo's `endpointParams` gets no token; the token's scope is what was asked.
- `GET /check`: nginx's `auth_request` target. The bearer token of the original request must
  be one this server issued, unexpired, with the read scope for GET/HEAD and the write scope
  for anything else (`X-Original-Method`): 204 if so, else Authlib's 401/403.

Clients and tokens live in memory; the one client comes from `ARTCONF_OAUTH_CLIENT`
(`id:secret`), so its secret is never on a command line.
"""

from __future__ import annotations

import hmac
import os
import time
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import Flask, request

AUDIENCE = "artifact-conformance"
READ_SCOPE = "artifacts:read"
WRITE_SCOPE = "artifacts:write"
CLIENT_ENV = "ARTCONF_OAUTH_CLIENT"
TOKEN_SECONDS = 3600


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    scopes: frozenset[str] = frozenset({READ_SCOPE, WRITE_SCOPE})

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in (scope or "").split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == ClientCredentialsGrant.GRANT_TYPE


@dataclass
class Token(TokenMixin):
    client: Client
    scope: str
    issued: float = field(default_factory=time.time)

    def check_client(self, client: ClientMixin) -> bool:
        return client.get_client_id() == self.client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return TOKEN_SECONDS

    def is_expired(self) -> bool:
        return time.time() > self.issued + TOKEN_SECONDS

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> None:
        return None

    def get_client(self) -> Client:
        return self.client


class AudienceGrant(ClientCredentialsGrant):
    """Client credentials, refused unless the request names this server's audience."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        if self.request.payload.data.get("audience") != AUDIENCE:
            raise InvalidRequestError(f"the endpoint parameter audience={AUDIENCE} is required")


def create_app(client: Client) -> Flask:
    app = Flask("artconf-oauth")
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {ClientCredentialsGrant.GRANT_TYPE: TOKEN_SECONDS}
    tokens: dict[str, Token] = {}

    def query_client(client_id: str) -> Client | None:
        return client if client_id == client.client_id else None

    def save_token(token: dict, req) -> None:
        tokens[token["access_token"]] = Token(req.client, token.get("scope", ""))

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(AudienceGrant)

    class Validator(BearerTokenValidator):
        def authenticate_token(self, token_string: str) -> Token | None:
            return tokens.get(token_string)

    protector = ResourceProtector()
    protector.register_token_validator(Validator())

    @app.post("/token")
    def issue_token():
        return server.create_token_response()

    @app.get("/check")
    def check():
        method = request.headers.get("X-Original-Method", "GET")
        scope = READ_SCOPE if method in ("GET", "HEAD") else WRITE_SCOPE
        with protector.acquire(scope):
            return "", 204

    return app


def client_from_env() -> Client:
    value = os.environ.get(CLIENT_ENV, "")
    client_id, sep, secret = value.partition(":")
    if not (client_id and sep and secret):
        raise SystemExit(f"{CLIENT_ENV} must be set to <client id>:<client secret>")
    return Client(client_id, secret)
