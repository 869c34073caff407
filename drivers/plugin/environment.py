"""A plugin's pod environment, both ways: `DriverContext` <-> environment variables.

A plugin runs in its own process, so what a driver gets from its pod (spec 6: the trust store,
a GCS endpoint, SSH known hosts, retry and upload settings) reaches it as the environment it
was started with, in the variables any SDK already reads: Go and Python TLS stacks take
`SSL_CERT_FILE`, both GCS clients take `STORAGE_EMULATOR_HOST`, go-git takes
`SSH_KNOWN_HOSTS`, and Argo's settings keep their own names. The kit
starts one plugin process per distinct environment (`conformance.plugin_targets`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from drivers.core.context import SSH_KNOWN_HOSTS, DriverContext

CA_BUNDLE = "SSL_CERT_FILE"
GCS_ENDPOINT = "STORAGE_EMULATOR_HOST"


def environment_for(context: DriverContext) -> dict[str, str]:
    """The variables that give a plugin process `context` (its sleep clock cannot travel)."""
    env = dict(context.settings)
    if context.ca_bundle:
        env[CA_BUNDLE] = context.ca_bundle
    if context.gcs_endpoint:
        env[GCS_ENDPOINT] = context.gcs_endpoint
    if context.ssh_known_hosts:
        env[SSH_KNOWN_HOSTS] = context.ssh_known_hosts
    env["TMPDIR"] = str(context.temp_dir)
    return env


def context_from(environ: Mapping[str, str] | None = None) -> DriverContext:
    """The DriverContext a plugin serves with, read from its environment (default os.environ)."""
    environ = os.environ if environ is None else environ
    overrides: dict = {}
    if environ.get(CA_BUNDLE):
        overrides["ca_bundle"] = environ[CA_BUNDLE]
    if environ.get(GCS_ENDPOINT):
        endpoint = environ[GCS_ENDPOINT]
        overrides["gcs_endpoint"] = endpoint if "://" in endpoint else f"http://{endpoint}"
    if environ.get("TMPDIR"):
        overrides["temp_dir"] = Path(environ["TMPDIR"])
    return DriverContext.from_environment(environ, **overrides)
