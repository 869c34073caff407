"""How the OSS driver reaches a bucket: endpoint, trust, credentials, signing, one client.

Endpoint: Argo's ``endpoint`` field; without a scheme it is ``http://``, as the Go SDK Argo uses
(aliyun-oss-go-sdk v3.0.2) assumes. Requests to an IP endpoint are path-style in both SDKs.

Trust: Argo's OSS driver has no CA field; the Go SDK trusts the pod's trust store. Here that is
``context.ca_bundle`` (the kit's CA in TLS mode), handed to one ``requests`` session with
``trust_env = False`` so no CA variable decides it. SDK retries are off: Argo's OSS backoff
(``drivers.core.retry``) is the only retry.

Signing: V1, the Go SDK's default. Its security token goes in ``x-oss-security-token``, which
V1 signs with the other ``x-oss-*`` headers, as the Go SDK does (the Python SDK's own V1
signer sends it as an unsigned ``security-token`` header instead).

Credentials (spec 1.2, 2.4): the static pair from ``accessKeySecret``/``secretKeySecret`` (read
only when ``useSDKCreds`` is false and ``accessKeySecret.name`` is set), with the plain-text
``securityToken``; with ``useSDKCreds``, the part of the aliyun credentials-go default chain that
can be followed without a cloud: ``ALIBABA_CLOUD_ACCESS_KEY_ID``/``_SECRET``/``_SECURITY_TOKEN``,
then the credentials file (``ALIBABA_CLOUD_CREDENTIALS_FILE`` or ``~/.alibabacloud/credentials``,
profile ``ALIBABA_CLOUD_PROFILE`` or ``default``, type ``access_key`` or ``sts``). RRSA/OIDC and
the ECS RAM role are not followed (a BAD_REQUEST says so).
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import alibabacloud_oss_v2 as oss
import requests
from alibabacloud_oss_v2 import transport
from alibabacloud_oss_v2.signer import SignerV1
from alibabacloud_oss_v2.types import Credentials, SigningContext

from drivers.core.context import DriverContext
from drivers.core.errors import BadRequest
from drivers.core.model import OSSArtifact
from drivers.core.secrets import SecretSource, SecretValue, read_selector

#: V1 signs no region; the client needs one anyway. Taken from an `oss-<region>` host when
#: there is one.
DEFAULT_REGION = "cn-hangzhou"
#: (connect, read) seconds for every request.
TIMEOUT: tuple[float, float] = (10.0, 120.0)


class GoStyleSignerV1(SignerV1):
    """V1 with the security token in ``x-oss-security-token``, signed, as the Go SDK sends it."""

    def sign(self, signing_ctx: SigningContext) -> None:
        cred = signing_ctx.credentials
        if cred is None or not cred.security_token or signing_ctx.auth_method_query:
            return super().sign(signing_ctx)
        signing_ctx.request.headers["x-oss-security-token"] = cred.security_token
        signing_ctx.credentials = Credentials(cred.access_key_id, cred.access_key_secret)
        try:
            super().sign(signing_ctx)
        finally:
            signing_ctx.credentials = cred


class _Transport(transport.RequestsHttpClient):
    """The SDK's requests transport, verifying with the bundle we choose, and keeping keys with
    `.`/`..` segments verbatim (spec 4.7): urllib3 would resolve them away after signing, so
    they go percent-encoded, which OSS decodes back to the same key."""

    def __init__(self, verify: str | bool, session: requests.Session):
        super().__init__(session=session, connect_timeout=TIMEOUT[0], readwrite_timeout=TIMEOUT[1])
        self._verify = verify

    def send(self, request: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url)
        segments = parts.path.split("/")
        if any(s in (".", "..") for s in segments):
            path = "/".join(s.replace(".", "%2E") if s in (".", "..") else s for s in segments)
            request.url = urlunsplit(parts._replace(path=path))
        return super().send(request, **kwargs)


class _Keys(oss.credentials.CredentialsProvider):
    """Fixed credentials whose secrets stay `SecretValue`s until a request is signed."""

    def __init__(self, key_id: SecretValue, secret: SecretValue, token: SecretValue):
        self._id, self._secret, self._token = key_id, secret, token

    def get_credentials(self) -> Credentials:
        return Credentials(self._id.reveal(), self._secret.reveal(), self._token.reveal() or None)

    def __repr__(self) -> str:
        return "<oss credentials, redacted>"


def endpoint_url(endpoint: str) -> str:
    """Argo's endpoint as a URL: ``http://`` when it names no scheme (the Go SDK's default)."""
    endpoint = endpoint.strip()
    if not endpoint:
        raise BadRequest(
            "oss: the endpoint is empty; set oss.endpoint (e.g. http://oss-cn-hangzhou.aliyuncs.com)"
        )
    return endpoint if "://" in endpoint else "http://" + endpoint


def region_of(url: str) -> str:
    host = urlsplit(url).hostname or ""
    label = host.split(".", 1)[0]
    if label.startswith("oss-") and len(label) > 4:
        return label[4:].removesuffix("-internal")
    return DEFAULT_REGION


class Connection:
    """The one client every request of an OSS driver goes through, built on first use."""

    def __init__(self, location: OSSArtifact, secrets: SecretSource, context: DriverContext):
        self.location = location
        self.secrets = secrets
        self.context = context
        self.url = endpoint_url(location.endpoint)
        self._session: requests.Session | None = None
        self._client: oss.Client | None = None

    @property
    def endpoint(self) -> str:
        return self.url

    @property
    def client(self) -> oss.Client:
        if self._client is None:
            config = oss.config.Config(
                region=region_of(self.url),
                endpoint=self.url,
                credentials_provider=self._credentials(),
                signature_version="v1",
                retry_max_attempts=1,
                retryer=oss.retry.NopRetryer(),
                connect_timeout=TIMEOUT[0],
                readwrite_timeout=TIMEOUT[1],
            )
            session = requests.Session()
            session.trust_env = False  # else REQUESTS_CA_BUNDLE & co. override `verify`
            self._session = session
            config.http_client = _Transport(self.context.verify, session)
            self._client = oss.Client(config, signer=GoStyleSignerV1())
        return self._client

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        self._session = self._client = None

    # ------------------------------------------------------------------ credentials

    def _credentials(self) -> oss.credentials.CredentialsProvider:
        location = self.location
        if location.use_sdk_creds:
            return sdk_chain()
        selector = location.access_key_secret
        if selector is None or not selector.name:
            raise BadRequest(
                "oss: no credentials: set accessKeySecret and secretKeySecret, or useSDKCreds "
                "to use the aliyun default credential chain"
            )
        key_id = read_selector(self.secrets, selector, field="oss.accessKeySecret")
        secret = read_selector(
            self.secrets, location.secret_key_secret, field="oss.secretKeySecret"
        )
        if key_id is None or secret is None:
            raise BadRequest("oss: accessKeySecret and secretKeySecret must both name a Secret key")
        return _Keys(key_id.strip(), secret.strip(), location.security_token)


def sdk_chain(environ: os._Environ[str] | dict[str, str] | None = None) -> _Keys:
    """The static parts of credentials-go's default chain: environment, then the file."""
    env = os.environ if environ is None else environ
    key_id = env.get("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
    secret = env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "")
    if key_id and secret:
        token = env.get("ALIBABA_CLOUD_SECURITY_TOKEN", "")
        return _Keys(SecretValue(key_id), SecretValue(secret), SecretValue(token))
    path = Path(
        env.get("ALIBABA_CLOUD_CREDENTIALS_FILE")
        or Path(env.get("HOME", "~")).expanduser() / ".alibabacloud" / "credentials"
    )
    profile = env.get("ALIBABA_CLOUD_PROFILE", "default")
    if path.is_file():
        parser = configparser.ConfigParser()
        parser.read(path)
        if parser.has_section(profile):
            section = parser[profile]
            kind = section.get("type", "access_key")
            if kind in ("access_key", "sts") and section.get("access_key_id"):
                return _Keys(
                    SecretValue(section.get("access_key_id", "")),
                    SecretValue(section.get("access_key_secret", "")),
                    SecretValue(section.get("security_token", "") if kind == "sts" else ""),
                )
            raise BadRequest(
                f"oss: useSDKCreds: profile {profile!r} in {path} has type {kind!r}; only "
                "access_key and sts profiles are followed by this driver"
            )
    raise BadRequest(
        "oss: useSDKCreds found no credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET, or a credentials file (ALIBABA_CLOUD_CREDENTIALS_FILE); "
        "RRSA/OIDC and ECS RAM roles are not followed by this driver"
    )
