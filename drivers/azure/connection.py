"""How the Azure driver reaches a container: location, credentials, trust, SDK transport.

Location
    ``endpoint`` is the blob service URL; the container is appended to its path, so Azurite's
    ``http://127.0.0.1:10000/devstoreaccount1`` and Azure's ``https://acct.blob.core.windows.net``
    both work. The shared-key account name follows Argo's rule (:func:`determine_account_name`).

Credentials (read once, from the artifact given to the constructor)
    * ``useSDKCreds: true``: ``azure.identity.DefaultAzureCredential``; the key is ignored. Token
      credentials are only ever sent over https, so a plain-http endpoint is ERR_BAD_REQUEST, and
      a credential chain that cannot get a token is ERR_UNAUTHORIZED naming what was tried.
    * otherwise ``accountKeySecret`` is required (Argo's ERR_BAD_REQUEST text otherwise). A value
      that looks like query parameters (``?k=v`` or ``&k=v``, :func:`is_sas_account_key`) is a SAS
      token: an anonymous client on ``<containerURL>?<sas>``. Anything else is an account key
      (shared key). Surrounding whitespace is stripped from either (a trailing newline in a
      Secret would otherwise break the signature or the URL).

Transport and retries
    * Blob names are sent verbatim, ``.`` and ``..`` segments included
      (:func:`escape_dot_segments`): ``a/../b`` is a blob of that name, never ``b``.
    * TLS trusts ``DriverContext.ca_bundle`` (``connection_verify``), falling back to the OS
      bundle, never the CA environment variables.
    * Argo leaves retries to the SDK pipeline; so do we, with the SDK's exponential policy and its
      default of 3 retries per request, except that a certificate-verification failure is never
      retried (it cannot heal, and the SDK would otherwise spend ~80 s on it).
    * Setting (``DriverContext.settings``, from the environment variable of the same name):
      ``ARTIFACT_AZURE_RETRY_TOTAL``: retries per HTTP request (default 3; 0 disables).
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import ContainerClient, ExponentialRetry

from drivers.core.context import DriverContext, system_ca_bundle
from drivers.core.errors import BadRequest, is_cert_failure
from drivers.core.model import AzureArtifact
from drivers.core.secrets import SecretSource, SecretValue, read_selector

MiB = 1024 * 1024
#: Upload block size; a blob larger than :data:`SINGLE_PUT_MAX` is uploaded in blocks.
BLOCK_SIZE = 4 * MiB
#: Largest upload sent as one Put Blob request.
SINGLE_PUT_MAX = 4 * MiB
#: Download request size, for the first request and every following one. The SDK and urllib3
#: copy each chunk several times: measured peak of ``open_stream`` is about 9 chunks (~9 MiB),
#: whatever the blob's size.
CHUNK_SIZE = 1 * MiB
#: Buffer of the reader returned by ``open_stream``, and the size of response body reads.
STREAM_BUFFER = 64 * 1024
#: Seconds to connect, and to wait for each read (azure-storage-blob's defaults).
CONNECTION_TIMEOUT = 20
READ_TIMEOUT = 60

RETRY_TOTAL_SETTING = "ARTIFACT_AZURE_RETRY_TOTAL"
DEFAULT_RETRY_TOTAL = 3  # azure-storage-blob's ExponentialRetry default

MISSING_KEY_ERROR = "accountKeySecret is required for Azure Blob Storage if useSDKCreds is false"

_SAS_PARAMETER = re.compile(r"[?&][\w.-]+=[^&]")


# --------------------------------------------------------------------------------------------
# Location rules (pure functions, unit-tested)
# --------------------------------------------------------------------------------------------


def _split_endpoint(endpoint: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(
            f"azure.endpoint: {endpoint!r} is not an http(s) URL; expected the blob service URL, "
            "e.g. https://<account>.blob.core.windows.net"
        )
    return parts


def determine_account_name(endpoint: str) -> str:
    """The storage account of ``endpoint`` (Argo's ``determineAccountName``).

    The first DNS label of the host; for hosts starting with ``127.0.0.1`` or ``localhost``
    (Azurite's path-style URLs) the first path segment instead.
    """
    parts = _split_endpoint(endpoint)
    host = parts.hostname or ""
    if host.startswith(("127.0.0.1", "localhost")):
        segments = parts.path.split("/")
        name = segments[1] if len(segments) > 1 else ""
    else:
        name = host.split(".")[0]
    if not name:
        raise BadRequest(
            f"azure.endpoint: cannot determine the storage account name from {endpoint!r}: "
            "use https://<account>.blob.core.windows.net, or http://127.0.0.1:<port>/<account> "
            "for Azurite"
        )
    return name


def container_url(endpoint: str, container: str) -> str:
    """``endpoint`` with ``container`` appended to its path (query and fragment dropped)."""
    parts = _split_endpoint(endpoint)
    path = f"{parts.path.rstrip('/')}/{container}"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_sas_account_key(value: str) -> bool:
    """Whether an ``accountKeySecret`` value is a SAS token: it contains ``?k=v`` or ``&k=v``.

    Account keys are base64 and never contain ``?`` or ``&``; a SAS token has several parameters
    (``sv=..&sig=..``), with or without a leading ``?``.
    """
    return _SAS_PARAMETER.search(value) is not None


def escape_dot_segments(url: str) -> str:
    """``url`` with its ``.`` and ``..`` path segments percent-encoded (``%2E``, ``%2E%2E``).

    Blob names are keys, kept verbatim (spec 4.7): ``a/../b`` is a blob of that name. requests
    (through urllib3's ``parse_url``) would resolve such segments after the SDK has signed the
    path, sending another name and breaking the shared-key signature. Encoded segments survive
    that step, and requests decodes the unreserved ``%2E`` again, so the server receives the
    path the SDK signed.
    """
    parts = urllib.parse.urlsplit(url)
    segments = parts.path.split("/")
    if not any(segment in (".", "..") for segment in segments):
        return url
    path = "/".join(s.replace(".", "%2E") if s in (".", "..") else s for s in segments)
    return urllib.parse.urlunsplit(parts._replace(path=path))


# --------------------------------------------------------------------------------------------
# The SDK pipeline: transport and retries
# --------------------------------------------------------------------------------------------


def _retry_total(settings: Any) -> int:
    raw = settings.get(RETRY_TOTAL_SETTING)
    if raw is None or str(raw).strip() == "":
        return DEFAULT_RETRY_TOTAL
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = -1
    if value < 0:
        raise BadRequest(f"{RETRY_TOTAL_SETTING}={raw!r}: expected a whole number of retries >= 0")
    return value


def is_credential_failure(exc: BaseException) -> bool:
    """A token credential (DefaultAzureCredential) failed: no request reached the server."""
    return isinstance(exc, ClientAuthenticationError) and exc.response is None


class _VerbatimPathTransport(RequestsTransport):
    """The SDK's requests transport, sending dot segments of blob names verbatim."""

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        request.url = escape_dot_segments(request.url)
        return super().send(request, **kwargs)


class _RetryPolicy(ExponentialRetry):
    """The SDK's exponential retry, except that failures retrying cannot heal are not retried:
    certificate verification, and a token credential that could not get a token (the credential
    policy runs after the retry policy, so the SDK would otherwise retry it with backoff)."""

    def increment(self, settings, request, response=None, error=None) -> bool:  # type: ignore[override]
        if error is not None and (is_cert_failure(error) or is_credential_failure(error)):
            return False
        return super().increment(settings, request, response=response, error=error)


# --------------------------------------------------------------------------------------------
# The connection
# --------------------------------------------------------------------------------------------


class Connection:
    """Credentials, trust and one ``ContainerClient`` per endpoint and container."""

    def __init__(self, location: AzureArtifact, secrets: SecretSource, context: DriverContext):
        self.retry_total = _retry_total(context.settings)
        self.verify: str | bool = context.ca_bundle or system_ca_bundle() or True
        self.use_sdk_creds = location.use_sdk_creds
        self.account_key: SecretValue | None = None
        self.sas: SecretValue | None = None
        self._token_credential: Any = None
        self._clients: dict[tuple[str, str], ContainerClient] = {}
        if not self.use_sdk_creds:
            secret = read_selector(
                secrets, location.account_key_secret, field="azure.accountKeySecret"
            )
            if secret is None or not secret.strip():
                raise BadRequest(MISSING_KEY_ERROR)
            secret = secret.strip()
            if is_sas_account_key(secret.reveal()):
                self.sas = secret
            else:
                self.account_key = secret

    def client(self, location: AzureArtifact) -> ContainerClient:
        """The client of the location's container, built on first use."""
        key = (location.endpoint, location.container)
        client = self._clients.get(key)
        if client is None:
            client = self._new_client(location.endpoint, location.container)
            self._clients[key] = client
        return client

    def secrets(self) -> list[SecretValue]:
        """The secret values an error message must never show."""
        return [s for s in (self.sas, self.account_key) if s is not None]

    def close(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()
        credential, self._token_credential = self._token_credential, None
        if credential is not None:
            credential.close()

    def _client_options(self) -> dict[str, Any]:
        transport = _VerbatimPathTransport(
            connection_verify=self.verify,
            connection_timeout=CONNECTION_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            connection_data_block_size=STREAM_BUFFER,
        )
        return {
            "transport": transport,
            "retry_policy": _RetryPolicy(retry_total=self.retry_total),
            "max_single_put_size": SINGLE_PUT_MAX,
            "max_block_size": BLOCK_SIZE,
            "max_single_get_size": CHUNK_SIZE,
            "max_chunk_get_size": CHUNK_SIZE,
        }

    def _new_client(self, endpoint: str, container: str) -> ContainerClient:
        url = container_url(endpoint, container)
        account_url = url.rsplit("/", 1)[0]
        options = self._client_options()
        if self.use_sdk_creds:
            if urllib.parse.urlsplit(url).scheme != "https":
                raise BadRequest(
                    f"azure.useSDKCreds: endpoint {endpoint!r} is not https; Azure token "
                    "credentials are never sent over plain HTTP: use an https endpoint, or "
                    "accountKeySecret with useSDKCreds: false"
                )
            if self._token_credential is None:
                from azure.identity import DefaultAzureCredential

                self._token_credential = DefaultAzureCredential()
            return ContainerClient(account_url, container, self._token_credential, **options)
        if self.sas is not None:
            sas = self.sas.reveal().lstrip("?&")
            return ContainerClient.from_container_url(f"{url}?{sas}", **options)
        assert self.account_key is not None
        credential = AzureNamedKeyCredential(
            determine_account_name(endpoint), self.account_key.reveal()
        )
        return ContainerClient(account_url, container, credential, **options)
