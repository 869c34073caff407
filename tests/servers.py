"""Official-client helpers for the kit's own server tests (the kind adapters', re-exported)."""

from __future__ import annotations

import uuid

from conformance.kinds.azure import client as azure_client
from conformance.kinds.gcs import client as gcs_client
from conformance.kinds.s3 import client as s3_client

__all__ = ["azure_client", "gcs_client", "s3_client", "unique_name"]


def unique_name(prefix: str = "artconf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
