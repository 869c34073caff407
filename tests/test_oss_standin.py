"""The OSS stand-in (emulators/oss_standin.py) refuses what OSS refuses, with OSS's errors.

Requests are signed by the SDK's own signers (alibabacloud-oss-v2, V1 and V4), an implementation
independent of the stand-in's, then sent as they are or tampered with after signing. Every
refusal is checked by its status and the `<Code>` of OSS's XML error body.
"""

from __future__ import annotations

import datetime as dt
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
import requests
from alibabacloud_oss_v2.signer import SignerV1, SignerV4
from alibabacloud_oss_v2.types import Credentials, HttpRequest, SigningContext

from conformance.kinds.oss import OSSAdmin

REGION = "cn-hangzhou"


@pytest.fixture(params=["oss", "oss-tls"])
def endpoint(request: pytest.FixtureRequest, artconf_server):
    return artconf_server(request.param)


@pytest.fixture
def bucket(endpoint):
    admin = OSSAdmin(endpoint)
    name = f"standin-{uuid.uuid4().hex[:12]}"
    admin.create_container(name)
    admin.put(name, "file.txt", b"payload")
    yield name
    admin.delete_container(name)


def signed(
    endpoint,
    version: str,
    bucket: str,
    key: str,
    *,
    key_id: str | None = None,
    secret: str | None = None,
    token: str | None = None,
    when: dt.datetime | None = None,
    headers: dict[str, str] | None = None,
) -> HttpRequest:
    """A GET of `bucket/key` signed by the SDK's signer `version`."""
    creds = endpoint.credentials
    request = HttpRequest(
        "GET", f"{endpoint.url}/{bucket}/{quote(key)}", headers=dict(headers or {})
    )
    context = SigningContext(
        product="oss",
        region=REGION,
        bucket=bucket,
        key=key,
        request=request,
        credentials=Credentials(
            key_id or creds["access_key"], secret or creds["secret_key"], token
        ),
        signing_time=when,
    )
    (SignerV1() if version == "v1" else SignerV4()).sign(context)
    return request


def send(endpoint, request: HttpRequest) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        return session.request(
            request.method,
            request.url,
            headers=dict(request.headers),
            verify=endpoint.ca_bundle or True,
            timeout=10,
        )


def refused(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    root = ET.fromstring(response.content)
    assert root.tag == "Error" and root.findtext("Code") == code, response.text
    assert root.findtext("RequestId") and root.findtext("Message")
    assert response.headers.get("x-oss-request-id") == root.findtext("RequestId")


VERSIONS = ["v1", "v4"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_good_signature_is_accepted(endpoint, bucket, version):
    response = send(endpoint, signed(endpoint, version, bucket, "file.txt"))
    assert response.status_code == 200 and response.content == b"payload"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_wrong_secret_is_signature_does_not_match(endpoint, bucket, version):
    request = signed(endpoint, version, bucket, "file.txt", secret="wrong-" + uuid.uuid4().hex)
    refused(send(endpoint, request), 403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_signed_header_changed_after_signing_is_refused(endpoint, bucket, version):
    request = signed(endpoint, version, bucket, "file.txt", headers={"x-oss-meta-note": "signed"})
    request.headers["x-oss-meta-note"] = "tampered"
    refused(send(endpoint, request), 403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("version", VERSIONS)
def test_another_key_than_signed_is_refused(endpoint, bucket, version):
    """The canonical resource is signed: the same signature on another key fails."""
    request = signed(endpoint, version, bucket, "file.txt")
    request.url = request.url.replace("file.txt", "other.txt")
    refused(send(endpoint, request), 403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unknown_key_id_is_invalid_access_key_id(endpoint, bucket, version):
    request = signed(endpoint, version, bucket, "file.txt", key_id="LTAIunknown")
    refused(send(endpoint, request), 403, "InvalidAccessKeyId")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("minutes", [-20, 20])
def test_a_request_time_beyond_15_minutes_is_too_skewed(endpoint, bucket, version, minutes):
    when = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    request = signed(endpoint, version, bucket, "file.txt", when=when)
    refused(send(endpoint, request), 403, "RequestTimeTooSkewed")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_temporary_key_with_its_token_is_accepted(endpoint, bucket, version):
    creds = endpoint.credentials
    request = signed(
        endpoint,
        version,
        bucket,
        "file.txt",
        key_id=creds["sts_access_key"],
        secret=creds["sts_secret_key"],
        token=creds["sts_token"],
    )
    response = send(endpoint, request)
    assert response.status_code == 200 and response.content == b"payload"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_temporary_key_without_its_token_is_invalid_access_key_id(endpoint, bucket, version):
    creds = endpoint.credentials
    request = signed(
        endpoint,
        version,
        bucket,
        "file.txt",
        key_id=creds["sts_access_key"],
        secret=creds["sts_secret_key"],
    )
    refused(send(endpoint, request), 403, "InvalidAccessKeyId")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_temporary_key_with_a_wrong_token_is_invalid_security_token(endpoint, bucket, version):
    creds = endpoint.credentials
    request = signed(
        endpoint,
        version,
        bucket,
        "file.txt",
        key_id=creds["sts_access_key"],
        secret=creds["sts_secret_key"],
        token="wrong-" + uuid.uuid4().hex,
    )
    refused(send(endpoint, request), 403, "InvalidSecurityToken")


def test_a_changed_v4_token_header_is_refused(endpoint, bucket):
    """V4 signs x-oss-security-token: the right token put in after signing a wrong one fails."""
    creds = endpoint.credentials
    request = signed(
        endpoint,
        "v4",
        bucket,
        "file.txt",
        key_id=creds["sts_access_key"],
        secret=creds["sts_secret_key"],
        token="wrong-" + uuid.uuid4().hex,
    )
    request.headers["x-oss-security-token"] = creds["sts_token"]
    refused(send(endpoint, request), 403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("version", VERSIONS)
def test_missing_key_and_bucket_are_oss_errors(endpoint, bucket, version):
    refused(send(endpoint, signed(endpoint, version, bucket, "absent")), 404, "NoSuchKey")
    refused(send(endpoint, signed(endpoint, version, bucket + "-x", "a")), 404, "NoSuchBucket")


def test_an_unsigned_request_is_access_denied(endpoint, bucket):
    with requests.Session() as session:
        session.trust_env = False
        response = session.get(
            f"{endpoint.url}/{bucket}/file.txt", verify=endpoint.ca_bundle or True, timeout=10
        )
    refused(response, 403, "AccessDenied")


def test_multipart_part_count_and_open_uploads_through_the_admin(endpoint, bucket):
    admin = OSSAdmin(endpoint)
    assert admin.part_count(bucket, "file.txt") == 1
    assert admin.open_uploads(bucket) == []
    assert admin.container_exists(bucket)
    with pytest.raises(Exception) as caught:
        admin.create_container(bucket)
    assert "BucketAlreadyExists" in str(caught.value)
