"""Azurite's blob service, installed from npm with the committed lockfile.

Checks shared-key and SAS signatures. Started with a per-session account and key
(`AZURITE_ACCOUNTS`), so the well-known development key never authenticates here.
"""

from __future__ import annotations

import base64
import secrets

from emulators import tools
from emulators.launcher import Command
from emulators.server import Instance, Server, probe_get

ACCOUNT = "artconf"


class Azurite(Server):
    kind = "azurite"
    tool = "azurite"
    profile = "azurite"

    def credentials(self) -> dict[str, str]:
        key = base64.b64encode(secrets.token_bytes(64)).decode()
        return {"account_name": ACCOUNT, "account_key": key}

    def command(self, instance: Instance, port: int) -> Command:
        argv = [
            str(tools.binary("azurite")),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--loose",
            "--skipApiVersionCheck",
            "--disableTelemetry",
        ]
        if instance.on_disk:  # benchmarks: blobs on disk, so memory measures only the client
            argv += ["--location", str(instance.workdir)]
        else:
            argv += ["--inMemoryPersistence", "--extentMemoryLimit", "512"]
        if instance.tls:
            argv += ["--cert", str(instance.tls.server_cert), "--key", str(instance.tls.server_key)]
        creds = instance.credentials
        env = {"AZURITE_ACCOUNTS": f"{creds['account_name']}:{creds['account_key']}"}
        return Command(argv, env, cwd=instance.workdir)

    def probe(self, instance: Instance, port: int) -> bool:
        response = probe_get(instance, port, f"/{ACCOUNT}?comp=list")
        return response.status_code < 500 and response.headers.get("Server", "").startswith(
            "Azurite-Blob"
        )

    def endpoint(self, instance: Instance, port: int):
        endpoint = super().endpoint(instance, port)
        creds = instance.credentials
        blob_url = f"{instance.url(port)}/{creds['account_name']}"
        endpoint.credentials["connection_string"] = (
            f"DefaultEndpointsProtocol={instance.scheme};AccountName={creds['account_name']};"
            f"AccountKey={creds['account_key']};BlobEndpoint={blob_url};"
        )
        return endpoint

    def version(self) -> str:
        return tools.version("azurite")
