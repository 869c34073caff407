"""The HTTP kind (Argo's `http` location): any server answering GET and PUT of a URL, here
nginx with WebDAV (`emulators/nginx.py`), checked through requests.

A container is a directory of the server's tree and a key the URL path under it:
`<server>/dav/<container>/<key>`. The server's other locations reach the same tree, so a case
switches the auth scheme (`/oauth/`, bearer), the required header (`/headers/`) or the
redirect (`/redirect/`, 307 to `/open/`) by changing the URL's first segment only, and the
admin (`/dav/` to write, `/list/` to list, as the writer) sees whatever any of them stored.
On `nginx-mtls` the handshake also needs the client certificate, which the location carries
in `auth.clientCert`.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from conformance.kinds.base import Admin, Kind, Location, Unrepresentable, capabilities
from emulators import nginx, oauth_server
from emulators.endpoint import Endpoint

SECRET = "artconf-http"
#: What a URL path keeps unescaped: what Go's url.URL.EscapedPath leaves as it is.
_PATH_SAFE = "/!$&'()*+,;=:@~"


@dataclass(frozen=True)
class UrlKeys:
    """Places a key as the path of a URL: `<origin><prefix><container>/<key>`."""

    origin: str  # scheme://host:port
    prefix: str  # a location of the server: "/dav/", "/oauth/", ...
    container: str

    def __call__(self, key: str) -> dict[str, Any]:
        return {"url": self.url(key)}

    def url(self, key: str) -> str:
        segments = key.split("/")
        if {".", ".."} & set(segments) or "" in segments[:-1]:  # a last "": a directory's URL
            raise Unrepresentable(
                f"an HTTP server resolves '.', '..' and empty segments of a URL path "
                f"(RFC 3986 5.2.4), so the key {key!r} is not kept as it is"
            )
        return f"{self.origin}{self.prefix}{self.container}/{urllib.parse.quote(key, _PATH_SAFE)}"


def object_key(url_path: str) -> str:
    """`/<location>/<container>/<key>` -> `<key>`: the admin's name of an URL's object."""
    return "/".join(url_path.split("/")[3:])


def url_keys(location: Location) -> UrlKeys:
    assert isinstance(location.placed, UrlKeys), "an HTTP location places its keys in its URL"
    return location.placed


def client_files(endpoint: Endpoint) -> tuple[str, str]:
    """The session's client certificate and key files (beside its CA: `emulators/tls.py`)."""
    folder = Path(endpoint.ca_bundle or "").parent
    return str(folder / "client.pem"), str(folder / "client.key")


def _mtls(endpoint: Endpoint) -> bool:
    return "client_cert" in endpoint.credentials


class HTTPAdmin(Admin):
    """The server's tree as its writer sees it: WebDAV PUT/DELETE/MKCOL, JSON listings."""

    def __init__(self, endpoint: Endpoint):
        super().__init__(endpoint)
        creds = endpoint.credentials
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = endpoint.ca_bundle or True
        self.session.auth = (creds["user"], creds["password"])
        if _mtls(endpoint):
            self.session.cert = client_files(endpoint)

    def _url(self, where: str, container: str, key: str = "") -> str:
        return UrlKeys(self.endpoint.url, where, container).url(key)

    def _ok(self, response: requests.Response, *allowed: int) -> requests.Response:
        if response.status_code not in allowed:
            status = f"{response.status_code} {response.reason}"
            raise RuntimeError(f"{response.request.method} {response.url}: {status}")
        return response

    def create_container(self, name: str) -> None:
        self._ok(self.session.request("MKCOL", self._url("/dav/", name)), 201)

    def delete_container(self, name: str) -> None:
        self._ok(self.session.delete(self._url("/dav/", name)), 204, 404)

    def container_exists(self, name: str) -> bool:
        return self._ok(self.session.get(self._url("/list/", name)), 200, 404).status_code == 200

    def put(self, container: str, key: str, data: bytes = b"") -> None:
        response = self.session.put(self._url("/dav/", container, key), data=data)
        if response.status_code == 409:  # the key, or a parent of it, is the other kind
            raise Unrepresentable(
                f"on the server's file tree {key!r} cannot be a file beside a directory of "
                "the same name"
            )
        self._ok(response, 201, 204)

    def get(self, container: str, key: str) -> bytes | None:
        response = self._ok(self.session.get(self._url("/dav/", container, key)), 200, 404)
        return response.content if response.status_code == 200 else None

    def keys(self, container: str, prefix: str = "") -> list[str]:
        found: list[str] = []
        pending = [""]
        while pending:
            folder = pending.pop()
            response = self.session.get(self._url("/list/", container, folder))
            if response.status_code == 404:
                continue
            for entry in json.loads(self._ok(response, 200).content):
                name = folder + entry["name"]
                if entry["type"] == "directory":
                    pending.append(name + "/")
                else:
                    found.append(name)
        return sorted(k for k in found if k.startswith(prefix))

    def delete(self, container: str, key: str) -> None:
        self._ok(self.session.delete(self._url("/dav/", container, key)), 204, 404)


class UrlKind(Kind):
    """What the URL-addressed kinds share: a container is a directory of the server's tree,
    a key the URL path under it, the writer's basic-auth Secret under `secret`."""

    credential_keys = ("username", "password")
    sdk_packages = ("requests",)
    secret: str = ""  # the Secret's name in the location

    def basic(self, endpoint: Endpoint) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
        """The two basic-auth selectors, and the Secret they read (the server's writer)."""
        creds = endpoint.credentials
        selectors = {
            "usernameSecret": {"name": self.secret, "key": "username"},
            "passwordSecret": {"name": self.secret, "key": "password"},
        }
        return selectors, {self.secret: {"username": creds["user"], "password": creds["password"]}}

    def located(
        self, endpoint: Endpoint, container: str, key: str, fields: dict, secrets: dict
    ) -> Location:
        """The location of `key` in `container`, trusting the server through the pod's store
        (there is no Argo field for a CA)."""
        context: dict[str, Any] = {"ca_bundle": endpoint.ca_bundle} if endpoint.tls else {}
        keys = UrlKeys(endpoint.url, "/dav/", container)
        return Location(self.type, self.key_field, fields, secrets, context, keys).with_key(key)

    def admin(self, endpoint: Endpoint) -> HTTPAdmin:
        return HTTPAdmin(endpoint)

    def in_container(self, location: Location, container: str) -> Location:
        return location.placing(dataclasses.replace(url_keys(location), container=container))

    def object_key(self, artifact: Any) -> str:
        return object_key(artifact.get_key())

    def as_reader(self, location: Location, endpoint: Endpoint) -> Location:
        """`location` with the server's read-only user's credentials."""
        secrets = {name: dict(keys) for name, keys in location.secrets.items()}
        creds = endpoint.credentials
        secrets[self.secret] |= {"username": creds["reader"], "password": creds["reader_password"]}
        return location.with_secrets(secrets)

    def wrong_secrets(self, location: Location) -> dict[str, dict[str, str]]:
        secrets = {name: dict(keys) for name, keys in location.secrets.items()}
        secrets[self.secret]["password"] = "not-" + secrets[self.secret]["password"]
        return secrets

    def tls_on_plain(self, location: Location) -> Location:
        keys = url_keys(location)
        origin = keys.origin.replace("http://", "https://", 1)
        return location.placing(dataclasses.replace(keys, origin=origin))

    def at(self, location: Location, prefix: str) -> Location:
        """`location` reaching the same tree through another location of the server."""
        return location.placing(dataclasses.replace(url_keys(location), prefix=prefix))

    def redirected(self, location: Location) -> Location:
        """`location` through `/redirect/`: every request is answered 307 to `/open/`, which
        takes anyone."""
        return self.at(location, "/redirect/")


class HTTP(UrlKind):
    name = "http"
    secret = SECRET
    # No Delete, ListObjects or IsDirectory, so no GC and no directories; a single body per
    # URL (spec 1.3 HTTP row, 2.5). Refusals come back as ERR_INTERNAL (a deviation).
    argo_capabilities = capabilities(
        """load save save_stream open_stream archive_tar archive_zip archive_none
        tls_custom_ca tls_plain_http auth_rejects_bad_credentials auth_basic auth_oauth2
        auth_client_cert request_headers redirect_resend save_stream_via_file
        refuses_unsupported""",
        where="kinds.http",
    )

    def location(self, endpoint: Endpoint, container: str, key: str = "") -> Location:
        basic, secrets = self.basic(endpoint)
        auth: dict[str, Any] = {"basicAuth": basic}
        if _mtls(endpoint):
            creds = endpoint.credentials
            auth["clientCert"] = {
                "clientCertSecret": {"name": SECRET, "key": "clientCert"},
                "clientKeySecret": {"name": SECRET, "key": "clientKey"},
            }
            secrets[SECRET] |= {
                "clientCert": creds["client_cert"],
                "clientKey": creds["client_key"],
            }
        return self.located(endpoint, container, key, {"auth": auth}, secrets)

    def repository(self, location: Location, key_format: str) -> dict[str, Any]:
        raise self._lacks("repository: Argo's HTTP location is never an artifact repository")

    def with_headers(self, location: Location) -> Location:
        """`location` where the server requires a header, configured to send it."""
        headers = [{"name": nginx.CHECK_HEADER, "value": nginx.CHECK_VALUE}]
        return self.at(location, "/headers/").replace(headers=headers)

    def with_oauth2(self, location: Location, endpoint: Endpoint) -> Location:
        """`location` authenticated by an OAuth2 client-credentials token, asked with the
        scopes and the `audience` endpoint parameter the token server requires."""
        creds = endpoint.credentials
        auth = {
            "oauth2": {
                "clientIDSecret": {"name": SECRET, "key": "clientID"},
                "clientSecretSecret": {"name": SECRET, "key": "clientSecret"},
                "tokenURLSecret": {"name": SECRET, "key": "tokenURL"},
                "scopes": [oauth_server.READ_SCOPE, oauth_server.WRITE_SCOPE],
                "endpointParams": [{"key": "audience", "value": oauth_server.AUDIENCE}],
            }
        }
        secrets = {name: dict(keys) for name, keys in location.secrets.items()}
        secrets[SECRET] |= {
            "clientID": creds["client_id"],
            "clientSecret": creds["client_secret"],
            "tokenURL": creds["token_url"],
        }
        return self.at(location, "/oauth/").replace(auth=auth).with_secrets(secrets)

    def without_auth(self, location: Location, *, keep_client_cert: bool = True) -> Location:
        """`location` with no credentials at all (the client certificate kept if asked)."""
        auth = location.fields.get("auth") or {}
        kept = (
            {"clientCert": auth["clientCert"]}
            if keep_client_cert and "clientCert" in auth
            else None
        )
        return location.replace(auth=kept)

    def redirected(self, location: Location) -> Location:
        return self.without_auth(super().redirected(location))

    def via_file(self, location: Location) -> Location:
        """`location` with `saveStreamViaFile: true`."""
        return location.replace(saveStreamViaFile=True)


KIND = HTTP()
