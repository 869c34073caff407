"""How the GCS driver reaches a bucket: endpoint, trust, credentials, one session and client.

Transport: the endpoint is ``context.gcs_endpoint`` (Google's by default) and always passed to
the SDK explicitly, so ``STORAGE_EMULATOR_HOST`` and ``API_ENDPOINT_OVERRIDE`` are ignored. One
``requests`` session with ``trust_env = False`` carries ``verify = context.ca_bundle``: the CA
environment variables never decide what we trust. SDK retries are off (``retry=None``, explicit
timeouts, no 401 replay), so Argo's GCS backoff (``drivers.core.retry``) is the only retry.

Credentials: ``serviceAccountKeySecret`` (a service-account JSON key) signs a self-signed JWT per
request (no token endpoint is contacted); without it, Application Default Credentials, and
without those a BAD_REQUEST saying so. Never anonymous.
"""

from __future__ import annotations

import json

import google.auth
import google.auth.exceptions
import requests
from google.api_core.client_options import ClientOptions
from google.auth.credentials import Credentials
from google.auth.transport.requests import AuthorizedSession, Request
from google.cloud import storage
from google.oauth2 import service_account

from drivers.core.context import DriverContext
from drivers.core.errors import BadRequest
from drivers.core.model import SecretKeySelector
from drivers.core.secrets import SecretSource, read_selector

#: Google's JSON API; used when ``context.gcs_endpoint`` is unset.
GOOGLE_ENDPOINT = "https://storage.googleapis.com"
#: The scopes google-cloud-storage asks for (full control, read-only, read-write), carried as the
#: ``scope`` claim of the self-signed JWT.
SCOPES: tuple[str, ...] = tuple(storage.Client.SCOPE)


class Connection:
    """The one ``requests`` session every request of a GCS driver goes through, and its client.

    Both are built on first use: credentials are resolved then (a bad key or missing ADC is a
    BAD_REQUEST from the first operation, not from the constructor).
    """

    def __init__(
        self,
        key_selector: SecretKeySelector | None,
        secrets: SecretSource,
        context: DriverContext,
    ):
        self.secrets = secrets
        self.key_selector = key_selector
        self.endpoint = (context.gcs_endpoint or GOOGLE_ENDPOINT).rstrip("/")
        self.verify: str | bool = context.verify
        self._session: AuthorizedSession | None = None
        self._client: storage.Client | None = None
        self._auth_session: requests.Session | None = None

    # ------------------------------------------------------------------ session and client

    @property
    def session(self) -> AuthorizedSession:
        if self._session is None:
            session = AuthorizedSession(
                self._credentials(),
                auth_request=self._auth_request(),
                refresh_status_codes=(),  # no silent replay of a rejected request
            )
            session.trust_env = False
            session.verify = self.verify
            # trust_env=False also drops the proxy variables: resolve them once for our endpoint.
            session.proxies.update(requests.utils.get_environ_proxies(self.endpoint))
            self._session = session
        return self._session

    @property
    def client(self) -> storage.Client:
        if self._client is None:
            session = self.session
            self._client = storage.Client(
                project=None,  # never detect one: we only touch objects of a named bucket
                credentials=session.credentials,
                client_options=ClientOptions(api_endpoint=self.endpoint),
                _http=session,
            )
            # google-cloud-storage 3.x prefetches bucket metadata for tracing in a background
            # thread (a buckets.get per bucket): requests outside our retry policy, needing a
            # permission Argo's driver never needs. Turn it off for this client only.
            if getattr(self._client, "_bucket_metadata_cache", None) is not None:
                self._client._bucket_metadata_cache = None
        return self._client

    def close(self) -> None:
        for session in (self._session, self._auth_session):
            if session is not None:
                session.close()
        self._session = self._client = self._auth_session = None

    # ------------------------------------------------------------------ credentials

    def _plain_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE & co. silently override `verify`
        session.verify = self.verify
        return session

    def _auth_request(self) -> Request:
        """Transport for credential refreshes (ADC metadata or token endpoint), same trust."""
        if self._auth_session is None:
            self._auth_session = self._plain_session()
        return Request(self._auth_session)

    def _credentials(self) -> Credentials:
        secret = read_selector(self.secrets, self.key_selector, field="gcs.serviceAccountKeySecret")
        if secret is not None:
            return service_account_credentials(secret.reveal_bytes())
        try:
            credentials, _ = google.auth.default(scopes=SCOPES, request=self._auth_request())
            # Never a project from ADC: the client is built with project=None.
        except google.auth.exceptions.DefaultCredentialsError as exc:
            raise BadRequest(
                "gcs: no credentials: serviceAccountKeySecret is not set and Application Default "
                "Credentials are not available; set serviceAccountKeySecret to a service-account "
                "JSON key, or run with Workload Identity or GOOGLE_APPLICATION_CREDENTIALS "
                f"(cause: {exc})",
                cause=exc,
            ) from exc
        if isinstance(credentials, service_account.Credentials):
            # A key file found through ADC signs its own JWTs too: no token endpoint round trip.
            credentials = credentials.with_always_use_jwt_access(True)
        return credentials


def service_account_credentials(raw: bytes) -> Credentials:
    """Self-signed-JWT credentials from a service-account JSON key; BAD_REQUEST if unusable."""
    field = "gcs.serviceAccountKeySecret"
    try:
        info = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        # The message of a JSON error quotes no content, only a position.
        raise BadRequest(f"{field}: not a JSON service-account key ({exc})") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        kind = info.get("type") if isinstance(info, dict) else type(info).__name__
        raise BadRequest(
            f"{field}: expected a service-account JSON key (type 'service_account'), got "
            f"{kind!r}; create a key for a service account and store the JSON file"
        )
    try:
        credentials = service_account.Credentials.from_service_account_info(
            info, scopes=SCOPES, always_use_jwt_access=True
        )
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"{field}: unusable service-account key: {exc}") from None
    return credentials
