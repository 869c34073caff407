"""``ArtifactLocation`` and ``Artifact`` (spec 0) with Argo's Get / HasLocation / key / Relocate."""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import Field, model_validator

from drivers.core.errors import BadRequest
from drivers.core.model.base import ArgoModel, go_path_join, rule_error
from drivers.core.model.locations import (
    KEY_FIELD,
    ArtifactoryArtifact,
    AzureArtifact,
    GCSArtifact,
    GitArtifact,
    HDFSArtifact,
    HTTPArtifact,
    LocationType,
    OSSArtifact,
    PluginArtifact,
    RawArtifact,
    S3Artifact,
)
from drivers.core.secrets import REVEAL_SECRETS

#: Argo's ``ArtifactLocation.Get()`` order (spec 0), by Python attribute name.
GET_ORDER: tuple[str, ...] = (
    "artifactory",
    "azure",
    "git",
    "gcs",
    "hdfs",
    "http",
    "oss",
    "raw",
    "s3",
    "plugin",
)

NIL_LOCATION_ERROR = "key unsupported: cannot get key for artifact location, because it is invalid"
NOT_CONFIGURED_ERROR = (
    "artifact storage is not configured; see the docs for setup instructions: "
    "https://argo-workflows.readthedocs.io/en/latest/configure-artifact-repository/"
)
NO_TEMPLATE_LOCATION_ERROR = "template artifact location not set"


class TarStrategy(ArgoModel):
    """tar + gzip; no level means gzip's default (-1, i.e. 6)."""

    compression_level: int | None = Field(None, ge=-1, le=9)


class NoneStrategy(ArgoModel):
    """Upload the file or directory as is."""


class ZipStrategy(ArgoModel):
    """A zip archive; never auto-detected on input."""


class ArchiveStrategy(ArgoModel):
    """At most one of ``tar``, ``none``, ``zip``; empty means "unset" (tar on outputs)."""

    tar: TarStrategy | None = None
    none: NoneStrategy | None = None
    zip: ZipStrategy | None = None

    @model_validator(mode="after")
    def _at_most_one(self) -> ArchiveStrategy:
        chosen = [name for name in ("tar", "none", "zip") if getattr(self, name) is not None]
        if len(chosen) > 1:
            raise rule_error(
                ", ".join(chosen), "at most one archive strategy may be set; keep one of them"
            )
        return self


class Metadata(ArgoModel):
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


class ArtifactGC(ArgoModel):
    """Per-artifact GC settings (spec 7.1); an empty strategy defers to the workflow's."""

    strategy: Literal["", "OnWorkflowCompletion", "OnWorkflowDeletion", "Never"] = ""
    pod_metadata: Metadata | None = None
    service_account_name: str = ""


class ArtifactLocation(ArgoModel):
    """Where an artifact lives: ``archiveLogs`` plus at most one location type."""

    archive_logs: bool | None = None
    s3: S3Artifact | None = None
    git: GitArtifact | None = None
    http: HTTPArtifact | None = None
    artifactory: ArtifactoryArtifact | None = None
    hdfs: HDFSArtifact | None = None
    raw: RawArtifact | None = None
    oss: OSSArtifact | None = None
    gcs: GCSArtifact | None = None
    azure: AzureArtifact | None = None
    plugin: PluginArtifact | None = None

    @model_validator(mode="after")
    def _at_most_one_type(self) -> ArtifactLocation:
        found = self.location_types()
        if len(found) > 1:
            raise rule_error(
                ", ".join(found),
                "at most one location type may be set (Argo's CRD rule); keep one of them",
            )
        return self

    def location_types(self) -> list[str]:
        """The names of the location types that are set, in ``Get()`` order."""
        return [name for name in GET_ORDER if getattr(self, name) is not None]

    def get(self) -> LocationType:
        """The concrete location, first non-nil in Argo's order; error if none is set."""
        for name in GET_ORDER:
            value = getattr(self, name)
            if value is not None:
                return value
        raise BadRequest(NOT_CONFIGURED_ERROR)

    def has_location(self) -> bool:
        """True when the concrete location is complete (per-type table of spec 0)."""
        try:
            return self.get().has_location()
        except BadRequest:
            return False

    def get_key(self) -> str:
        return self.get().get_key()

    def set_key(self, key: str) -> None:
        self.get().set_key(key)

    def append_to_key(self, element: str) -> None:
        """Join ``element`` onto the key with Go ``path.Join`` semantics (``subPath``)."""
        self.set_key(go_path_join(self.get_key(), element))

    def location(self) -> ArtifactLocation:
        """A deep copy of just the location part (useful from an ``Artifact``)."""
        return ArtifactLocation.model_validate(
            {name: copy.deepcopy(getattr(self, name)) for name in _LOCATION_ATTRS}
        )

    def relocate(
        self, archive_location: ArtifactLocation | None, *, argo_compatible: bool = False
    ) -> None:
        """Give a key-only artifact the archive location's bucket and credentials (in place).

        A complete location is untouched. Otherwise the artifact keeps its key and takes a deep
        copy of ``archive_location``. Argo also discards what a *partial* location set (issue
        #12564); by default we keep those fields and fill only the missing ones from the archive
        location (deviation ``relocate-partial-location``); ``argo_compatible=True`` reproduces
        Argo's replacement.
        """
        if self.has_location():
            return
        if archive_location is None:
            raise BadRequest(NO_TEMPLATE_LOCATION_ERROR)
        key = self.get_key()
        target = archive_location.location()
        if not argo_compatible:
            target = self._merged_into(target)
        for name in _LOCATION_ATTRS:
            setattr(self, name, getattr(target, name))
        self.set_key(key)

    def _merged_into(self, target: ArtifactLocation) -> ArtifactLocation:
        """``target`` with the fields this partial location set (other than its key) kept."""
        own = self.get()
        assert isinstance(own, ArgoModel)
        kept = own.model_fields_set - {KEY_FIELD.get(type(own), "")}
        if not kept:
            return target
        own_type = next(name for name in GET_ORDER if getattr(self, name) is own)
        if getattr(target, own_type) is None:
            other = ", ".join(target.location_types()) or "empty"
            raise BadRequest(
                f"{own_type}: the artifact sets {', '.join(sorted(_aliases(own, kept)))} but the "
                f"archive location is {other}; give the artifact a complete {own_type} location "
                "or only a key"
            )
        # Secret values in clear: they are validated again, not shown.
        reveal = {REVEAL_SECRETS: True}
        base: dict[str, Any] = getattr(target, own_type).model_dump(
            exclude_unset=True, context=reveal
        )
        base.update(own.model_dump(include=kept, exclude_unset=True, context=reveal))
        merged = target.model_copy(deep=True)
        setattr(merged, own_type, type(own).model_validate(base))
        return merged


_LOCATION_ATTRS: tuple[str, ...] = ("archive_logs", *GET_ORDER)


def _aliases(model: ArgoModel, names: set[str]) -> list[str]:
    fields = type(model).model_fields
    return [fields[name].alias or name for name in names]


def get_location(location: ArtifactLocation | None) -> LocationType:
    """``ArtifactLocation.Get()`` including Argo's nil-receiver error."""
    if location is None:
        raise BadRequest(NIL_LOCATION_ERROR)
    return location.get()


class Artifact(ArtifactLocation):
    """An input or output artifact; the location fields are inline, as in Argo's YAML."""

    name: str = Field(pattern=r"^[-a-zA-Z0-9_{}.]+$")
    path: str = ""
    mode: int | None = Field(None, ge=0, le=511)
    from_: str = Field("", alias="from")
    from_expression: str = ""
    global_name: str = ""
    archive: ArchiveStrategy | None = None
    optional: bool = False
    sub_path: str = ""
    recurse_mode: bool = False
    artifact_gc: ArtifactGC | None = Field(None, alias="artifactGC")
    deleted: bool = False
