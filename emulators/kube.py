"""The local Kubernetes API stand-in (``emulators/kube_api.py``) as a fleet server, kind ``kube``.

A stand-in, not a kube-apiserver: it serves only ConfigMaps, Secrets, namespaces and Argo's
(Cluster)WorkflowTemplates, with bearer-token auth, TLS and injectable faults (see its module).
It runs from the kit's own Python, so it needs no install. The bearer token is kept in the
endpoint's credentials under ``secret_key`` so every redaction path treats it as a secret.
"""

from __future__ import annotations

import sys

import requests

from emulators import kube_api
from emulators.endpoint import Endpoint
from emulators.launcher import Command
from emulators.server import Instance, Server, probe_get, random_secret


class KubeApi(Server):
    kind = "kube"
    tool = "kube"
    profile = "kube"
    start_timeout = 30.0

    def credentials(self) -> dict[str, str]:
        return {"user": kube_api.USER, "secret_key": random_secret()}

    def command(self, instance: Instance, port: int) -> Command:
        argv = [sys.executable, "-m", "emulators.kube_api", "--port", str(port)]
        if instance.tls:
            argv += ["--cert", str(instance.tls.server_cert), "--key", str(instance.tls.server_key)]
        return Command(argv, {"ARTCONF_KUBE_TOKEN": instance.credentials["secret_key"]})

    def probe(self, instance: Instance, port: int) -> bool:
        response = probe_get(instance, port, "/healthz")
        return response.status_code == 200 and response.text == "ok"

    def version(self) -> str:
        return kube_api.VERSION


def admin(endpoint: Endpoint, path: str, body: dict | None = None) -> dict:
    """Call the stand-in's admin endpoint (``faults``, ``reset``, ``requests``)."""
    with requests.Session() as session:
        session.trust_env = False
        response = session.request(
            "POST" if body is not None or path != "requests" else "GET",
            f"{endpoint.url}/artconf/{path}",
            json=body,
            headers={"Authorization": f"Bearer {endpoint.credentials['secret_key']}"},
            verify=endpoint.ca_bundle or True,
            timeout=10,
        )
    response.raise_for_status()
    return response.json()
