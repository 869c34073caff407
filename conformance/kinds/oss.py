"""The OSS kind (Argo's `oss` location): the kit's OSS stand-in or a real OSS bucket, through
alibabacloud-oss-v2.

Argo's OSS fields name the endpoint with its scheme (`http://` is plain HTTP) and have no CA
field: the Go SDK trusts the pod's store, here the `DriverContext`'s `ca_bundle`. The admin
signs V4 (the SDK's default), the driver under test V1 (Argo's Go SDK default), so the
server checks both.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import alibabacloud_oss_v2 as oss
import requests
from alibabacloud_oss_v2 import exceptions as oss_errors
from alibabacloud_oss_v2 import transport

from conformance.kinds.base import Admin, Kind, Location, capabilities
from emulators.endpoint import Endpoint

SECRET = "artconf-oss"
TEMPORARY_SECRET = "artconf-oss-temporary"
REGION = "cn-hangzhou"  # the stand-in's; a real bucket's comes with its endpoint
MIB = 1024 * 1024
THRESHOLD_MIB = 5  # the kit's lowered multipart threshold (deviation oss-upload-part-size-setting)
CHAIN_VARIABLES = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "ALIBABA_CLOUD_CREDENTIALS_FILE",
    "ALIBABA_CLOUD_PROFILE",
    "ALIBABA_CLOUD_ROLE_ARN",
    "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
    "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    "ALIBABA_CLOUD_CREDENTIALS_URI",
)


class _Transport(transport.RequestsHttpClient):
    def __init__(self, verify: str | bool):
        session = requests.Session()
        session.trust_env = False  # no CA variable decides whom the admin trusts
        super().__init__(session=session)
        self._verify = verify


def client(endpoint: Endpoint, region: str = "") -> oss.Client:
    """The SDK as the server's permanent key, V4, one attempt."""
    creds = endpoint.credentials
    config = oss.config.Config(
        region=region or creds.get("region") or REGION,
        endpoint=endpoint.url,
        credentials_provider=oss.credentials.StaticCredentialsProvider(
            creds["access_key"], creds["secret_key"]
        ),
        retryer=oss.retry.NopRetryer(),
        http_client=_Transport(endpoint.ca_bundle or True),
    )
    return oss.Client(config)


def _code(exc: BaseException) -> str:
    inner = exc.unwrap() if isinstance(exc, oss_errors.OperationError) else exc
    return getattr(inner, "code", "")


class OSSAdmin(Admin):
    def __init__(self, endpoint: Endpoint):
        super().__init__(endpoint)
        self.client = client(endpoint)

    def create_container(self, name: str) -> None:
        self.client.put_bucket(oss.PutBucketRequest(bucket=name))

    def delete_container(self, name: str) -> None:
        try:
            for _ in range(4):
                keys = self.keys(name)
                if not keys:
                    break
                for start in range(0, len(keys), 1000):
                    batch = [oss.DeleteObject(key=k) for k in keys[start : start + 1000]]
                    self.client.delete_multiple_objects(
                        oss.DeleteMultipleObjectsRequest(bucket=name, objects=batch, quiet=True)
                    )
            for key, upload_id in self._uploads(name):
                self.client.abort_multipart_upload(
                    oss.AbortMultipartUploadRequest(bucket=name, key=key, upload_id=upload_id)
                )
            self.client.delete_bucket(oss.DeleteBucketRequest(bucket=name))
        except oss_errors.OperationError as exc:
            if _code(exc) != "NoSuchBucket":
                raise

    def container_exists(self, name: str) -> bool:
        return self.client.is_bucket_exist(name)

    def put(self, container: str, key: str, data: bytes = b"") -> None:
        self.client.put_object(oss.PutObjectRequest(bucket=container, key=key, body=data))

    def get(self, container: str, key: str) -> bytes | None:
        try:
            result = self.client.get_object(oss.GetObjectRequest(bucket=container, key=key))
        except oss_errors.OperationError as exc:
            if _code(exc) == "NoSuchKey":
                return None
            raise
        return result.body.read()

    def keys(self, container: str, prefix: str = "") -> list[str]:
        pages = self.client.list_objects_v2_paginator(limit=1000).iter_page(
            oss.ListObjectsV2Request(bucket=container, prefix=prefix)
        )
        return sorted(item.key for page in pages for item in page.contents or [])

    def delete(self, container: str, key: str) -> None:
        self.client.delete_object(oss.DeleteObjectRequest(bucket=container, key=key))

    def part_count(self, container: str, key: str) -> int | None:
        """OSS's ETag of a multipart object ends in `-<parts>`; a simple PUT's does not."""
        head = self.client.head_object(oss.HeadObjectRequest(bucket=container, key=key))
        _, sep, parts = (head.etag or "").strip('"').rpartition("-")
        return int(parts) if sep else 1

    def _uploads(self, container: str) -> list[tuple[str, str]]:
        result = self.client.list_multipart_uploads(
            oss.ListMultipartUploadsRequest(bucket=container)
        )
        return [(u.key, u.upload_id) for u in result.uploads or []]

    def open_uploads(self, container: str) -> list[str]:
        return [key for key, _ in self._uploads(container)]

    def lifecycle_rules(self, container: str) -> list[dict[str, Any]]:
        """The bucket's lifecycle rules as the server returns them ([] when it has none)."""
        try:
            result = self.client.get_bucket_lifecycle(
                oss.GetBucketLifecycleRequest(bucket=container)
            )
        except oss_errors.OperationError as exc:
            if _code(exc) == "NoSuchLifecycle":
                return []
            raise
        rules = []
        for rule in result.lifecycle_configuration.rules or []:
            rules.append(
                {
                    "id": rule.id,
                    "prefix": rule.prefix,
                    "status": rule.status,
                    "expiration_days": rule.expiration.days if rule.expiration else None,
                    "transitions": [(t.days, t.storage_class) for t in rule.transitions or []],
                    "abort_multipart_days": (
                        rule.abort_multipart_upload.days if rule.abort_multipart_upload else None
                    ),
                }
            )
        return rules


class OSS(Kind):
    name = "oss"
    container_field = "bucket"
    credential_keys = ("accessKey", "secretKey")
    sdk_packages = ("alibabacloud-oss-v2",)
    # Delete removes one object only and IsDirectory is implemented (spec 1.3, 7.3): GC of a
    # directory output leaves its objects in place.
    argo_capabilities = capabilities(
        """load load_directory save save_directory save_stream open_stream delete
        list_objects is_directory gc_file archive_tar archive_zip archive_none key_format
        tls_custom_ca tls_plain_http auth_static_keys auth_session_token auth_sdk_chain
        auth_rejects_bad_credentials create_bucket multipart_upload lifecycle_rule""",
        where="kinds.oss",
    )

    def location(self, endpoint: Endpoint, container: str, key: str = "") -> Location:
        fields: dict[str, Any] = {
            "endpoint": endpoint.url,
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
        context: dict[str, Any] = {}
        if endpoint.tls:  # no Argo field for a CA: the pod's trust store
            context["ca_bundle"] = endpoint.ca_bundle
        return Location(self.type, self.key_field, fields, secrets, context)

    def admin(self, endpoint: Endpoint) -> OSSAdmin:
        return OSSAdmin(endpoint)

    def wrong_secrets(self, location: Location) -> dict[str, dict[str, str]]:
        """The right key id with a wrong secret: only the signature check can refuse it."""
        secrets = {name: dict(keys) for name, keys in location.secrets.items()}
        secrets[SECRET]["secretKey"] = "artconf-wrong-" + os.urandom(8).hex()
        return secrets

    def tls_on_plain(self, location: Location) -> Location:
        endpoint = str(location.fields.get("endpoint", ""))
        return location.replace(endpoint=endpoint.replace("http://", "https://", 1))

    def sdk_chain(
        self, location: Location, endpoint: Endpoint, source: str, tmp: Path, env: Any
    ) -> Location:
        """credentials-go's chain: ALIBABA_CLOUD_* variables ("env"), or its credentials file."""
        creds = endpoint.credentials
        clean_chain(env, tmp)
        if source == "env":
            env.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", creds["access_key"])
            env.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", creds["secret_key"])
        else:
            path = tmp / "alibabacloud-credentials"
            path.write_text(
                "[default]\ntype = access_key\n"
                f"access_key_id = {creds['access_key']}\n"
                f"access_key_secret = {creds['secret_key']}\n"
            )
            env.setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", str(path))
        return location.replace(accessKeySecret=None, secretKeySecret=None, useSDKCreds=True)

    def session_token(
        self, location: Location, endpoint: Endpoint, *, with_token: bool = True
    ) -> Location:
        """The server's temporary STS triple: key and secret from a Secret, the token in the
        plain `securityToken` field (Argo's: spec 2.4)."""
        creds = endpoint.credentials
        if "sts_access_key" not in creds:
            raise NotImplementedError("this OSS endpoint has no temporary credentials")
        secrets = {
            **location.secrets,
            TEMPORARY_SECRET: {
                "accessKey": creds["sts_access_key"],
                "secretKey": creds["sts_secret_key"],
            },
        }
        return location.replace(
            accessKeySecret={"name": TEMPORARY_SECRET, "key": "accessKey"},
            secretKeySecret={"name": TEMPORARY_SECRET, "key": "secretKey"},
            securityToken=creds["sts_token"] if with_token else None,
        ).with_secrets(secrets)

    def creating_container(self, location: Location, *, object_locking: bool = False) -> Location:
        if object_locking:
            raise self._lacks("object locking")
        return location.replace(createBucketIfNotPresent=True)  # a bool for OSS (spec 2.4)

    def multipart(self, location: Location, size: int) -> tuple[Location, int | None]:
        """The kit's lowered threshold; Argo's split is ceil(size / threshold) + 1 parts."""
        threshold = THRESHOLD_MIB * MIB
        if size <= threshold:
            raise ValueError(f"{size} bytes is not above the {THRESHOLD_MIB} MiB threshold")
        settings = {
            **location.context.get("settings", {}),
            "ARTIFACT_OSS_MULTIPART_THRESHOLD_MIB": str(THRESHOLD_MIB),
        }
        return location.with_context(settings=settings), math.ceil(size / threshold) + 1

    def with_lifecycle(
        self, location: Location, infrequent_days: int, deletion_days: int
    ) -> Location:
        """`location` asking for Argo's lifecycle rule on its bucket (spec 2.4)."""
        return location.replace(
            lifecycleRule={
                "markInfrequentAccessAfterDays": infrequent_days,
                "markDeletionAfterDays": deletion_days,
            }
        )


def clean_chain(env: Any, tmp: Path) -> None:
    """A credential chain that finds nothing unless the case adds it (no machine state)."""
    for name in CHAIN_VARIABLES:
        env.delenv(name, raising=False)
    env.setenv("HOME", str(tmp))  # ~/.alibabacloud/credentials: none there


KIND = OSS()
