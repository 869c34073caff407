"""Broken driver variants (python: targets) built on the reference drivers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from drivers.core.model import Artifact


class Forwarding:
    """Forwards the seven driver methods (and close) to an inner driver; a variant overrides one."""

    def __init__(self, inner: Any):
        self.inner = inner

    def load(self, artifact: Artifact, path: str) -> None:
        self.inner.load(artifact, path)

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        return self.inner.open_stream(artifact)

    def save(self, path: str, artifact: Artifact) -> None:
        self.inner.save(path, artifact)

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        self.inner.save_stream(stream, artifact)

    def delete(self, artifact: Artifact) -> None:
        self.inner.delete(artifact)

    def list_objects(self, artifact: Artifact) -> list[str]:
        return self.inner.list_objects(artifact)

    def is_directory(self, artifact: Artifact) -> bool:
        return self.inner.is_directory(artifact)

    def close(self) -> None:
        self.inner.close()


def declaring(*drivers: type) -> Callable[[Any], Any]:
    """A decorator: the factory declares exactly what these reference drivers declare, so
    only the broken behaviour changes."""
    capabilities = {cls.kind: sorted(c.value for c in cls.capabilities) for cls in drivers}

    def declare(factory: Any) -> Any:
        factory.capabilities = capabilities
        return factory

    return declare
