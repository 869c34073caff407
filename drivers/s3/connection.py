"""How the S3 driver reaches a bucket: endpoint, trust, credentials, region, boto3 clients.

Spec 6.1 (TLS), 6.2 (region), 6.3 (credential precedence). Nothing here reads the CA environment
variables: every client gets ``verify=`` explicitly, and botocore's own retries are off because
the driver applies Argo's policies (spec 6.4) itself.
"""

from __future__ import annotations

import logging
import os
import re
import secrets as _secrets
import shutil
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialResolver, create_credential_resolver
from botocore.exceptions import ClientError, NoCredentialsError
from cryptography import x509

from drivers.core.context import DriverContext
from drivers.core.errors import BadRequest, Unauthorized
from drivers.core.model import S3Bucket
from drivers.core.secrets import SecretSource, SecretValue, read_selector

log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
STS_SESSION_NAME = "argo-artifact-conformance"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0

_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?$")
# minio-go's BucketLookupAuto uses virtual-hosted requests only for these providers.
_VIRTUAL_BY_DEFAULT = re.compile(
    r"(^|\.)(amazonaws\.com|amazonaws\.com\.cn|storage\.googleapis\.com|aliyuncs\.com)$"
)
# minio-go's NewIAM("") chain: IRSA web identity, ECS / EKS Pod Identity, EC2 instance metadata.
IAM_PROVIDER_METHODS = frozenset({"assume-role-with-web-identity", "container-role", "iam-role"})
_REGION_HINT_CODES = frozenset({"AuthorizationHeaderMalformed", "InvalidRegion", "AccessDenied"})
_ADDRESSING = {"path": "path", "virtual-hosted": "virtual"}


@dataclass(frozen=True)
class StaticKeys:
    access_key: SecretValue
    secret_key: SecretValue
    session_token: SecretValue | None = None

    def client_kwargs(self) -> dict[str, str | None]:
        return {
            "aws_access_key_id": self.access_key.reveal(),
            "aws_secret_access_key": self.secret_key.reveal(),
            "aws_session_token": self.session_token.reveal() if self.session_token else None,
        }


def endpoint_url(s3: S3Bucket) -> str:
    """``http(s)://host[:port]`` from Argo's scheme-less ``endpoint`` and ``insecure``."""
    endpoint = s3.endpoint.strip()
    if not endpoint:
        raise BadRequest("s3.endpoint: required, as host[:port] (e.g. s3.amazonaws.com)")
    if not _HOST_PORT.match(endpoint):
        raise BadRequest(
            f"s3.endpoint: {endpoint!r} is not host[:port]; drop any scheme or path "
            "(use insecure: true for plain HTTP)"
        )
    return ("https" if s3.secure else "http") + "://" + endpoint


def addressing_style(s3: S3Bucket, bucket: str) -> str:
    """botocore's addressing style for Argo's ``addressingStyle`` and this bucket.

    "" is minio-go's auto: virtual-hosted only for AWS, Google and Aliyun endpoints, and not for
    a bucket with dots over HTTPS (its name would break certificate validation); else path.
    """
    if s3.addressing_style in _ADDRESSING:
        return _ADDRESSING[s3.addressing_style]
    host = s3.endpoint.rsplit(":", 1)[0].lower()
    if _VIRTUAL_BY_DEFAULT.search(host) and not (s3.secure and "." in bucket):
        return "virtual"
    return "path"


def load_pem_bundle(pem: bytes) -> list[x509.Certificate]:
    """The certificates of a ``caSecret``; BAD_REQUEST when none parses (deviation)."""
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise BadRequest(
            "s3.caSecret: no PEM certificate could be read from the secret; it must hold one "
            "or more '-----BEGIN CERTIFICATE-----' blocks (the CA that signed the server's "
            "certificate)",
            cause=exc,
        ) from None
    return certificates


class PrivateCA:
    """The ``caSecret`` PEM in a 0600 file inside a private 0700 directory of ``temp_dir``.

    The directory name comes from ``secrets`` rather than ``tempfile``; the file is removed by
    :meth:`remove` (the driver's ``close``) or, failing that, when the object is collected.
    """

    def __init__(self, pem: bytes, temp_dir: Path):
        load_pem_bundle(pem)
        self.directory = Path(temp_dir) / f"artconf-s3-ca-{_secrets.token_hex(8)}"
        os.mkdir(self.directory, 0o700)
        self.path = self.directory / "ca.pem"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.directory, True)

    def remove(self) -> None:
        self._finalizer()


class Connection:
    """Credentials, trust and one boto3 client per region for one S3 location."""

    def __init__(self, s3: S3Bucket, secrets: SecretSource, context: DriverContext):
        self.s3 = s3
        self.context = context
        self.url = endpoint_url(s3)
        self.static_keys = _read_static_keys(s3, secrets)
        self.ca: PrivateCA | None = None
        if s3.secure and s3.ca_secret is not None:
            pem = read_selector(secrets, s3.ca_secret, field="s3.caSecret")
            if pem is not None:
                self.ca = PrivateCA(pem.reveal_bytes(), context.temp_dir)
        self.verify: str | bool = str(self.ca.path) if self.ca else context.verify
        # One botocore session per driver: clients inherit handlers registered on its events
        # (tests inject faults there), and the process-wide default session is never touched.
        self.boto_session = boto3.Session(botocore_session=_new_botocore_session())
        self._clients: dict[tuple[str, str], Any] = {}
        self._regions: dict[str, str] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ clients

    def config(self, region: str, addressing: str = "path", max_pool: int = 10) -> Config:
        return Config(
            region_name=region,
            signature_version="s3v4",
            retries={"total_max_attempts": 1, "mode": "standard"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": addressing},
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            max_pool_connections=max_pool,
        )

    def client(self, region: str, bucket: str = "") -> Any:
        """The S3 client for ``region`` and ``bucket``, built (fresh credentials) on first use."""
        addressing = addressing_style(self.s3, bucket)
        ident = (region, addressing)
        with self._lock:
            if ident not in self._clients:
                credentials = self._credentials(region)
                client = self.boto_session.client(
                    "s3",
                    endpoint_url=self.url,
                    region_name=region,
                    verify=self.verify,
                    config=self.config(region, addressing, max_pool=16),
                    **credentials,
                )
                # A region given (or discovered) is used as is, as minio-go does: no silent
                # redirect to the region named in an AuthorizationHeaderMalformed error.
                client.meta.events.register("before-call.s3", _no_region_redirect)
                self._clients[ident] = client
            return self._clients[ident]

    def reset(self) -> None:
        """Forget the clients (Argo builds a new client, with new credentials, per attempt)."""
        with self._lock:
            clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()

    def close(self) -> None:
        self.reset()
        if self.ca is not None:
            self.ca.remove()

    # ------------------------------------------------------------------ region (spec 6.2)

    def region_for(self, bucket: str) -> str:
        """``region`` if set, else the bucket's location (GetBucketLocation, cached)."""
        if self.s3.region:
            return self.s3.region
        with self._lock:
            if bucket not in self._regions:
                self._regions[bucket] = self._discover_region(bucket)
            return self._regions[bucket]

    def _discover_region(self, bucket: str) -> str:
        try:
            answer = self.client(DEFAULT_REGION, bucket).get_bucket_location(Bucket=bucket)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            # minio-go: these mean "signed for the wrong region" or an anonymous caller; the
            # error names the right region, else the default one is tried.
            if error.get("Code") in _REGION_HINT_CODES:
                return error.get("Region") or DEFAULT_REGION
            raise
        location = answer.get("LocationConstraint") or DEFAULT_REGION
        return "eu-west-1" if location == "EU" else location

    def region_for_create(self, bucket: str) -> str:
        """The region to create ``bucket`` in: ``region``, else what the server reveals."""
        if self.s3.region:
            return self.s3.region
        try:
            return self.region_for(bucket)
        except ClientError as exc:
            # NoSuchBucket; MinIO names its own region in the error.
            return exc.response.get("Error", {}).get("Region") or DEFAULT_REGION

    # ------------------------------------------------------------------ credentials (6.3)

    def _credentials(self, region: str) -> dict[str, str | None]:
        if self.static_keys is not None:
            return self.static_keys.client_kwargs()
        if self.s3.role_arn:
            return self._assume_role()
        if self.s3.use_sdk_creds:
            credentials = self.boto_session.get_credentials()
            source = "useSDKCreds: the AWS default credential chain (environment, "
            source += "AWS_SHARED_CREDENTIALS_FILE, web identity, container, instance metadata)"
        else:
            botocore_session = self.boto_session._session
            chain = create_credential_resolver(botocore_session)
            resolver = CredentialResolver(
                [p for p in chain.providers if p.METHOD in IAM_PROVIDER_METHODS]
            )
            credentials = resolver.load_credentials()
            source = (
                "the IAM provider (no accessKeySecret/secretKeySecret, roleARN or useSDKCreds "
                "set): web identity, container credentials or instance metadata"
            )
        if credentials is None:
            raise Unauthorized(
                f"s3: no credentials found for {self.url} from {source}; set "
                "accessKeySecret and secretKeySecret, roleARN, or useSDKCreds"
            )
        frozen = credentials.get_frozen_credentials()
        return {
            "aws_access_key_id": frozen.access_key,
            "aws_secret_access_key": frozen.secret_key,
            "aws_session_token": frozen.token,
        }

    def _assume_role(self) -> dict[str, str | None]:
        """STS AssumeRole with the default chain's credentials (frozen, as Argo does)."""
        region = self.s3.region or DEFAULT_REGION
        host = self.s3.endpoint.rsplit(":", 1)[0].lower()
        # AWS's S3 endpoints serve no STS: use the regional STS endpoint there; any other
        # server (MinIO) answers STS at the same endpoint as S3.
        sts_url = None if _VIRTUAL_BY_DEFAULT.search(host) else self.url
        sts = self.boto_session.client(
            "sts",
            endpoint_url=sts_url,
            region_name=region,
            verify=self.verify,
            config=self.config(region),
        )
        try:
            answer = sts.assume_role(RoleArn=self.s3.role_arn, RoleSessionName=STS_SESSION_NAME)
        except NoCredentialsError as exc:
            raise Unauthorized(
                f"s3.roleARN: no source credentials for AssumeRole at {sts_url or 'AWS STS'}: "
                "the AWS default chain (environment, shared files, web identity, container, "
                "instance metadata) found none",
                cause=exc,
            ) from None
        finally:
            sts.close()
        creds = answer["Credentials"]
        return {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }


_LOADER_LOCK = threading.Lock()
_SHARED_LOADER: Any = None


def _new_botocore_session() -> botocore.session.Session:
    """A fresh session sharing one model loader: parsing S3's model again costs ~0.3 s."""
    global _SHARED_LOADER
    session = botocore.session.Session()
    with _LOADER_LOCK:
        if _SHARED_LOADER is None:
            _SHARED_LOADER = session.get_component("data_loader")
    session.register_component("data_loader", _SHARED_LOADER)
    return session


def _read_static_keys(s3: S3Bucket, secrets: SecretSource) -> StaticKeys | None:
    """Static keys, whitespace stripped (deviation ``s3-untrimmed-credentials``)."""
    access = read_selector(secrets, s3.access_key_secret, field="s3.accessKeySecret")
    secret = read_selector(secrets, s3.secret_key_secret, field="s3.secretKeySecret")
    if access is not None and secret is None and s3.secret_key_secret is None:
        raise BadRequest("s3.secretKeySecret: required when accessKeySecret is set")
    if access is None or secret is None:
        return None
    access, secret = access.strip(), secret.strip()
    if not access or not secret:
        return None
    token = read_selector(secrets, s3.session_token_secret, field="s3.sessionTokenSecret")
    token = token.strip() if token is not None else None
    return StaticKeys(access, secret, token or None)


def _no_region_redirect(params: dict[str, Any], **_: Any) -> None:
    """Mark the request as already redirected, which botocore's region redirector skips."""
    redirect = params.get("context", {}).get("s3_redirect")
    if isinstance(redirect, dict):
        redirect["redirected"] = True
