"""Official-client helpers for the kit's own server tests (the kit's own, re-exported)."""

from __future__ import annotations

import uuid

from emulators.buckets import azure_client, gcs_client, s3_client

__all__ = ["ALL_KEYS", "azure_client", "gcs_client", "s3_client", "unique_name"]

ALL_KEYS = [f"{k}{m}" for k in ("minio", "moto", "azurite", "fake-gcs") for m in ("", "-tls")]


def unique_name(prefix: str = "artconf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
