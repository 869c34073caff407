"""What both ends of the plugin wire agree on: message conversion, chunk size, error metadata.

Argo's client keeps only an error's text (`plugin <n> load failed: <error>`, spec 1.4); the
code is lost on the wire. The kit's plugins also send it as trailing metadata, and the kit's
client reads it back, so a conformance case can still tell ERR_NOT_FOUND from ERR_FORBIDDEN.
Argo's client ignores the metadata (deviation `plugin-error-code`); a plugin that does not send
it is seen with Argo's eyes: every failure is ERR_INTERNAL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from drivers.core.errors import ArtifactError, Code, error_for
from drivers.core.model import Artifact
from drivers.plugin import artifact_pb2 as pb

#: Argo's client sends SaveStream chunks of 2 MiB (under gRPC's 4 MiB message limit); the
#: kit's server sends OpenStream frames of the same size.
CHUNK = 2 * 1024 * 1024

ERROR_CODE = "artifact-error-code"
ERROR_TRANSIENT = "artifact-error-transient"


def to_wire(artifact: Artifact, configuration: str, key: str, plugin_name: str) -> pb.Artifact:
    """The gRPC Artifact Argo's client sends (`convertToGRPC`): the artifact's own fields and
    its plugin location; every other location type and the archive strategy are not sent."""
    return pb.Artifact(
        name=artifact.name,
        path=artifact.path,
        mode=artifact.mode or 0,
        optional=artifact.optional,
        sub_path=artifact.sub_path,
        recurse_mode=artifact.recurse_mode,
        from_expression=artifact.from_expression,
        deleted=artifact.deleted,
        plugin=pb.PluginArtifact(name=plugin_name, configuration=configuration, key=key),
        **{"from": artifact.from_},
    )


def artifact_fields(message: pb.Artifact) -> dict:
    """The Argo YAML fields of a wire Artifact, its location left out."""
    fields: dict = {
        "name": message.name or "artifact",
        "path": message.path,
        "from": getattr(message, "from"),
        "optional": message.optional,
        "subPath": message.sub_path,
        "recurseMode": message.recurse_mode,
        "fromExpression": message.from_expression,
        "deleted": message.deleted,
    }
    if message.mode:
        fields["mode"] = message.mode
    return fields


def error_metadata(error: ArtifactError) -> tuple[tuple[str, str], ...]:
    transient = "true" if error.transient else "false"
    return ((ERROR_CODE, str(error.code)), (ERROR_TRANSIENT, transient))


def error_from(message: str, metadata: Sequence[tuple[str, str]] | Mapping | None) -> ArtifactError:
    """The ArtifactError for a plugin's error text and the trailing metadata it sent."""
    values = dict(metadata or ())
    transient = values.get(ERROR_TRANSIENT, "") == "true"
    return error_for(values.get(ERROR_CODE, Code.INTERNAL), message, transient=transient)
