"""Deliberately broken Git drivers for the Git suite: each wraps the reference driver and
ignores exactly one setting of the location, so the kit's own tests can check that the suite
notices, and notices nothing else.

Use as targets: `artconf run --target python:tests.broken.git:ignores_depth`.
"""

from __future__ import annotations

from collections.abc import Callable

from drivers import new_driver
from drivers.core.context import DriverContext
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource
from drivers.git import GitDriver
from tests.broken import Forwarding, declaring

_declares_reference = declaring(GitDriver)


class _Rewriting(Forwarding):
    """Every artifact reaches the reference rewritten by `change` (on a copy)."""

    def __init__(self, inner, change: Callable[[Artifact], None]):
        super().__init__(inner)
        self.change = change

    def load(self, artifact: Artifact, path: str) -> None:
        self.inner.load(rewritten(artifact, self.change), path)


def rewritten(artifact: Artifact, change: Callable[[Artifact], None]) -> Artifact:
    if artifact.git is None:
        return artifact
    copy = artifact.model_copy(deep=True)
    change(copy)
    return copy


def _variant(change: Callable[[Artifact], None]):
    """A factory whose driver sees every artifact, at construction and at load, changed."""

    def factory(artifact: Artifact, secrets: SecretSource, context: DriverContext):
        inner = new_driver(rewritten(artifact, change), secrets, context)
        return _Rewriting(inner, change)

    return factory


def _no_depth(artifact: Artifact) -> None:
    artifact.git.depth = None


def _no_revision(artifact: Artifact) -> None:
    artifact.git.revision = ""


def _ignore_host_key(artifact: Artifact) -> None:
    artifact.git.insecure_ignore_host_key = True


def _no_submodules(artifact: Artifact) -> None:
    artifact.git.disable_submodules = True


ignores_depth = _declares_reference(_variant(_no_depth))
ignores_depth.__doc__ = "Clones the whole history whatever `depth` says."
ignores_revision = _declares_reference(_variant(_no_revision))
ignores_revision.__doc__ = "Checks out the default branch whatever `revision` says."
skips_host_key_check = _declares_reference(_variant(_ignore_host_key))
skips_host_key_check.__doc__ = "Accepts any SSH host key, as if `insecureIgnoreHostKey` were set."
never_recurses_submodules = _declares_reference(_variant(_no_submodules))
never_recurses_submodules.__doc__ = "Never clones submodules, as if `disableSubmodules` were set."
