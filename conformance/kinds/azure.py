"""The Azure Blob kind (Argo's `azure` location): Azurite or any Blob service, through
azure-storage-blob.

Argo has no field for a CA: the pod's trust store (`DriverContext.ca_bundle`) carries the
kit's CA. The account key may be swapped for a SAS token in the same secret (spec 2.3).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import os
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from conformance.kinds.base import Admin, Kind, Location, capabilities
from emulators.endpoint import Endpoint

SECRET = "artconf-azure"
SAS_SECRET = "artconf-azure-sas"


def client(endpoint: Endpoint, verify: str | bool | None = None) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(
        endpoint.credentials["connection_string"],
        connection_verify=endpoint.ca_bundle if verify is None else verify,
        retry_total=0,
    )


class AzureAdmin(Admin):
    def __init__(self, endpoint: Endpoint):
        super().__init__(endpoint)
        self.client = client(endpoint)

    def create_container(self, name: str) -> None:
        self.client.create_container(name)

    def delete_container(self, name: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self.client.delete_container(name)

    def container_exists(self, name: str) -> bool:
        return self.client.get_container_client(name).exists()

    def put(self, container: str, key: str, data: bytes = b"") -> None:
        self.client.get_container_client(container).upload_blob(key, data, overwrite=True)

    def get(self, container: str, key: str) -> bytes | None:
        try:
            return self.client.get_container_client(container).download_blob(key).readall()
        except ResourceNotFoundError:
            return None

    def keys(self, container: str, prefix: str = "") -> list[str]:
        blobs = self.client.get_container_client(container).list_blobs(
            name_starts_with=prefix or None
        )
        return sorted(b.name for b in blobs)

    def delete(self, container: str, key: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self.client.get_container_client(container).delete_blob(key)

    def part_count(self, container: str, key: str) -> int | None:
        """Committed blocks; a blob written in one Put Blob has none, which counts as one."""
        blob = self.client.get_container_client(container).get_blob_client(key)
        committed, _ = blob.get_block_list("committed")
        return max(len(committed), 1)


class Azure(Kind):
    name = "azure"
    container_field = "container"
    credential_keys = ("accountKey",)
    sdk_packages = ("azure-storage-blob",)
    argo_capabilities = capabilities(
        """load load_directory save save_directory save_stream open_stream delete
        delete_directory list_objects is_directory gc_file gc_directory archive_tar
        archive_zip archive_none key_format tls_custom_ca tls_plain_http auth_static_keys auth_sas
        auth_sdk_chain auth_rejects_bad_credentials multipart_upload""",
        where="kinds.azure",
    )

    def location(self, endpoint: Endpoint, container: str, key: str = "") -> Location:
        account = endpoint.credentials["account_name"]
        fields = {
            "endpoint": f"{endpoint.url}/{account}",
            "container": container,
            "blob": key,
            "accountKeySecret": {"name": SECRET, "key": "accountKey"},
        }
        secrets = {SECRET: {"accountKey": endpoint.credentials["account_key"]}}
        context = {"ca_bundle": endpoint.ca_bundle} if endpoint.tls else {}
        return Location(self.type, self.key_field, fields, secrets, context)

    def admin(self, endpoint: Endpoint) -> AzureAdmin:
        return AzureAdmin(endpoint)

    def wrong_secrets(self, location: Location) -> dict[str, dict[str, str]]:
        """A well-formed account key that is not the account's."""
        secrets = {name: dict(keys) for name, keys in location.secrets.items()}
        secrets[SECRET]["accountKey"] = base64.b64encode(os.urandom(64)).decode()
        return secrets

    def tls_on_plain(self, location: Location) -> Location:
        endpoint = location.fields["endpoint"].replace("http://", "https://", 1)
        # No SDK retries either: what is checked is the failure, at once.
        settings = {**location.context.get("settings", {}), "ARTIFACT_AZURE_RETRY_TOTAL": "0"}
        return location.replace(endpoint=endpoint).with_context(settings=settings)

    def sdk_chain(
        self, location: Location, endpoint: Endpoint, source: str, tmp: Path, env: Any
    ) -> Location:
        """DefaultAzureCredential; nothing here can issue an Entra ID token (a profile gap)."""
        return location.replace(accountKeySecret=None, useSDKCreds=True)

    def sas_token(
        self, endpoint: Endpoint, container: str, *, write: bool, expires_in_seconds: float
    ) -> str:
        creds = endpoint.credentials
        now = dt.datetime.now(dt.UTC)
        return generate_container_sas(
            account_name=creds["account_name"],
            container_name=container,
            account_key=creds["account_key"],
            permission=ContainerSasPermissions(read=True, list=True, write=write, create=write),
            start=now - dt.timedelta(minutes=5),
            expiry=now + dt.timedelta(seconds=expires_in_seconds),
        )

    def with_sas(
        self, location: Location, endpoint: Endpoint, *, write: bool, expires_in_seconds: float
    ) -> Location:
        """The token in `accountKeySecret` (spec 2.3), and no account key anywhere in the
        secrets: only the token can authenticate."""
        container = location.fields[self.container_field]
        token = self.sas_token(
            endpoint, container, write=write, expires_in_seconds=expires_in_seconds
        )
        return location.replace(accountKeySecret={"name": SAS_SECRET, "key": "sas"}).with_secrets(
            {SAS_SECRET: {"sas": token}}
        )

    def multipart(self, location: Location, size: int) -> tuple[Location, int | None]:
        """Argo leaves the block size to the SDK (spec 6.6): any block list of more than one."""
        return location, None


KIND = Azure()
