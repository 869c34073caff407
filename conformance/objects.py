"""Server-side view of a bucket through the server's official SDK, independent of the driver.

Cases use it to lay out state a driver must then handle (siblings, markers, many objects) and
to check what a driver really did (the keys present, multipart ETags, block lists).
"""

from __future__ import annotations

from typing import Any

from emulators import buckets
from emulators.endpoint import Endpoint


class ObjectStore:
    def __init__(self, endpoint: Endpoint, bucket: str):
        self.endpoint = endpoint
        self.bucket = bucket
        self.server = endpoint.server
        if self.server in buckets.S3_SERVERS:
            self.client: Any = buckets.s3_client(endpoint)
        elif self.server == "fake-gcs":
            self.client = buckets.gcs_client(endpoint).bucket(bucket)
        else:
            self.client = buckets.azure_client(endpoint).get_container_client(bucket)

    def put(self, key: str, data: bytes = b"") -> None:
        if self.server in buckets.S3_SERVERS:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        elif self.server == "fake-gcs":
            self.client.blob(key).upload_from_string(data, retry=None)
        else:
            self.client.upload_blob(key, data, overwrite=True)

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        try:
            if self.server in buckets.S3_SERVERS:
                return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            if self.server == "fake-gcs":
                return self.client.blob(key).download_as_bytes(retry=None)
            return self.client.download_blob(key).readall()
        except Exception as exc:  # each SDK names "not found" differently
            if _is_not_found(exc):
                return None
            raise

    def keys(self, prefix: str = "") -> list[str]:
        if self.server in buckets.S3_SERVERS:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            return sorted(o["Key"] for page in pages for o in page.get("Contents", []))
        if self.server == "fake-gcs":
            return sorted(b.name for b in self.client.list_blobs(prefix=prefix or None))
        return sorted(b.name for b in self.client.list_blobs(name_starts_with=prefix or None))

    def etag(self, key: str) -> str:
        if self.server not in buckets.S3_SERVERS:
            raise TypeError("ETags with part counts are an S3 notion")
        return self.client.head_object(Bucket=self.bucket, Key=key)["ETag"].strip('"')

    def block_count(self, key: str) -> int:
        if self.server != "azurite":
            raise TypeError("block lists are an Azure notion")
        committed, _ = self.client.get_blob_client(key).get_block_list("committed")
        return len(committed)

    def open_multipart_uploads(self) -> list[str]:
        if self.server not in buckets.S3_SERVERS:
            return []
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
        return [u["Key"] for u in uploads]


def _is_not_found(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code") in ("NoSuchKey", "404")
    return getattr(exc, "status_code", None) == 404 or getattr(exc, "code", None) == 404
