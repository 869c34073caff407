"""The OSS stand-in (``emulators/oss_standin.py``) as a fleet server, kind ``oss``.

A stand-in, not Alibaba Cloud OSS: the kit's own small server, which checks V1 and V4
signatures and security tokens with its own code and stores objects on disk under the
instance's directory (see its module and ``emulators/profiles/oss.yaml`` for what it cannot
prove). It runs on the kit's own Python, like the Kubernetes stand-in, so nothing is installed.

Credentials are fresh per session: a permanent key pair, and a temporary STS triple (its key
id starts with ``STS.`` as OSS's do) whose token the server requires with that key.
"""

from __future__ import annotations

import json
import sys

from emulators import oss_standin
from emulators.launcher import Command
from emulators.server import Instance, Server, probe_get, random_secret


class Oss(Server):
    kind = "oss"
    tool = "kube"  # the kit's own Python: what the Kubernetes stand-in runs on too
    profile = "oss"
    start_timeout = 30.0

    def credentials(self) -> dict[str, str]:
        return {
            "access_key": "LTAIartconf" + random_secret(6),
            "secret_key": random_secret(),
            "sts_access_key": "STS.artconf" + random_secret(6),
            "sts_secret_key": random_secret(),
            "sts_token": random_secret(32),
            "nonce": "oss-" + random_secret(9),
        }

    def command(self, instance: Instance, port: int) -> Command:
        data = instance.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "emulators.oss_standin", "--port", str(port)]
        argv += ["--data", str(data)]
        if instance.tls:
            argv += ["--cert", str(instance.tls.server_cert), "--key", str(instance.tls.server_key)]
        creds = instance.credentials
        keys = {
            creds["access_key"]: {"secret": creds["secret_key"]},
            creds["sts_access_key"]: {
                "secret": creds["sts_secret_key"],
                "token": creds["sts_token"],
            },
        }
        env = {"ARTCONF_OSS_KEYS": json.dumps(keys), "ARTCONF_OSS_NONCE": creds["nonce"]}
        return Command(argv, env)

    def probe(self, instance: Instance, port: int) -> bool:
        # The instance's own nonce: a port some other server reuses never passes.
        response = probe_get(instance, port, "/artconf/health")
        return response.status_code == 200 and response.text == instance.credentials["nonce"]

    def version(self) -> str:
        return oss_standin.VERSION
