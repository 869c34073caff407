"""The driver contract: seven methods that move bytes, plus `close()` and `capabilities`.

Drivers never archive, unarchive or derive keys (that is `drivers.core.executor`); they take an
`Artifact` whose location is complete and move bytes between it and a local path or stream.
Every failure is an `ArtifactError` with Argo's code; see spec 1.1 for each method's contract.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import BinaryIO, ClassVar

from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource


class Driver(ABC):
    """Base of the reference drivers. Subclasses set `kind` and `capabilities`."""

    kind: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        self.secrets = secrets
        self.context = context

    @abstractmethod
    def load(self, artifact: Artifact, path: str) -> None:
        """Materialise the artifact at `path`, as a file or a directory tree."""

    @abstractmethod
    def open_stream(self, artifact: Artifact) -> BinaryIO:
        """A readable binary stream of a file artifact (NOT_IMPLEMENTED for a directory)."""

    @abstractmethod
    def save(self, path: str, artifact: Artifact) -> None:
        """Upload a local file, or each regular file of a directory, to the artifact's key."""

    @abstractmethod
    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        """Upload from a stream; never retried with the same stream."""

    @abstractmethod
    def delete(self, artifact: Artifact) -> None:
        """Delete the artifact (file or directory); a missing key is a success."""

    @abstractmethod
    def list_objects(self, artifact: Artifact) -> list[str]:
        """Full keys of the objects inside the artifact."""

    @abstractmethod
    def is_directory(self, artifact: Artifact) -> bool:
        """Whether the key acts as a directory (a prefix with objects under it)."""

    def close(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Release clients and private files. Safe to call twice."""

    def __enter__(self) -> Driver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
