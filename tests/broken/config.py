"""Deliberately broken drivers for the configuration suites (archives, errors, TLS, credentials,
buckets): each wraps the reference driver and breaks exactly one behaviour, so the kit's own
tests can check that the suites notice, and notice nothing else.

Use as targets: `artconf run --target python:tests.broken.config:tls_unverified`.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path

from drivers import new_driver
from drivers.azure import AzureDriver
from drivers.core.context import DriverContext
from drivers.core.errors import Internal, NotFound
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource
from drivers.gcs import GCSDriver
from drivers.s3 import S3Driver
from tests.broken import Forwarding, declaring

_declares_reference = declaring(S3Driver, GCSDriver, AzureDriver)


# --------------------------------------------------------------------------- TLS


@_declares_reference
def tls_unverified(artifact: Artifact, secrets: SecretSource, context: DriverContext):
    """Never verifies server certificates (`verify=False`): ignores caSecret and the bundle."""
    driver = new_driver(artifact, secrets, context)
    connection = getattr(driver, "connection", None)
    if connection is not None:  # S3: clients are built lazily with connection.verify
        connection.verify = False
    return Forwarding(driver)


# --------------------------------------------------------------------------- archives


class _DefaultGzipLevel(Forwarding):
    def save(self, path: str, artifact: Artifact) -> None:
        source = Path(path)
        if source.suffix != ".tgz" or not source.is_file():  # only staged tar.gz archives
            self.inner.save(path, artifact)
            return
        with tempfile.TemporaryDirectory() as scratch:
            redone = Path(scratch) / source.name
            with (
                gzip.open(source, "rb") as raw,
                open(redone, "wb") as out,
                gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as gz,
            ):
                shutil.copyfileobj(raw, gz)
            self.inner.save(str(redone), artifact)


@_declares_reference
def gzip_default_level(artifact: Artifact, secrets: SecretSource, context: DriverContext):
    """Re-compresses each .tgz it uploads at the default level (as Argo's emissary, #10394)."""
    return _DefaultGzipLevel(new_driver(artifact, secrets, context))


# --------------------------------------------------------------------------- errors


class _NotFoundAsInternal(Forwarding):
    def load(self, artifact: Artifact, path: str) -> None:
        try:
            self.inner.load(artifact, path)
        except NotFound as exc:
            raise Internal(f"failed to load: {exc}") from exc


@_declares_reference
def not_found_as_internal(artifact: Artifact, secrets: SecretSource, context: DriverContext):
    """load reports a missing key or bucket as ERR_INTERNAL instead of ERR_NOT_FOUND."""
    return _NotFoundAsInternal(new_driver(artifact, secrets, context))


# --------------------------------------------------------------------------- credentials


@_declares_reference
def drops_session_token(artifact: Artifact, secrets: SecretSource, context: DriverContext):
    """Reads the static keys but never the sessionTokenSecret."""
    if artifact.s3 is not None:
        artifact = artifact.model_copy(deep=True)
        artifact.s3.session_token_secret = None
    return Forwarding(new_driver(artifact, secrets, context))


# --------------------------------------------------------------------------- buckets


class _NoBucketCreation(Forwarding):
    def save(self, path: str, artifact: Artifact) -> None:
        if artifact.s3 is not None:
            artifact = artifact.model_copy(deep=True)
            artifact.s3.create_bucket_if_not_present = None
        self.inner.save(path, artifact)


@_declares_reference
def ignores_create_bucket(artifact: Artifact, secrets: SecretSource, context: DriverContext):
    """save ignores createBucketIfNotPresent (and so objectLocking)."""
    return _NoBucketCreation(new_driver(artifact, secrets, context))
