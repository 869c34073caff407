"""The Artifactory kind (Argo's `artifactory` location): Argo's HTTP driver with basic auth
always, no headers, no other auth; here against the same nginx tree as the `http` kind.

A repository is `repoURL` + `/` + `keyFormat` (spec 2.6); the URL path is the key.
"""

from __future__ import annotations

from typing import Any

from conformance.kinds.base import Location, capabilities
from conformance.kinds.http import UrlKind, url_keys
from emulators.endpoint import Endpoint

SECRET = "artconf-artifactory"


class Artifactory(UrlKind):
    name = "artifactory"
    secret = SECRET
    # The HTTP driver with Artifactory's fields: no headers, OAuth2, client certificates or
    # saveStreamViaFile (spec 1.2, 1.3 Artifactory row, 2.6).
    argo_capabilities = capabilities(
        """load save save_stream open_stream archive_tar archive_zip archive_none
        key_format tls_custom_ca tls_plain_http auth_rejects_bad_credentials auth_basic
        redirect_resend refuses_unsupported""",
        where="kinds.artifactory",
    )

    def location(self, endpoint: Endpoint, container: str, key: str = "") -> Location:
        basic, secrets = self.basic(endpoint)  # top-level fields in Artifactory's location
        return self.located(endpoint, container, key, basic, secrets)

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


KIND = Artifactory()
