"""What every storage server module provides, and the probe helper they share.

A server module subclasses `Server` and says how to build its command line, how to recognise
it on the wire (a probe of its own protocol, checking a signature such as the `Server` header),
which credentials it was started with, and any set-up after it is ready.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import requests

from emulators.endpoint import Endpoint
from emulators.launcher import Command
from emulators.tls import TlsMaterial


@dataclass
class Instance:
    """The per-start inputs of one server: where it keeps data, its TLS files, its secrets."""

    name: str  # e.g. "minio-tls"
    workdir: Path
    tls: TlsMaterial | None
    credentials: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # extra settings, e.g. MINIO_SITE_REGION
    on_disk: bool = False  # keep data on disk where the server defaults to memory (benchmarks)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def url(self, port: int) -> str:
        return f"{self.scheme}://127.0.0.1:{port}"

    @property
    def verify(self) -> str | bool:
        return str(self.tls.ca_cert) if self.tls else True


class Server:
    """Base of one server kind. Subclasses set `kind`, `tool` and `profile`."""

    kind: str = ""
    tool: str = ""
    profile: str = ""
    start_timeout: float = 60.0
    modes: tuple[bool, ...] = (False, True)  # TLS off and on; a TLS-only server says (True,)

    def credentials(self) -> dict[str, str]:
        """Fresh credentials for one start; secret values are random per session."""
        return {}

    def command(self, instance: Instance, port: int) -> Command:
        raise NotImplementedError

    def probe(self, instance: Instance, port: int) -> bool:
        raise NotImplementedError

    def after_ready(self, instance: Instance, port: int) -> None:
        """Set-up that needs the running server (users, policies)."""

    def version(self) -> str:
        raise NotImplementedError

    def endpoint(self, instance: Instance, port: int) -> Endpoint:
        return Endpoint(
            name=instance.name,
            server=self.kind,
            url=instance.url(port),
            host="127.0.0.1",
            port=port,
            tls=instance.tls is not None,
            ca_bundle=str(instance.tls.ca_cert) if instance.tls else None,
            credentials=dict(instance.credentials),
            version=self.version(),
            profile=self.profile,
        )


def fixed_secrets(kind: str) -> dict[str, str]:
    """Credential values pinned by `ARTCONF_FIXED_SECRETS` (JSON: {server: {field: value}}).

    Only for canary runs, which then search every output for these values.
    """
    text = os.environ.get("ARTCONF_FIXED_SECRETS")
    if not text:
        return {}
    try:
        return {str(k): str(v) for k, v in json.loads(text).get(kind, {}).items()}
    except (ValueError, AttributeError):
        raise ValueError(
            "ARTCONF_FIXED_SECRETS must be a JSON object {server: {field: value}}"
        ) from None


def random_secret(nbytes: int = 18) -> str:
    return secrets.token_urlsafe(nbytes)


def probe_get(
    instance: Instance, port: int, path: str, *, cert: tuple[str, str] | None = None
) -> requests.Response:
    """One GET with explicit trust: the CA environment variables must not decide a probe.
    `cert`: the client certificate and key files a server checking clients needs."""
    with requests.Session() as session:
        session.trust_env = False
        return session.get(instance.url(port) + path, verify=instance.verify, cert=cert, timeout=2)
