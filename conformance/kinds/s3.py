"""The S3 kind (Argo's `s3` location): MinIO, moto and any S3-compatible server, through boto3.

Trust: Argo's own `caSecret` field carries the kit's CA (it replaces the trust roots);
`insecure: true` is plain HTTP (spec 2.1, 6.1).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from conformance.kinds.base import Admin, Kind, Location, capabilities
from emulators.endpoint import Endpoint

SECRET = "artconf-s3"
TEMPORARY_SECRET = "artconf-s3-temporary"  # STS credentials, beside the static ones
CUSTOMER_KEY_SECRET = "artconf-sse-c"
ROLE_ARN = "arn:aws:iam::000000000000:role/artconf-conformance"
MIB = 1024 * 1024
PART_SIZE_MIB = 5  # S3's smallest part: the most parts for the fewest bytes
# Everything the AWS default chain could read besides what a case sets.
AWS_CHAIN_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_CA_BUNDLE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


def client(endpoint: Endpoint, verify: str | bool | None = None, region: str = "us-east-1"):
    """boto3 for the server's root user: one attempt, checksums only where S3 requires them."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint.url,
        aws_access_key_id=endpoint.credentials["access_key"],
        aws_secret_access_key=endpoint.credentials["secret_key"],
        region_name=region,
        verify=endpoint.ca_bundle if verify is None else verify,
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=5,
            read_timeout=60,
        ),
    )


class S3Admin(Admin):
    def __init__(self, endpoint: Endpoint, region: str = "us-east-1"):
        super().__init__(endpoint)
        self.region = region
        self.client = client(endpoint, region=region)

    def create_container(self, name: str) -> None:
        if self.region == "us-east-1":
            self.client.create_bucket(Bucket=name)
        else:
            self.client.create_bucket(
                Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region}
            )

    def delete_container(self, name: str) -> None:
        s3 = self.client
        try:
            self._remove_versions(name)
            # MinIO lists an object `a` but hides `a/b` behind it until `a` is gone (it stores
            # objects as files): list and delete again until the listing is empty.
            for _ in range(8):
                pages = s3.get_paginator("list_objects_v2").paginate(Bucket=name)
                keys = [{"Key": o["Key"]} for page in pages for o in page.get("Contents", [])]
                if not keys:
                    break
                for start in range(0, len(keys), 1000):
                    batch = keys[start : start + 1000]
                    s3.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True})
            for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
                s3.abort_multipart_upload(
                    Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"]
                )
            s3.delete_bucket(Bucket=name)
        except s3.exceptions.NoSuchBucket:
            pass

    def _remove_versions(self, bucket: str) -> None:
        """A locked bucket is versioned: every version goes, or the bucket cannot."""
        with contextlib.suppress(ClientError):
            status = self.client.get_bucket_versioning(Bucket=bucket).get("Status")
            if not status:
                return
            pages = self.client.get_paginator("list_object_versions").paginate(Bucket=bucket)
            for page in pages:
                for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    self.client.delete_object(
                        Bucket=bucket,
                        Key=item["Key"],
                        VersionId=item["VersionId"],
                        BypassGovernanceRetention=True,
                    )

    def container_exists(self, name: str) -> bool:
        try:
            self.client.head_bucket(Bucket=name)
        except ClientError:
            return False
        return True

    def put(self, container: str, key: str, data: bytes = b"") -> None:
        self.client.put_object(Bucket=container, Key=key, Body=data)

    def get(self, container: str, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=container, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def keys(self, container: str, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=container, Prefix=prefix
        )
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def delete(self, container: str, key: str) -> None:
        self.client.delete_object(Bucket=container, Key=key)

    def part_count(self, container: str, key: str) -> int | None:
        """A multipart ETag ends in `-<parts>`; a single PUT's has no suffix (1 part)."""
        etag = self.client.head_object(Bucket=container, Key=key)["ETag"].strip('"')
        _, sep, parts = etag.rpartition("-")
        return int(parts) if sep else 1

    def open_uploads(self, container: str) -> list[str]:
        uploads = self.client.list_multipart_uploads(Bucket=container).get("Uploads", [])
        return [u["Key"] for u in uploads]

    def encryption(self, container: str, key: str) -> dict[str, str]:
        head = self.client.head_object(Bucket=container, Key=key)
        return {
            "algorithm": head.get("ServerSideEncryption", ""),
            "kms_key_id": head.get("SSEKMSKeyId", ""),
        }

    def readable_without_customer_key(self, container: str, key: str) -> bool:
        try:
            self.client.get_object(Bucket=container, Key=key)
        except ClientError:
            return False
        return True

    def object_lock_enabled(self, container: str) -> bool:
        config = self.client.get_object_lock_configuration(Bucket=container)
        return config["ObjectLockConfiguration"].get("ObjectLockEnabled") == "Enabled"


class S3(Kind):
    name = "s3"
    container_field = "bucket"
    credential_keys = ("accessKey", "secretKey")
    sdk_packages = ("boto3", "botocore")
    argo_capabilities = capabilities(
        """load load_directory save save_directory save_stream open_stream delete
        delete_directory list_objects is_directory gc_file gc_directory archive_tar
        archive_zip archive_none key_format tls_custom_ca tls_plain_http addressing_path
        addressing_virtual_hosted
        auth_static_keys auth_session_token auth_assume_role auth_sdk_chain auth_web_identity
        auth_rejects_bad_credentials create_bucket create_bucket_object_locking
        region_discovery encryption_sse_s3 encryption_sse_kms encryption_sse_c
        multipart_upload""",
        where="kinds.s3",
    )

    def location(self, endpoint: Endpoint, container: str, key: str = "") -> Location:
        fields: dict[str, Any] = {
            "endpoint": f"{endpoint.host}:{endpoint.port}",
            "bucket": container,
            "key": key,
            "accessKeySecret": {"name": SECRET, "key": "accessKey"},
            "secretKeySecret": {"name": SECRET, "key": "secretKey"},
        }
        secrets = {
            SECRET: {
                "accessKey": endpoint.credentials["access_key"],
                "secretKey": endpoint.credentials["secret_key"],
            }
        }
        if endpoint.tls:  # Argo's own field: caSecret replaces the trust roots
            fields["caSecret"] = {"name": SECRET, "key": "ca.crt"}
            secrets[SECRET]["ca.crt"] = Path(endpoint.ca_bundle or "").read_text()
        else:
            fields["insecure"] = True
        return Location(self.type, self.key_field, fields, secrets)

    def admin(self, endpoint: Endpoint) -> S3Admin:
        return S3Admin(endpoint)

    def admin_in_region(self, endpoint: Endpoint, region: str) -> S3Admin:
        return S3Admin(endpoint, region)

    def wrong_secrets(self, location: Location) -> dict[str, dict[str, str]]:
        """A valid access key with a wrong secret: the signature check must refuse it."""
        secrets = {name: dict(keys) for name, keys in location.secrets.items()}
        secrets[SECRET]["secretKey"] = "artconf-wrong-" + os.urandom(8).hex()
        return secrets

    def untrusted(self, location: Location) -> Location:
        return super().untrusted(location.replace(caSecret=None))

    def plain_http(self, location: Location) -> Location:
        return location.replace(insecure=True, caSecret=None)

    def tls_on_plain(self, location: Location) -> Location:
        return location.replace(insecure=None)

    def sdk_chain(
        self, location: Location, endpoint: Endpoint, source: str, tmp: Path, env: Any
    ) -> Location:
        access, secret = chain_keys(endpoint)
        clean_aws_chain(env, tmp)
        if source == "env":
            env.setenv("AWS_ACCESS_KEY_ID", access)
            env.setenv("AWS_SECRET_ACCESS_KEY", secret)
        else:  # the shared credentials file
            shared = tmp / "aws-credentials"
            shared.write_text(
                f"[default]\naws_access_key_id = {access}\naws_secret_access_key = {secret}\n"
            )
            env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
        return without_static_keys(location, useSDKCreds=True)

    def session_token(
        self, location: Location, endpoint: Endpoint, *, with_token: bool = True
    ) -> Location:
        """Temporary credentials from the server's STS AssumeRole, as its non-root user (MinIO
        lets no root user assume a role)."""
        creds = assume_role(endpoint)
        selectors = {
            "accessKeySecret": {"name": TEMPORARY_SECRET, "key": "accessKey"},
            "secretKeySecret": {"name": TEMPORARY_SECRET, "key": "secretKey"},
            "sessionTokenSecret": (
                {"name": TEMPORARY_SECRET, "key": "sessionToken"} if with_token else None
            ),
        }
        secrets = {**location.secrets, TEMPORARY_SECRET: creds}
        return location.replace(**selectors).with_secrets(secrets)

    def assume_role(
        self, location: Location, endpoint: Endpoint, tmp: Path, env: Any, *, source: bool = True
    ) -> Location:
        clean_aws_chain(env, tmp)
        if source:
            access, secret = chain_keys(endpoint)
            env.setenv("AWS_ACCESS_KEY_ID", access)
            env.setenv("AWS_SECRET_ACCESS_KEY", secret)
        return without_static_keys(location, roleARN=ROLE_ARN)

    def web_identity(
        self, location: Location, endpoint: Endpoint, token: str, tmp: Path, env: Any
    ) -> Location:
        """What EKS's IRSA webhook gives a pod: a token file, a role and a region; here also
        the STS endpoint, which is the server's own."""
        clean_aws_chain(env, tmp)
        token_file = tmp / "web-identity-token"
        token_file.write_text(token)
        env.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
        env.setenv("AWS_ROLE_ARN", ROLE_ARN)
        env.setenv("AWS_REGION", "us-east-1")
        env.setenv("AWS_ENDPOINT_URL_STS", endpoint.url)
        if endpoint.tls:  # caSecret covers the S3 client only; the SDK's STS client trusts the pod
            env.setenv("AWS_CA_BUNDLE", endpoint.ca_bundle or "")
        return without_static_keys(location, useSDKCreds=True)

    def creating_container(self, location: Location, *, object_locking: bool = False) -> Location:
        # Presence of the object is the switch: `{}` is enough (spec 2.1).
        option = {"objectLocking": True} if object_locking else {}
        return location.replace(createBucketIfNotPresent=option)

    def in_region(self, location: Location, region: str) -> Location:
        return location.replace(region=region)

    def server_side_encryption(
        self, location: Location, *, kms_key_id: str = "", enabled: bool = True
    ) -> Location:
        options: dict[str, Any] = {"enableEncryption": True} if enabled else {}
        if kms_key_id:
            options["kmsKeyId"] = kms_key_id
        return location.replace(encryptionOptions=options)

    def customer_key_encryption(self, location: Location, password: str) -> Location:
        options = {
            "enableEncryption": True,
            "serverSideCustomerKeySecret": {"name": CUSTOMER_KEY_SECRET, "key": "password"},
        }
        secrets = {**location.secrets, CUSTOMER_KEY_SECRET: {"password": password}}
        return location.replace(encryptionOptions=options).with_secrets(secrets)

    def multipart(self, location: Location, size: int) -> tuple[Location, int | None]:
        """Argo's ARTIFACT_S3_UPLOAD_PART_SIZE_MIB, at S3's smallest part size (spec 6.6)."""
        part = PART_SIZE_MIB * MIB
        if size < part:
            raise ValueError(f"{size} bytes is below one {PART_SIZE_MIB} MiB part")
        settings = {
            **location.context.get("settings", {}),
            "ARTIFACT_S3_UPLOAD_PART_SIZE_MIB": str(PART_SIZE_MIB),
        }
        return location.with_context(settings=settings), -(-size // part)

    def addressed(self, location: Location, style: str) -> Location:
        port = location.fields["endpoint"].rsplit(":", 1)[1]
        return location.replace(endpoint=f"localhost:{port}", addressingStyle=style)


def without_static_keys(location: Location, **fields: Any) -> Location:
    return location.replace(accessKeySecret=None, secretKeySecret=None, **fields)


def assume_role(endpoint: Endpoint) -> dict[str, str]:
    """Temporary key, secret and token from the server's STS AssumeRole (as the chain user)."""
    access, secret = chain_keys(endpoint)
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        verify=endpoint.ca_bundle if endpoint.tls else True,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    answer = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="artconf-case")["Credentials"]
    return {
        "accessKey": answer["AccessKeyId"],
        "secretKey": answer["SecretAccessKey"],
        "sessionToken": answer["SessionToken"],
    }


def clean_aws_chain(env: Any, tmp: Path) -> None:
    """An AWS default chain that finds nothing unless the case adds it (no machine state)."""
    for name in AWS_CHAIN_VARIABLES:
        env.delenv(name, raising=False)
    empty = tmp / "aws-empty"
    empty.write_text("")
    env.setenv("AWS_CONFIG_FILE", str(empty))
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    env.setenv("AWS_EC2_METADATA_DISABLED", "true")


def chain_keys(endpoint: Endpoint) -> tuple[str, str]:
    """Keys for the SDK chain: the server's non-root user where it has one, else its root."""
    creds = endpoint.credentials
    if "user_access_key" in creds:
        return creds["user_access_key"], creds["user_secret_key"]
    return creds["access_key"], creds["secret_key"]


KIND = S3()
