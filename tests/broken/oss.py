"""Deliberately broken OSS drivers: each wraps the reference driver and breaks exactly one
thing, so the kit's own tests can check that the suites and the stand-in notice, and notice
nothing else.

Use as targets: `artconf run --target python:tests.broken.oss:drops_security_token`.
"""

from __future__ import annotations

from collections.abc import Callable

from drivers import new_driver
from drivers.core.context import DriverContext
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource, SecretValue
from drivers.oss import OSSDriver
from tests.broken import Forwarding, declaring

_declares_reference = declaring(OSSDriver)


def _without_token(artifact: Artifact) -> Artifact:
    if artifact.oss is None:
        return artifact
    copy = artifact.model_copy(deep=True)
    copy.oss.security_token = SecretValue("")
    return copy


class _NoToken(Forwarding):
    """Every artifact reaches the reference without its `securityToken`."""

    def load(self, artifact: Artifact, path: str) -> None:
        self.inner.load(_without_token(artifact), path)

    def save(self, path: str, artifact: Artifact) -> None:
        self.inner.save(path, _without_token(artifact))


class _WrongSecret(SecretSource):
    """Every Secret value as stored, except the OSS secret key, which gets one byte more."""

    def __init__(self, inner: SecretSource):
        self.inner = inner

    def get(self, name: str, key: str) -> SecretValue:
        value = self.inner.get(name, key)
        return SecretValue(value.reveal() + "x") if key == "secretKey" else value


def _factory(wrap: Callable[[Artifact, SecretSource, DriverContext], object]):
    return _declares_reference(wrap)


def _drops_security_token(artifact: Artifact, secrets: SecretSource, context: DriverContext):
    return _NoToken(new_driver(_without_token(artifact), secrets, context))


def _signs_with_wrong_secret(artifact: Artifact, secrets: SecretSource, context: DriverContext):
    return new_driver(artifact, _WrongSecret(secrets), context)


drops_security_token = _factory(_drops_security_token)
drops_security_token.__doc__ = "Never sends `securityToken`: temporary keys go unaccompanied."
signs_with_wrong_secret = _factory(_signs_with_wrong_secret)
signs_with_wrong_secret.__doc__ = "Signs every request with the secret key plus one byte."
