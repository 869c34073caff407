"""Official-client helpers for the kit's own server tests: one client per server kind."""

from __future__ import annotations

import uuid

import boto3
import requests
from azure.storage.blob import BlobServiceClient
from botocore.config import Config
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from emulators.endpoint import Endpoint

ALL_KEYS = [f"{k}{m}" for k in ("minio", "moto", "azurite", "fake-gcs") for m in ("", "-tls")]


def unique_name(prefix: str = "artconf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def s3_client(endpoint: Endpoint, verify: str | bool | None = None):
    return boto3.client(
        "s3",
        endpoint_url=endpoint.url,
        aws_access_key_id=endpoint.credentials["access_key"],
        aws_secret_access_key=endpoint.credentials["secret_key"],
        region_name="us-east-1",
        verify=endpoint.ca_bundle if verify is None else verify,
        config=Config(
            retries={"max_attempts": 1, "mode": "standard"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=5,
            read_timeout=30,
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
