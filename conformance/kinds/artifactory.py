"""The Artifactory kind (Argo's `artifactory` location): Argo's HTTP driver with basic auth
always, no headers, no other auth; here against the same nginx tree as the `http` kind.

A repository is `repoURL` + `/` + `keyFormat` (spec 2.6); the URL path is the key.
"""

from __future__ import annotations

from typing import Any

from conformance.kinds.base import Kind, Location, capabilities
from conformance.kinds.http import HTTPAdmin, UrlKeys, object_key, url_keys
from emulators.endpoint import Endpoint

SECRET = "artconf-artifactory"


class Artifactory(Kind):
    name = "artifactory"
    credential_keys = ("username", "password")
    sdk_packages = ("requests",)
    # The HTTP driver with Artifactory's fields: no headers, OAuth2, client certificates or
    # saveStreamViaFile (spec 1.2, 1.3 Artifactory row, 2.6).
    argo_capabilities = capabilities(
        """load save save_stream open_stream archive_tar archive_zip archive_none
        key_format tls_custom_ca tls_plain_http auth_rejects_bad_credentials auth_basic
        redirect_resend refuses_unsupported""",
        where="kinds.artifactory",
    )

    def location(self, endpoint: Endpoint, container: str, key: str = "") -> Location:
        creds = endpoint.credentials
        fields = {
            "usernameSecret": {"name": SECRET, "key": "username"},
            "passwordSecret": {"name": SECRET, "key": "password"},
        }
        secrets = {SECRET: {"username": creds["user"], "password": creds["password"]}}
        context: dict[str, Any] = {"ca_bundle": endpoint.ca_bundle} if endpoint.tls else {}
        keys = UrlKeys(endpoint.url, "/dav/", container)
        return Location(self.type, self.key_field, fields, secrets, context, keys).with_key(key)

    def admin(self, endpoint: Endpoint) -> HTTPAdmin:
        return HTTPAdmin(endpoint)

    def in_container(self, location: Location, container: str) -> Location:
        keys = url_keys(location)
        return location.placing(UrlKeys(keys.origin, keys.prefix, container))

    def object_key(self, artifact: Any) -> str:
        return object_key(artifact.get_key())

    def repository(self, location: Location, key_format: str) -> dict[str, Any]:
        fields = {k: v for k, v in location.fields.items() if k != self.key_field}
        return {
            self.type: {**fields, "repoURL": url_keys(location).url(""), "keyFormat": key_format}
        }

    def key_only(self, key: str, location: Location | None = None) -> dict[str, Any]:
        """The key Argo records for Artifactory is the whole URL path, the repository's
        included: `/dav/<container>/<key>`."""
        keys = url_keys(location) if location is not None else None
        path = f"{keys.prefix}{keys.container}/{key}" if keys else "/" + key.lstrip("/")
        return {self.type: {"url": path}}

    def as_reader(self, location: Location, endpoint: Endpoint) -> Location:
        """`location` with the server's read-only user's credentials."""
        secrets = {name: dict(keys) for name, keys in location.secrets.items()}
        creds = endpoint.credentials
        secrets[SECRET] |= {"username": creds["reader"], "password": creds["reader_password"]}
        return location.with_secrets(secrets)

    def wrong_secrets(self, location: Location) -> dict[str, dict[str, str]]:
        secrets = {name: dict(keys) for name, keys in location.secrets.items()}
        secrets[SECRET]["password"] = "not-" + secrets[SECRET]["password"]
        return secrets

    def tls_on_plain(self, location: Location) -> Location:
        keys = url_keys(location)
        origin = keys.origin.replace("http://", "https://", 1)
        return location.placing(UrlKeys(origin, keys.prefix, keys.container))

    def redirected(self, location: Location) -> Location:
        """`location` through `/redirect/` (307 to `/open/`, which takes anyone)."""
        keys = url_keys(location)
        return location.placing(UrlKeys(keys.origin, "/redirect/", keys.container))


KIND = Artifactory()
