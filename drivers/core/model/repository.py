"""``ArtifactRepository`` (spec 0, 2.11, 4.1): the repository variants and their key formats."""

from __future__ import annotations

import copy
from typing import Protocol

from pydantic import Field

from drivers.core.errors import BadRequest
from drivers.core.model.artifact import ArtifactLocation
from drivers.core.model.base import ArgoModel, go_path_join
from drivers.core.model.locations import (
    ArtifactoryArtifact,
    ArtifactoryAuth,
    AzureArtifact,
    AzureBlobContainer,
    GCSArtifact,
    GCSBucket,
    HDFSArtifact,
    HDFSConfig,
    OSSArtifact,
    OSSBucket,
    PluginArtifact,
    S3Artifact,
    S3Bucket,
)

#: ``DefaultArchivePattern``.
DEFAULT_ARCHIVE_PATTERN = "{{workflow.name}}/{{pod.name}}"

#: ``ArtifactRepository.Get()`` precedence (spec 0).
REPOSITORY_ORDER: tuple[str, ...] = ("artifactory", "azure", "gcs", "hdfs", "oss", "plugin", "s3")

NOT_CONFIGURED_REPOSITORY_ERROR = (
    "artifact repository is not configured: set one of "
    + ", ".join(REPOSITORY_ORDER)
    + "; see https://argo-workflows.readthedocs.io/en/latest/configure-artifact-repository/"
)


class RepositoryType(Protocol):
    def into_artifact_location(self, location: ArtifactLocation) -> None:
        """Set this repository's location type on ``location``, keyed by the key format."""
        ...


def _shared(model: ArgoModel, base: type[ArgoModel]) -> dict[str, object]:
    """Deep copies of the fields of ``base`` that ``model`` set (keeps "unset" unset)."""
    return {
        name: copy.deepcopy(getattr(model, name))
        for name in base.model_fields
        if name in model.model_fields_set
    }


class S3ArtifactRepository(S3Bucket):
    key_format: str = ""
    key_prefix: str = ""  # deprecated: used only when keyFormat is empty

    def into_artifact_location(self, location: ArtifactLocation) -> None:
        key = self.key_format or go_path_join(self.key_prefix, DEFAULT_ARCHIVE_PATTERN)
        location.s3 = S3Artifact.model_validate({**_shared(self, S3Bucket), "key": key})


class GCSArtifactRepository(GCSBucket):
    key_format: str = ""

    def into_artifact_location(self, location: ArtifactLocation) -> None:
        key = self.key_format or DEFAULT_ARCHIVE_PATTERN
        location.gcs = GCSArtifact.model_validate({**_shared(self, GCSBucket), "key": key})


class AzureArtifactRepository(AzureBlobContainer):
    blob_name_format: str = ""

    def into_artifact_location(self, location: ArtifactLocation) -> None:
        blob = self.blob_name_format or DEFAULT_ARCHIVE_PATTERN
        location.azure = AzureArtifact.model_validate(
            {**_shared(self, AzureBlobContainer), "blob": blob}
        )


class OSSArtifactRepository(OSSBucket):
    key_format: str = ""

    def into_artifact_location(self, location: ArtifactLocation) -> None:
        key = self.key_format or DEFAULT_ARCHIVE_PATTERN
        location.oss = OSSArtifact.model_validate({**_shared(self, OSSBucket), "key": key})


class ArtifactoryArtifactRepository(ArtifactoryAuth):
    repo_url: str = Field("", alias="repoURL")
    key_format: str = ""

    def into_artifact_location(self, location: ArtifactLocation) -> None:
        separator = "" if self.repo_url.endswith("/") else "/"
        url = self.repo_url + separator + (self.key_format or DEFAULT_ARCHIVE_PATTERN)
        location.artifactory = ArtifactoryArtifact.model_validate(
            {**_shared(self, ArtifactoryAuth), "url": url}
        )


class HDFSArtifactRepository(HDFSConfig):
    path_format: str = ""
    force: bool = False

    def into_artifact_location(self, location: ArtifactLocation) -> None:
        path = self.path_format or DEFAULT_ARCHIVE_PATTERN
        fields = {**_shared(self, HDFSConfig), "path": path}
        if "force" in self.model_fields_set:
            fields["force"] = self.force
        location.hdfs = HDFSArtifact.model_validate(fields)


class PluginArtifactRepository(ArgoModel):
    name: str = ""
    configuration: str = ""
    connection_timeout_seconds: int = Field(0, ge=0, le=2**31 - 1)
    key_format: str = ""

    def into_artifact_location(self, location: ArtifactLocation) -> None:
        location.plugin = PluginArtifact(
            name=self.name,
            configuration=self.configuration,
            connection_timeout_seconds=self.connection_timeout_seconds,
            key=self.key_format or DEFAULT_ARCHIVE_PATTERN,
        )


class ArtifactRepository(ArgoModel):
    """A repository configuration (ConfigMap value or controller default)."""

    archive_logs: bool | None = None
    s3: S3ArtifactRepository | None = None
    artifactory: ArtifactoryArtifactRepository | None = None
    hdfs: HDFSArtifactRepository | None = None
    oss: OSSArtifactRepository | None = None
    gcs: GCSArtifactRepository | None = None
    azure: AzureArtifactRepository | None = None
    plugin: PluginArtifactRepository | None = None

    def repository_types(self) -> list[str]:
        """The variants that are set, in ``Get()`` precedence order."""
        return [name for name in REPOSITORY_ORDER if getattr(self, name) is not None]

    def get(self) -> RepositoryType:
        """The variant that applies: Artifactory > Azure > GCS > HDFS > OSS > Plugin > S3."""
        for name in REPOSITORY_ORDER:
            value = getattr(self, name)
            if value is not None:
                return value
        raise BadRequest(NOT_CONFIGURED_REPOSITORY_ERROR)

    def to_artifact_location(self) -> ArtifactLocation:
        """The archive location: the repository's fields with the key *format* as the key.

        An empty repository gives a location with only ``archiveLogs``, as in Argo.
        """
        location = ArtifactLocation(archive_logs=self.archive_logs)
        if self.repository_types():
            self.get().into_artifact_location(location)
        return location


def archive_logs_enabled(
    configured: bool | None,
    template_location: ArtifactLocation | None,
    workflow_archive_logs: bool | None,
) -> bool:
    """Argo's ``IsArchiveLogs`` (spec 2.11): whether a template's container logs are saved.

    ``configured`` is the controller's or the repository's ``archiveLogs``; ``true`` there wins.
    Otherwise the template's ``archiveLocation.archiveLogs`` applies if set, then the workflow's
    ``spec.archiveLogs``, else false.
    """
    if configured:
        return True
    if template_location is not None and template_location.archive_logs is not None:
        return template_location.archive_logs
    return bool(workflow_archive_logs)
