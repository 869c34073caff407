"""Official-client helpers for the kit's own server tests (the kind adapters', re-exported)."""

from __future__ import annotations

import uuid
from pathlib import Path

import yaml

from conformance.kinds.azure import client as azure_client
from conformance.kinds.gcs import client as gcs_client
from conformance.kinds.s3 import client as s3_client

__all__ = ["azure_client", "gcs_client", "s3_client", "unique_name", "write_kubeconfig"]


def unique_name(prefix: str = "artconf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def write_kubeconfig(path: Path, endpoint) -> Path:
    """A kubeconfig for the kit's Kubernetes API stand-in (``kube-tls`` endpoint), by token."""
    cluster = {"server": endpoint.url, "certificate-authority": endpoint.ca_bundle}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": {"token": endpoint.credentials["secret_key"]}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path.write_text(yaml.safe_dump(config))
    return path
