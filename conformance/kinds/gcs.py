"""The GCS kind (Argo's `gcs` location): fake-gcs-server or any GCS JSON API, through
google-cloud-storage.

Argo has no field for a GCS endpoint or CA: both come from the pod's environment, here the
`DriverContext` (`gcs_endpoint`, `ca_bundle`). The service-account key is a fresh throwaway
one: no server here verifies it (see the profiles).
"""

from __future__ import annotations

import contextlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from google.api_core.client_options import ClientOptions
from google.api_core.exceptions import Conflict, NotFound
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from conformance.kinds.base import Admin, Kind, Location, capabilities
from emulators.endpoint import Endpoint

SECRET = "artconf-gcs"


def client(endpoint: Endpoint, verify: str | bool | None = None) -> storage.Client:
    session = requests.Session()
    session.trust_env = False  # otherwise REQUESTS_CA_BUNDLE silently overrides `verify`
    session.verify = endpoint.ca_bundle if verify is None else verify
    return storage.Client(
        project="artconf",
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=endpoint.url),
        _http=session,
    )


class GCSAdmin(Admin):
    def __init__(self, endpoint: Endpoint):
        super().__init__(endpoint)
        self.client = client(endpoint)

    def create_container(self, name: str) -> None:
        self.client.create_bucket(name)

    def delete_container(self, name: str) -> None:
        # Bucket.delete(force=True) refuses more than 256 objects: remove them first, in parallel.
        bucket = self.client.bucket(name)
        try:
            names = [b.name for b in self.client.list_blobs(name)]
        except NotFound:
            return

        def remove(blob: str) -> None:
            with contextlib.suppress(NotFound):
                bucket.delete_blob(blob, retry=None)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(remove, names))
        with contextlib.suppress(NotFound, Conflict):
            bucket.delete(force=True)

    def container_exists(self, name: str) -> bool:
        return self.client.lookup_bucket(name) is not None

    def put(self, container: str, key: str, data: bytes = b"") -> None:
        self.client.bucket(container).blob(key).upload_from_string(data, retry=None)

    def get(self, container: str, key: str) -> bytes | None:
        try:
            return self.client.bucket(container).blob(key).download_as_bytes(retry=None)
        except NotFound:
            return None

    def keys(self, container: str, prefix: str = "") -> list[str]:
        return sorted(b.name for b in self.client.list_blobs(container, prefix=prefix or None))

    def delete(self, container: str, key: str) -> None:
        with contextlib.suppress(NotFound):
            self.client.bucket(container).delete_blob(key, retry=None)

    def part_count(self, container: str, key: str) -> int | None:
        return None  # the JSON API keeps no trace of how an object was uploaded


class GCS(Kind):
    name = "gcs"
    container_field = "bucket"
    credential_keys = ("serviceAccountKey",)
    sdk_packages = ("google-cloud-storage",)
    # IsDirectory is NOT_IMPLEMENTED and Delete removes one object only, so GC leaves a
    # directory output in place (spec 1.3, 7.3).
    argo_capabilities = capabilities(
        """load load_directory save save_directory save_stream open_stream delete
        list_objects gc_file archive_tar archive_zip archive_none key_format tls_custom_ca
        auth_service_account_key auth_sdk_chain auth_rejects_bad_credentials
        multipart_upload""",
        where="kinds.gcs",
    )

    def location(self, endpoint: Endpoint, container: str, key: str = "") -> Location:
        fields = {
            "bucket": container,
            "key": key,
            "serviceAccountKeySecret": {"name": SECRET, "key": "serviceAccountKey"},
        }
        secrets = {SECRET: {"serviceAccountKey": json.dumps(throwaway_service_account())}}
        context: dict[str, Any] = {"gcs_endpoint": endpoint.url}
        if endpoint.tls:  # no Argo field for a CA: the pod's trust store
            context["ca_bundle"] = endpoint.ca_bundle
        return Location(self.type, self.key_field, fields, secrets, context)

    def admin(self, endpoint: Endpoint) -> GCSAdmin:
        return GCSAdmin(endpoint)

    def wrong_secrets(self, location: Location) -> dict[str, dict[str, str]]:
        """A key Google never issued."""
        secrets = {name: dict(keys) for name, keys in location.secrets.items()}
        secrets[SECRET]["serviceAccountKey"] = json.dumps(throwaway_service_account())
        return secrets

    def tls_on_plain(self, location: Location) -> Location:
        endpoint = location.context.get("gcs_endpoint") or ""
        return location.with_context(gcs_endpoint=endpoint.replace("http://", "https://", 1))

    def sdk_chain(
        self, location: Location, endpoint: Endpoint, source: str, tmp: Path, env: Any
    ) -> Location:
        """Application Default Credentials: a key file named by GOOGLE_APPLICATION_CREDENTIALS
        ("env"), or gcloud's application_default_credentials.json ("file")."""
        key = json.dumps(throwaway_service_account())
        if source == "env":
            env.setenv("CLOUDSDK_CONFIG", str(tmp / "no-gcloud"))
            adc = tmp / "adc.json"
            adc.write_text(key)
            env.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
        else:
            config = tmp / "gcloud"
            config.mkdir(exist_ok=True)
            (config / "application_default_credentials.json").write_text(key)
            env.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
            env.setenv("CLOUDSDK_CONFIG", str(config))
        return location.replace(serviceAccountKeySecret=None)


def throwaway_service_account() -> dict[str, str]:
    """A service-account key JSON with a fresh RSA key.

    No server here verifies GCS credentials, so this only exercises the client's signing path;
    a pass with it proves nothing about authentication (see the profiles).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "artconf",
        "private_key_id": "artconf-test-key",
        "private_key": pem,
        "client_email": "artconf@artconf.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


KIND = GCS()
