"""What a driver gets from the pod's environment rather than from the artifact's YAML.

Argo's executor trusts the image's CA bundle, takes retry and upload settings from environment
variables, and (for GCS and Azure) has no YAML field for a custom endpoint or CA. The
`DriverContext` carries exactly those, so a test or a user can set them explicitly; nothing in
here is ever read from artifact YAML.
"""

from __future__ import annotations

import os
import ssl
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# The environment variables the executor's drivers read (spec 6.4, 6.6).
SETTINGS_PREFIXES = (
    "EXECUTOR_RETRY_",
    "RETRY_BACKOFF_",
    "ARTIFACT_S3_UPLOAD_",
    "ARTIFACT_AZURE_",
    "ARTIFACT_GIT_",
    "ARTIFACT_OSS_",  # the kit's own multipart threshold (deviation oss-upload-part-size-setting)
    "TRANSIENT_ERROR_PATTERN",
)
#: Where go-git (Argo's Git driver) finds known_hosts files: a list of paths (os.pathsep).
SSH_KNOWN_HOSTS = "SSH_KNOWN_HOSTS"


def system_ca_bundle() -> str | None:
    """The OS trust store, from OpenSSL's compiled-in defaults.

    Deliberately not `ssl.get_default_verify_paths().cafile`, which follows `SSL_CERT_FILE`:
    the CA environment variables must not decide what a driver trusts.
    """
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@dataclass(frozen=True)
class DriverContext:
    """The pod-side environment of a driver.

    ca_bundle: PEM file every SDK trusts (default: the OS bundle). S3's own `caSecret` replaces
        it, as in Argo.
    gcs_endpoint: base URL of the GCS JSON API (default: Google's); Argo has no field for it.
    settings: `EXECUTOR_RETRY_*`, `ARTIFACT_S3_UPLOAD_*`, `ARTIFACT_AZURE_*`,
        `ARTIFACT_GIT_*`, `ARTIFACT_OSS_*`, `TRANSIENT_ERROR_PATTERN` values.
    temp_dir: where a driver may write private files (a `caSecret` PEM, 0600, removed on close).
    sleep: the retry clock; tests inject one that records delays instead of sleeping.
    ssh_known_hosts: the known_hosts files SSH host keys are checked against, separated by
        os.pathsep, as the pod's `SSH_KNOWN_HOSTS` (go-git's variable); "" means go-git's
        defaults, `~/.ssh/known_hosts` and `/etc/ssh/ssh_known_hosts`.
    """

    ca_bundle: str | None = field(default_factory=system_ca_bundle)
    gcs_endpoint: str | None = None
    settings: Mapping[str, str] = field(default_factory=dict)
    temp_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    sleep: Callable[[float], None] = time.sleep
    ssh_known_hosts: str = ""

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, **overrides
    ) -> DriverContext:
        """The settings a pod would see, taken from `environ` (default `os.environ`)."""
        environ = os.environ if environ is None else environ
        settings = {k: v for k, v in environ.items() if k.startswith(SETTINGS_PREFIXES)}
        overrides.setdefault("ssh_known_hosts", environ.get(SSH_KNOWN_HOSTS, ""))
        return cls(settings=settings, **overrides)

    @property
    def verify(self) -> str | bool:
        """What to pass as `verify` to an SDK: the bundle path, or True for the SDK default."""
        return self.ca_bundle or True
