"""Delete, ListObjects and IsDirectory as Argo's drivers that lack them answer (spec 1.3):
HTTP, Artifactory and Raw. Artifact GC reads the Delete text to finish without deleting, so
it is Argo's word for word (`drivers.controller.gc`)."""

from __future__ import annotations

from typing import ClassVar

from drivers.controller.gc import ERR_DELETE_NOT_SUPPORTED
from drivers.core.errors import LIST_OBJECTS_NOT_SUPPORTED, Internal, Unimplemented
from drivers.core.model import Artifact


class RefusesObjectOperations:
    """A mixin placed before `Driver`: the three refusals, in Argo's words."""

    #: The type Argo's IsDirectory message names ("http" for Artifactory too: one Go type).
    refused_as: ClassVar[str] = ""

    def delete(self, artifact: Artifact) -> None:
        raise Internal(ERR_DELETE_NOT_SUPPORTED)

    def list_objects(self, artifact: Artifact) -> list[str]:
        raise Internal(LIST_OBJECTS_NOT_SUPPORTED)

    def is_directory(self, artifact: Artifact) -> bool:
        raise Unimplemented(f"IsDirectory currently unimplemented for {self.refused_as}")
