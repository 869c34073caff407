"""Create and remove buckets/containers on a running server with its official client.

Used by the kit's fixtures and benchmarks: drivers under test never create what they did not
declare (`createBucketIfNotPresent`), so set-up and clean-up go through the SDKs directly.
"""

from __future__ import annotations

import contextlib

import boto3
import requests
from azure.storage.blob import BlobServiceClient
from botocore.config import Config
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from emulators.endpoint import Endpoint

S3_SERVERS = ("minio", "moto")


def s3_client(endpoint: Endpoint, verify: str | bool | None = None):
    return boto3.client(
        "s3",
        endpoint_url=endpoint.url,
        aws_access_key_id=endpoint.credentials["access_key"],
        aws_secret_access_key=endpoint.credentials["secret_key"],
        region_name="us-east-1",
        verify=endpoint.ca_bundle if verify is None else verify,
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=5,
            read_timeout=60,
        ),
    )


def gcs_client(endpoint: Endpoint, verify: str | bool | None = None) -> storage.Client:
    session = requests.Session()
    session.trust_env = False  # otherwise REQUESTS_CA_BUNDLE silently overrides `verify`
    session.verify = endpoint.ca_bundle if verify is None else verify
    return storage.Client(
        project="artconf",
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=endpoint.url),
        _http=session,
    )


def azure_client(endpoint: Endpoint, verify: str | bool | None = None) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(
        endpoint.credentials["connection_string"],
        connection_verify=endpoint.ca_bundle if verify is None else verify,
        retry_total=0,
    )


def create_bucket(endpoint: Endpoint, name: str) -> None:
    if endpoint.server in S3_SERVERS:
        s3_client(endpoint).create_bucket(Bucket=name)
    elif endpoint.server == "fake-gcs":
        gcs_client(endpoint).create_bucket(name)
    elif endpoint.server == "azurite":
        azure_client(endpoint).create_container(name)
    else:
        raise ValueError(f"no bucket support for server {endpoint.server!r}")


def delete_bucket(endpoint: Endpoint, name: str) -> None:
    """Remove the bucket and everything in it (missing is fine)."""
    if endpoint.server in S3_SERVERS:
        s3 = s3_client(endpoint)
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
            for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
                s3.abort_multipart_upload(
                    Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"]
                )
            s3.delete_bucket(Bucket=name)
        except s3.exceptions.NoSuchBucket:
            pass
    elif endpoint.server == "fake-gcs":
        from google.api_core.exceptions import NotFound

        with contextlib.suppress(NotFound):
            gcs_client(endpoint).bucket(name).delete(force=True)
    elif endpoint.server == "azurite":
        from azure.core.exceptions import ResourceNotFoundError

        with contextlib.suppress(ResourceNotFoundError):
            azure_client(endpoint).delete_container(name)
