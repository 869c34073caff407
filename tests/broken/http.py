"""Deliberately broken HTTP and Artifactory drivers for the request suite: each wraps the
reference driver and breaks exactly one behaviour, so the kit's own tests can check that the
suite notices, and notices nothing else.

Use as targets: `artconf run --target python:tests.broken.http:ignores_headers`.
"""

from __future__ import annotations

from typing import BinaryIO

import requests

from drivers import new_driver
from drivers.core.context import DriverContext
from drivers.core.errors import Internal
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource, SecretValue
from drivers.http import ArtifactoryDriver, HTTPDriver
from drivers.http.connection import Client, target_of
from drivers.raw import RawDriver
from tests.broken import Forwarding, declaring

_declares_reference = declaring(HTTPDriver, ArtifactoryDriver, RawDriver)


class _WithoutHeaders(Forwarding):
    """Every artifact reaches the reference with its `headers` emptied."""

    @staticmethod
    def _stripped(artifact: Artifact) -> Artifact:
        if artifact.http is None:
            return artifact
        copy = artifact.model_copy(deep=True)
        copy.http.headers = []
        return copy

    def load(self, artifact: Artifact, path: str) -> None:
        self.inner.load(self._stripped(artifact), path)

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        return self.inner.open_stream(self._stripped(artifact))

    def save(self, path: str, artifact: Artifact) -> None:
        self.inner.save(path, self._stripped(artifact))

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        self.inner.save_stream(stream, self._stripped(artifact))


@_declares_reference
def ignores_headers(artifact: Artifact, secrets: SecretSource, context: DriverContext):
    """Never sends the configured request headers."""
    return _WithoutHeaders(new_driver(artifact, secrets, context))


@_declares_reference
def drops_basic_auth(artifact: Artifact, secrets: SecretSource, context: DriverContext):
    """Reads the basic-auth Secrets and never sends them (as if one value were empty)."""
    driver = new_driver(artifact, secrets, context)
    connection = getattr(driver, "connection", None)
    if connection is not None:
        connection.username = connection.password = SecretValue("")
    return Forwarding(driver)


@_declares_reference
def never_sends_client_cert(artifact: Artifact, secrets: SecretSource, context: DriverContext):
    """Reads the client certificate and key, and never presents them in the handshake."""
    driver = new_driver(artifact, secrets, context)
    connection = getattr(driver, "connection", None)
    if connection is not None and connection.certificate is not None:
        connection.client = Client(context.verify)
    return Forwarding(driver)


class _StreamsFollowingRedirects(Forwarding):
    """save_stream as a plain `requests.put` of the stream: requests follows a 307 and sends
    the stream again, which is spent by then, so the new location gets an empty body."""

    def __init__(self, inner, context: DriverContext):
        super().__init__(inner)
        self.context = context

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        if artifact.http is not None and artifact.http.save_stream_via_file:
            self.inner.save_stream(stream, artifact)  # only the streamed PUT is broken
            return
        connection = self.inner.connection
        target = target_of(artifact)
        certificate = connection.certificate.files if connection.certificate else None
        with requests.Session() as session:
            session.trust_env = False
            response = session.put(
                target.url,
                data=iter(lambda: stream.read(1 << 20), b""),
                headers=dict(connection.headers_for(target)),
                verify=self.context.verify,
                cert=certificate,
            )
        if not response.ok:
            raise Internal(f"saving stream to {target.url} failed with reason: {response.reason}")


@_declares_reference
def streams_without_redirect_support(
    artifact: Artifact, secrets: SecretSource, context: DriverContext
):
    """Streams with requests' own redirect handling, which loses the body on a 307."""
    return _StreamsFollowingRedirects(new_driver(artifact, secrets, context), context)


class _DeleteSucceeds(Forwarding):
    def delete(self, artifact: Artifact) -> None:
        return None  # nothing deleted, and nothing said


@_declares_reference
def delete_reports_success(artifact: Artifact, secrets: SecretSource, context: DriverContext):
    """Delete returns as if it had deleted, where Argo's driver says it cannot."""
    return _DeleteSucceeds(new_driver(artifact, secrets, context))
