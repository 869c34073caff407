"""The reference Raw driver (spec 1.3 "Raw", 2.9): the artifact's ``data`` is its content.

As Argo v4.1.2 (``workflow/artifacts/raw/raw.go``): ``load`` writes ``raw.data`` verbatim as
UTF-8, no newline added; ``open_stream`` gives the same bytes (Argo loads them to a temp file
and opens it; a reader sees no difference, so they come from memory); ``save`` and
``save_stream`` are ERR_BAD_REQUEST, as a raw artifact is input only; ``delete``,
``list_objects`` and ``is_directory`` are Argo's refusals, word for word.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO, ClassVar

from drivers.base import Driver
from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext
from drivers.core.errors import (
    BadRequest,
)
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource
from drivers.refusals import RefusesObjectOperations

SAVE_UNSUPPORTED = "Raw output artifacts unsupported"


class RawDriver(RefusesObjectOperations, Driver):
    """Argo's Raw driver; see the module docstring."""

    kind: ClassVar[str] = "raw"
    refused_as: ClassVar[str] = "raw"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LOAD, Capability.OPEN_STREAM, Capability.REFUSES_UNSUPPORTED}
    )

    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        super().__init__(artifact, secrets, context)
        _data(artifact)  # no raw location: refused now, not at the first operation

    def load(self, artifact: Artifact, path: str) -> None:
        data = _data(artifact)

        def attempt() -> None:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

        self._call("load", f"writing the raw data of {artifact.name!r} to {path}", attempt)

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        data = _data(artifact)
        return self._call(
            "open_stream", f"streaming the raw data of {artifact.name!r}", lambda: io.BytesIO(data)
        )

    def save(self, path: str, artifact: Artifact) -> None:
        raise BadRequest(SAVE_UNSUPPORTED)

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        raise BadRequest(SAVE_UNSUPPORTED)


def _data(artifact: Artifact) -> bytes:
    if artifact.raw is None:
        raise BadRequest(f"artifact {artifact.name!r} has no raw location")
    # Go writes the string's bytes; surrogateescape keeps bytes YAML could not decode.
    return artifact.raw.data.encode("utf-8", "surrogateescape")
