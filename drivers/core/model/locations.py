"""The ten artifact location types (spec 2.1-2.10) and the per-type key accessors (spec 0)."""

from __future__ import annotations

import json
import urllib.parse
from typing import Literal, Protocol

from pydantic import Field, model_validator

from drivers.core.errors import BadRequest
from drivers.core.model.base import (
    ArgoModel,
    ConfigMapKeySelector,
    SecretKeySelector,
    SecretText,
    TextOrSecret,
    rule_error,
    secret_if_named,
)
from drivers.core.secrets import SecretValue


class LocationType(Protocol):
    """What every concrete location offers (Go's ``ArtifactLocationType``)."""

    def has_location(self) -> bool:
        """Whether the location is complete enough to use without the repository's."""
        ...

    def get_key(self) -> str:
        """The key (object name, blob, path or URL path)."""
        ...

    def set_key(self, key: str) -> None:
        """Replace the key."""
        ...


def _check_key_pair(model: S3Bucket | OSSBucket, prefix: str = "") -> None:
    """Static credentials need both halves; Argo dereferences the second without a nil check."""
    if model.access_key_secret is not None and model.secret_key_secret is None:
        raise rule_error(f"{prefix}secretKeySecret", "required when accessKeySecret is set")
    if model.secret_key_secret is not None and model.access_key_secret is None:
        raise rule_error(f"{prefix}accessKeySecret", "required when secretKeySecret is set")


# ---------------------------------------------------------------------------------------- S3


class CreateS3BucketOptions(ArgoModel):
    """Presence (even ``{}``) enables bucket creation on save."""

    object_locking: bool = False


class S3EncryptionOptions(ArgoModel):
    """SSE settings; ``enableEncryption`` is the master switch (spec 2.1)."""

    kms_key_id: str = ""
    kms_encryption_context: str = ""
    enable_encryption: bool = False
    server_side_customer_key_secret: SecretKeySelector | None = None


AddressingStyle = Literal["", "path", "virtual-hosted"]


class S3Bucket(ArgoModel):
    """Fields shared by the S3 artifact and repository (spec 2.1)."""

    endpoint: str = ""
    bucket: str = ""
    region: str = ""
    insecure: bool | None = None
    access_key_secret: SecretKeySelector | None = None
    secret_key_secret: SecretKeySelector | None = None
    session_token_secret: SecretKeySelector | None = None
    role_arn: str = Field("", alias="roleARN")
    use_sdk_creds: bool = Field(False, alias="useSDKCreds")
    create_bucket_if_not_present: CreateS3BucketOptions | None = None
    encryption_options: S3EncryptionOptions | None = None
    ca_secret: SecretKeySelector | None = None
    addressing_style: AddressingStyle = ""

    @model_validator(mode="after")
    def _argo_rules(self) -> S3Bucket:
        _check_key_pair(self)
        enc = self.encryption_options
        if enc is None:
            return self
        if enc.kms_encryption_context:
            try:
                context = json.loads(enc.kms_encryption_context)
            except ValueError as exc:
                context = exc
            if not isinstance(context, dict):
                raise rule_error(
                    "encryptionOptions.kmsEncryptionContext",
                    'failed to parse KMS encryption context; use a JSON object such as {"k": "v"}',
                )
        if enc.server_side_customer_key_secret is None:
            return self
        if enc.kms_key_id:
            raise rule_error(
                "encryptionOptions",
                "serverSideCustomerKeySecret and kmsKeyId cannot be set together; keep one",
            )
        if self.insecure:
            raise rule_error(
                "encryptionOptions.serverSideCustomerKeySecret",
                "SSE-C requires TLS (secure must be set if EncryptOpts.SSECPassword is set); "
                "remove insecure: true",
            )
        if not enc.enable_encryption:
            raise rule_error(
                "encryptionOptions.enableEncryption",
                "must be true when serverSideCustomerKeySecret is set; Argo mounts the SSE-C "
                "secret only when encryption is enabled",
            )
        return self

    @property
    def secure(self) -> bool:
        """TLS unless ``insecure: true`` (there is no skip-verification option)."""
        return not self.insecure


class S3Artifact(S3Bucket):
    key: str = ""

    def has_location(self) -> bool:
        return bool(self.endpoint and self.bucket and self.key)

    def get_key(self) -> str:
        return self.key

    def set_key(self, key: str) -> None:
        self.key = key


# --------------------------------------------------------------------------------------- GCS


class GCSBucket(ArgoModel):
    bucket: str = ""
    service_account_key_secret: SecretKeySelector | None = None


class GCSArtifact(GCSBucket):
    key: str = ""

    def has_location(self) -> bool:
        return bool(self.bucket and self.key)

    def get_key(self) -> str:
        return self.key

    def set_key(self, key: str) -> None:
        self.key = key


# ------------------------------------------------------------------------------------- Azure


class AzureBlobContainer(ArgoModel):
    endpoint: str = ""
    container: str = ""
    account_key_secret: SecretKeySelector | None = None
    use_sdk_creds: bool = Field(False, alias="useSDKCreds")


class AzureArtifact(AzureBlobContainer):
    blob: str = ""

    def has_location(self) -> bool:
        return bool(self.endpoint and self.container and self.blob)

    def get_key(self) -> str:
        return self.blob

    def set_key(self, key: str) -> None:
        self.blob = key


# --------------------------------------------------------------------------------------- OSS


class OSSLifecycleRule(ArgoModel):
    mark_infrequent_access_after_days: int = Field(0, ge=0, le=2**31 - 1)
    mark_deletion_after_days: int = Field(0, ge=0, le=2**31 - 1)


class OSSBucket(ArgoModel):
    endpoint: str = ""
    bucket: str = ""
    access_key_secret: SecretKeySelector | None = None
    secret_key_secret: SecretKeySelector | None = None
    create_bucket_if_not_present: bool = False
    security_token: SecretText = SecretValue("")  # an STS token in the YAML itself
    lifecycle_rule: OSSLifecycleRule | None = None
    use_sdk_creds: bool = Field(False, alias="useSDKCreds")

    @model_validator(mode="after")
    def _argo_rules(self) -> OSSBucket:
        _check_key_pair(self)
        rule = self.lifecycle_rule
        if rule and rule.mark_infrequent_access_after_days > rule.mark_deletion_after_days:
            raise rule_error(
                "lifecycleRule.markInfrequentAccessAfterDays",
                "markInfrequentAccessAfterDays cannot be large than markDeletionAfterDays; "
                "lower it or raise markDeletionAfterDays",
            )
        return self


class OSSArtifact(OSSBucket):
    key: str = ""

    def has_location(self) -> bool:
        return bool(self.bucket and self.endpoint and self.key)

    def get_key(self) -> str:
        return self.key

    def set_key(self, key: str) -> None:
        self.key = key


# ------------------------------------------------------------------------ HTTP / Artifactory

# Go's url.PathEscape keeps these reserved characters in a path.
_GO_PATH_SAFE = "$&+,/:;=@"


def _url_path(url: str) -> str:
    """The decoded path of ``url``, as Go's ``url.URL.Path``."""
    try:
        return urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    except ValueError as exc:
        raise BadRequest(f"url {url!r} cannot be parsed: {exc}; fix the url") from exc


def _with_url_path(url: str, key: str) -> str:
    """``url`` with its path replaced by ``key``; query and fragment kept."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise BadRequest(f"url {url!r} cannot be parsed: {exc}; fix the url") from exc
    path = key if not key or key.startswith("/") or not parts.netloc else "/" + key
    return urllib.parse.urlunsplit(parts._replace(path=urllib.parse.quote(path, _GO_PATH_SAFE)))


class Header(ArgoModel):
    """A request header; the value of a credential header (``Authorization``...) is secret."""

    name: str
    value: TextOrSecret

    @model_validator(mode="after")
    def _secret_value(self) -> Header:
        self.value = secret_if_named(self.name, self.value)
        return self


class BasicAuth(ArgoModel):
    username_secret: SecretKeySelector | None = None
    password_secret: SecretKeySelector | None = None


class ClientCertAuth(ArgoModel):
    client_cert_secret: SecretKeySelector | None = None
    client_key_secret: SecretKeySelector | None = None


class OAuth2EndpointParam(ArgoModel):
    """An extra token-endpoint parameter; a credential one (``client_secret``...) is secret."""

    key: str
    value: TextOrSecret = ""

    @model_validator(mode="after")
    def _secret_value(self) -> OAuth2EndpointParam:
        self.value = secret_if_named(self.key, self.value)
        return self


class OAuth2Auth(ArgoModel):
    client_id_secret: SecretKeySelector | None = Field(None, alias="clientIDSecret")
    client_secret_secret: SecretKeySelector | None = None
    token_url_secret: SecretKeySelector | None = Field(None, alias="tokenURLSecret")
    scopes: list[str] = Field(default_factory=list)
    endpoint_params: list[OAuth2EndpointParam] = Field(default_factory=list)


class HTTPAuth(ArgoModel):
    client_cert: ClientCertAuth | None = None
    oauth2: OAuth2Auth | None = None
    basic_auth: BasicAuth | None = None


class HTTPArtifact(ArgoModel):
    headers: list[Header] = Field(default_factory=list)
    url: str
    auth: HTTPAuth | None = None
    save_stream_via_file: bool = False

    def has_location(self) -> bool:
        return bool(self.url)

    def get_key(self) -> str:
        return _url_path(self.url)

    def set_key(self, key: str) -> None:
        self.url = _with_url_path(self.url, key)


class ArtifactoryAuth(ArgoModel):
    username_secret: SecretKeySelector | None = None
    password_secret: SecretKeySelector | None = None


class ArtifactoryArtifact(ArtifactoryAuth):
    url: str

    def has_location(self) -> bool:
        return bool(self.url) and self.username_secret is not None

    def get_key(self) -> str:
        return _url_path(self.url)

    def set_key(self, key: str) -> None:
        self.url = _with_url_path(self.url, key)


# --------------------------------------------------------------------------------------- Git


class GitArtifact(ArgoModel):
    repo: str
    revision: str = ""
    depth: int | None = Field(None, ge=0, le=2**64 - 1)
    fetch: list[str] = Field(default_factory=list)
    username_secret: SecretKeySelector | None = None
    password_secret: SecretKeySelector | None = None
    ssh_private_key_secret: SecretKeySelector | None = None
    insecure_ignore_host_key: bool = False
    disable_submodules: bool = False
    single_branch: bool = False
    branch: str = ""
    insecure_skip_tls: bool = Field(False, alias="insecureSkipTLS")

    def has_location(self) -> bool:
        return bool(self.repo)

    def get_key(self) -> str:
        raise BadRequest("key unsupported: git artifact does not have a key")

    def set_key(self, key: str) -> None:
        raise BadRequest("key unsupported: cannot set key on git artifact")


# -------------------------------------------------------------------------------------- HDFS


class HDFSKrbConfig(ArgoModel):
    krb_ccache_secret: SecretKeySelector | None = Field(None, alias="krbCCacheSecret")
    krb_keytab_secret: SecretKeySelector | None = None
    krb_username: str = ""
    krb_realm: str = ""
    krb_config_config_map: ConfigMapKeySelector | None = None
    krb_service_principal_name: str = ""


class HDFSConfig(HDFSKrbConfig):
    addresses: list[str] = Field(default_factory=list)
    hdfs_user: str = ""
    data_transfer_protection: str = ""


class HDFSArtifact(HDFSConfig):
    path: str = ""
    force: bool = False

    def has_location(self) -> bool:
        return bool(self.addresses)

    def get_key(self) -> str:
        return self.path

    def set_key(self, key: str) -> None:
        self.path = key


# --------------------------------------------------------------------------------------- Raw


class RawArtifact(ArgoModel):
    data: str

    def has_location(self) -> bool:
        return True

    def get_key(self) -> str:
        raise BadRequest("key unsupported: raw artifact does not have a key")

    def set_key(self, key: str) -> None:
        raise BadRequest("key unsupported: cannot set key on raw artifact")


# ------------------------------------------------------------------------------------ Plugin


class PluginArtifact(ArgoModel):
    name: str = ""
    configuration: str = ""
    connection_timeout_seconds: int = Field(0, ge=0, le=2**31 - 1)
    key: str = ""

    def has_location(self) -> bool:
        return bool(self.name and self.configuration and self.key)

    def get_key(self) -> str:
        return self.key

    def set_key(self, key: str) -> None:
        self.key = key


#: The attribute holding the key of each type (the rest of a location is "where", not "what").
KEY_FIELD: dict[type[ArgoModel], str] = {
    S3Artifact: "key",
    GCSArtifact: "key",
    AzureArtifact: "blob",
    OSSArtifact: "key",
    HTTPArtifact: "url",
    ArtifactoryArtifact: "url",
    HDFSArtifact: "path",
    PluginArtifact: "key",
}
