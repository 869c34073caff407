"""Each real server serves a put/get/list/delete round trip through its official client."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError
from botocore.exceptions import ClientError
from google.api_core.exceptions import NotFound

from tests.servers import azure_client, gcs_client, s3_client, unique_name

PAYLOAD = b"artifact-conformance \x00\xff round trip"


@pytest.fixture(params=["minio", "minio-tls", "moto", "moto-tls"])
def s3_endpoint(request, artconf_server):
    return artconf_server(request.param)


@pytest.fixture(params=["fake-gcs", "fake-gcs-tls"])
def gcs_endpoint(request, artconf_server):
    return artconf_server(request.param)


@pytest.fixture(params=["azurite", "azurite-tls"])
def azure_endpoint(request, artconf_server):
    return artconf_server(request.param)


def test_s3_roundtrip(s3_endpoint):
    s3_roundtrip(s3_endpoint)


def test_gcs_roundtrip(gcs_endpoint):
    gcs_roundtrip(gcs_endpoint)


def test_azure_roundtrip(azure_endpoint):
    azure_roundtrip(azure_endpoint)


# The round trips, also run by the container launcher's tests (tests/test_containers.py).
def s3_roundtrip(endpoint) -> None:
    s3 = s3_client(endpoint)
    bucket = unique_name()
    s3.create_bucket(Bucket=bucket)
    try:
        s3.put_object(Bucket=bucket, Key="dir/a.bin", Body=PAYLOAD)
        assert s3.get_object(Bucket=bucket, Key="dir/a.bin")["Body"].read() == PAYLOAD
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="dir/")
        assert [o["Key"] for o in listed["Contents"]] == ["dir/a.bin"]
        s3.delete_object(Bucket=bucket, Key="dir/a.bin")
        with pytest.raises(ClientError) as err:
            s3.get_object(Bucket=bucket, Key="dir/a.bin")
        assert err.value.response["Error"]["Code"] == "NoSuchKey"
    finally:
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)


def gcs_roundtrip(endpoint) -> None:
    client = gcs_client(endpoint)
    bucket = client.create_bucket(unique_name())
    try:
        bucket.blob("dir/a.bin").upload_from_string(PAYLOAD, retry=None)
        assert bucket.blob("dir/a.bin").download_as_bytes(retry=None) == PAYLOAD
        assert [b.name for b in client.list_blobs(bucket, prefix="dir/")] == ["dir/a.bin"]
        bucket.blob("dir/a.bin").delete(retry=None)
        with pytest.raises(NotFound):
            bucket.blob("dir/a.bin").download_as_bytes(retry=None)
    finally:
        bucket.delete(force=True)


def azure_roundtrip(endpoint) -> None:
    service = azure_client(endpoint)
    container = service.create_container(unique_name())
    try:
        container.upload_blob("dir/a.bin", PAYLOAD)
        assert container.download_blob("dir/a.bin").readall() == PAYLOAD
        assert [b.name for b in container.list_blobs(name_starts_with="dir/")] == ["dir/a.bin"]
        container.delete_blob("dir/a.bin")
        with pytest.raises(ResourceNotFoundError):
            container.download_blob("dir/a.bin").readall()
    finally:
        container.delete_container()
