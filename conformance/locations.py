"""Argo artifact locations pointing at a running server, with the secrets they reference.

This is how the kit turns an `Endpoint` into what a Workflow author would write: a location
YAML fragment, Secrets laid out as Argo mounts them, and the pod-side `DriverContext` settings
(trust store, GCS endpoint) that Argo takes from the environment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulators.endpoint import Endpoint
from emulators.fake_gcs import throwaway_service_account

S3_SECRET = "artconf-s3"
AZURE_SECRET = "artconf-azure"
GCS_SECRET = "artconf-gcs"

DRIVER_OF_SERVER = {"minio": "s3", "moto": "s3", "fake-gcs": "gcs", "azurite": "azure"}


@dataclass
class Location:
    """One artifact location on a server: Argo YAML, its Secrets, and the context settings."""

    driver: str
    fields: dict[str, Any]
    secrets: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)  # values
    context: dict[str, Any] = field(default_factory=dict)

    def artifact(self, name: str = "artifact", **extra: Any) -> dict[str, Any]:
        """An Argo artifact dict (as in a Workflow's YAML) with this location."""
        return {"name": name, self.driver: dict(self.fields), **extra}

    def with_key(self, key: str) -> Location:
        key_field = "blob" if self.driver == "azure" else "key"
        return Location(self.driver, {**self.fields, key_field: key}, self.secrets, self.context)


def location_for(endpoint: Endpoint, bucket: str, key: str = "") -> Location:
    """The location of `key` in `bucket` on `endpoint` (TLS trust through Argo's own means)."""
    driver = DRIVER_OF_SERVER[endpoint.server]
    if driver == "s3":
        fields: dict[str, Any] = {
            "endpoint": f"{endpoint.host}:{endpoint.port}",
            "bucket": bucket,
            "key": key,
            "accessKeySecret": {"name": S3_SECRET, "key": "accessKey"},
            "secretKeySecret": {"name": S3_SECRET, "key": "secretKey"},
        }
        secrets = {
            S3_SECRET: {
                "accessKey": endpoint.credentials["access_key"],
                "secretKey": endpoint.credentials["secret_key"],
            }
        }
        if endpoint.tls:  # Argo's own field: caSecret replaces the trust roots
            fields["caSecret"] = {"name": S3_SECRET, "key": "ca.crt"}
            secrets[S3_SECRET]["ca.crt"] = Path(endpoint.ca_bundle or "").read_text()
        else:
            fields["insecure"] = True
        return Location(driver, fields, secrets)
    if driver == "gcs":
        fields = {
            "bucket": bucket,
            "key": key,
            "serviceAccountKeySecret": {"name": GCS_SECRET, "key": "serviceAccountKey"},
        }
        secrets = {GCS_SECRET: {"serviceAccountKey": json.dumps(throwaway_service_account())}}
        return Location(driver, fields, secrets, _trust(endpoint, gcs_endpoint=endpoint.url))
    if driver == "azure":
        account = endpoint.credentials["account_name"]
        fields = {
            "endpoint": f"{endpoint.url}/{account}",
            "container": bucket,
            "blob": key,
            "accountKeySecret": {"name": AZURE_SECRET, "key": "accountKey"},
        }
        secrets = {AZURE_SECRET: {"accountKey": endpoint.credentials["account_key"]}}
        return Location(driver, fields, secrets, _trust(endpoint))
    raise ValueError(f"no location for server {endpoint.server!r}")


def _trust(endpoint: Endpoint, **extra: Any) -> dict[str, Any]:
    # GCS and Azure have no Argo field for a CA: the pod's trust store is the context's.
    return {**({"ca_bundle": endpoint.ca_bundle} if endpoint.tls else {}), **extra}
