"""Artifact keys: render a repository ``keyFormat`` and derive output keys (spec section 4).

Argo substitutes the key format when it builds the pod and refuses to start the pod when a
``{{...}}`` tag is left unresolved (spec 4.3). We do the same check up front: an unknown tag, an
expression tag (``{{=...}}``) or a known variable without a value is a :class:`BadRequest`
raised before any I/O, naming the tag and listing what is allowed, so a user can fix the YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from drivers.core.archives import ArchiveKind
from drivers.core.errors import BadRequest
from drivers.core.model import (
    DEFAULT_ARCHIVE_PATTERN,
    NIL_LOCATION_ERROR,
    NOT_CONFIGURED_ERROR,
    go_path_join,
)

#: ``DefaultArchivePattern`` (spec 4.1): used when a repository has no ``keyFormat``; the
#: repository models (``drivers.core.model``) apply it, with S3's ``keyPrefix``.
DEFAULT_KEY_FORMAT = DEFAULT_ARCHIVE_PATTERN

#: The strftime characters Argo exposes as ``workflow.creationTimestamp.<c>`` (spec 4.3).
STRFTIME_CHARS = "BbmAadHIMSYypZzL"

#: Variables whose value is one string (no name suffix).
SCALAR_VARIABLES: tuple[str, ...] = (
    "workflow.name",
    "workflow.namespace",
    "workflow.uid",
    "workflow.serviceAccountName",
    "workflow.mainEntrypoint",
    "workflow.priority",
    "workflow.creationTimestamp",
    *(f"workflow.creationTimestamp.{c}" for c in STRFTIME_CHARS),
    "workflow.creationTimestamp.s",
    "workflow.creationTimestamp.RFC3339",
    "pod.name",
)

#: Families of variables: ``<prefix><name>`` looks ``name`` up in a mapping of the context.
MAPPED_PREFIXES: tuple[str, ...] = (
    "inputs.parameters.",
    "workflow.parameters.",
    "workflow.labels.",
    "workflow.annotations.",
)

ALLOWED_VARIABLES_TEXT = ", ".join([*SCALAR_VARIABLES, *(f"{p}<name>" for p in MAPPED_PREFIXES)])

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class KeyContext:
    """What the controller knows when it renders a key format for one pod.

    ``None`` means "not known here": a key format that uses it fails with an error naming the
    variable instead of silently rendering an empty segment.
    """

    workflow_name: str | None = None
    workflow_namespace: str | None = None
    workflow_uid: str | None = None
    creation_timestamp: datetime | None = None
    pod_name: str | None = None
    service_account_name: str | None = None
    main_entrypoint: str | None = None
    priority: int | None = None
    workflow_parameters: Mapping[str, str] = field(default_factory=dict)
    workflow_labels: Mapping[str, str] = field(default_factory=dict)
    workflow_annotations: Mapping[str, str] = field(default_factory=dict)
    input_parameters: Mapping[str, str] = field(default_factory=dict)

    def lookup(self, variable: str) -> str | None:
        """The value of one variable; ``None`` when it is known but has no value here.

        Raises ``KeyError`` for a name that is not a key-format variable at all.
        """
        for prefix, mapping in (
            ("inputs.parameters.", self.input_parameters),
            ("workflow.parameters.", self.workflow_parameters),
            ("workflow.labels.", self.workflow_labels),
            ("workflow.annotations.", self.workflow_annotations),
        ):
            if variable.startswith(prefix) and len(variable) > len(prefix):
                value = mapping.get(variable[len(prefix) :])
                return None if value is None else str(value)
        if variable not in SCALAR_VARIABLES:
            raise KeyError(variable)
        simple: dict[str, str | int | None] = {
            "workflow.name": self.workflow_name,
            "workflow.namespace": self.workflow_namespace,
            "workflow.uid": self.workflow_uid,
            "workflow.serviceAccountName": self.service_account_name,
            "workflow.mainEntrypoint": self.main_entrypoint,
            "workflow.priority": self.priority,
            "pod.name": self.pod_name,
        }
        if variable in simple:
            value = simple[variable]
            return None if value is None else str(value)
        if self.creation_timestamp is None:
            return None
        return creation_timestamp_value(variable, self.creation_timestamp)


def creation_timestamp_value(variable: str, when: datetime) -> str:
    """``workflow.creationTimestamp[.<c>|.s|.RFC3339]`` for ``when`` (naive means UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    suffix = variable.removeprefix("workflow.creationTimestamp").removeprefix(".")
    if suffix in ("", "RFC3339"):
        return rfc3339(when)
    if suffix == "s":
        return str(int(when.timestamp()))
    return go_strftime_char(suffix, when)


def rfc3339(when: datetime) -> str:
    """Go's ``time.RFC3339`` layout: seconds precision, ``Z`` for UTC else ``+hh:mm``."""
    return when.strftime("%Y-%m-%dT%H:%M:%S") + _offset(when, colon=True)


def _offset(when: datetime, *, colon: bool) -> str:
    delta = when.utcoffset() or timedelta(0)
    if delta == timedelta(0) and colon:
        return "Z"
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}" if colon else f"{sign}{hours:02d}{mins:02d}"


def go_strftime_char(char: str, when: datetime) -> str:
    """One of Argo's strftime characters, rendered as Go's layout would (locale-independent)."""
    hour12 = when.hour % 12 or 12
    values = {
        "B": _MONTHS[when.month - 1],
        "b": _MONTHS[when.month - 1][:3],
        "m": f"{when.month:02d}",
        "A": _WEEKDAYS[when.weekday()],
        "a": _WEEKDAYS[when.weekday()][:3],
        "d": f"{when.day:02d}",
        "H": f"{when.hour:02d}",
        "I": f"{hour12:02d}",
        "M": f"{when.minute:02d}",
        "S": f"{when.second:02d}",
        "Y": f"{when.year:04d}",
        "y": f"{when.year % 100:02d}",
        "p": "PM" if when.hour >= 12 else "AM",
        "Z": _zone_abbreviation(when),
        "z": _offset(when, colon=False),
        # Go's ".000" layout: a dot and milliseconds.
        "L": f".{when.microsecond // 1000:03d}",
    }
    return values[char]


def _zone_abbreviation(when: datetime) -> str:
    """Go prints a zone's abbreviation, or ``-0700`` when the zone has none."""
    name = when.tzname() or ""
    if (when.utcoffset() or timedelta(0)) == timedelta(0) and name in ("UTC", "UTC+00:00", ""):
        return "UTC"
    if name.isalpha():
        return name
    return _offset(when, colon=False)


def find_tags(template: str) -> list[str]:
    """The raw tags (text between ``{{`` and ``}}``) of ``template``, in order.

    An opening ``{{`` without a closing ``}}`` is a :class:`BadRequest`, as in Argo's template
    library.
    """
    tags: list[str] = []
    pos = 0
    while (start := template.find("{{", pos)) != -1:
        end = template.find("}}", start + 2)
        if end == -1:
            raise BadRequest(
                f"key format {template!r}: '{{{{' at offset {start} has no closing '}}}}'; "
                "close the tag or remove it"
            )
        tags.append(template[start + 2 : end])
        pos = end + 2
    return tags


MAX_PROBLEMS_LISTED = 5


def _listed(problems: list[str]) -> str:
    """The first few problems, then how many more: a generated format may have thousands."""
    shown = "; ".join(problems[:MAX_PROBLEMS_LISTED])
    more = len(problems) - MAX_PROBLEMS_LISTED
    return shown + (f"; and {more} more like these" if more > 0 else "")


def render_key(template: str, context: KeyContext) -> str:
    """Substitute every ``{{variable}}`` of ``template``; all tags are checked before any output.

    Tags are trimmed of surrounding whitespace as Argo does. Expression tags (``{{=...}}``) are
    not evaluated in an archive location and are rejected like unknown variables.
    """
    problems: list[str] = []
    values: dict[str, str] = {}
    for raw in find_tags(template):
        tag = raw.strip()
        if tag.startswith("="):
            problems.append(
                f"failed to resolve {{{{{raw}}}}}: expression tags are not supported in a key "
                "format"
            )
            continue
        try:
            value = context.lookup(tag)
        except KeyError:
            problems.append(f"failed to resolve {{{{{raw}}}}}: unknown variable {tag!r}")
            continue
        if value is None:
            problems.append(
                f"failed to resolve {{{{{raw}}}}}: variable {tag!r} has no value in this context"
            )
            continue
        values[raw] = value
    if problems:
        raise BadRequest(
            f"key format {template!r}: "
            + _listed(problems)
            + f". Allowed variables: {ALLOWED_VARIABLES_TEXT}"
        )
    out: list[str] = []
    pos = 0
    while (start := template.find("{{", pos)) != -1:
        end = template.find("}}", start + 2)
        out.append(template[pos:start])
        out.append(values[template[start + 2 : end]])
        pos = end + 2
    out.append(template[pos:])
    return "".join(out)


def go_base(path: str) -> str:
    """Go's ``filepath.Base``: trailing slashes dropped; ``""`` gives ``.``, ``/`` gives ``/``."""
    stripped = path.rstrip("/")
    if not path:
        return "."
    if not stripped:
        return "/"
    return stripped.rsplit("/", 1)[-1]


#: Argo's two errors when an output has no key and there is no usable archive location.
KEY_UNSUPPORTED = NIL_LOCATION_ERROR
STORAGE_NOT_CONFIGURED = NOT_CONFIGURED_ERROR


def output_file_name(
    artifact_name: str, strategy: ArchiveKind, *, source_path: str | None = None
) -> str:
    """The last key segment of an output without its own key (spec 4.4)."""
    if strategy is ArchiveKind.TAR:
        return f"{artifact_name}.tgz"
    if strategy is ArchiveKind.ZIP:
        return f"{artifact_name}.zip"
    if source_path is None:
        raise ValueError("archive: none needs the artifact's source path for its key")
    return go_base(source_path)


def output_key(
    archive_key: str | None,
    artifact_name: str,
    strategy: ArchiveKind,
    source_is_dir: bool,
    *,
    source_path: str | None = None,
    artifact_key: str | None = None,
) -> str:
    """The key an output artifact is saved under (spec 4.4).

    * ``artifact_key`` set (key-only or full location): used verbatim, nothing appended, even
      though the content is a ``.tgz``.
    * otherwise ``path.Join(archive_key, name)`` with name ``<artifact>.tgz`` (tar),
      ``<artifact>.zip`` (zip) or ``basename(source_path)`` (none). ``source_is_dir`` does not
      change the key: a directory keeps its own name as the last segment, like a file.
    * ``archive_key`` ``None`` (no archive location) and ``""`` (an empty one) are Argo's two
      errors, raised as :class:`BadRequest`.
    """
    del source_is_dir  # documented above: the key is the same for files and directories
    if artifact_key:
        return artifact_key
    if archive_key is None:
        raise BadRequest(
            f"output artifact {artifact_name!r}: {KEY_UNSUPPORTED}; set a key on the artifact "
            "or configure an artifact repository"
        )
    if archive_key == "":
        raise BadRequest(f"output artifact {artifact_name!r}: {STORAGE_NOT_CONFIGURED}")
    return go_path_join(
        archive_key, output_file_name(artifact_name, strategy, source_path=source_path)
    )


def log_key(archive_key: str, container: str) -> str:
    """Where a container's log is archived (spec 4.4): ``<archiveKey>/<container>.log``."""
    return go_path_join(archive_key, f"{container}.log")


# --------------------------------------------------------------------------------------------
# Pod names (spec 4.3): what ``{{pod.name}}`` is for a given node
# --------------------------------------------------------------------------------------------

_MAX_K8S_NAME = 253
_HASH_LENGTH = 10
_MAX_POD_PREFIX = _MAX_K8S_NAME - _HASH_LENGTH - 1


def fnv32a(text: str) -> int:
    """32-bit FNV-1a of the UTF-8 bytes of ``text`` (Go's ``hash/fnv.New32a``)."""
    value = 0x811C9DC5
    for byte in text.encode():
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def pod_name(
    workflow_name: str,
    node_name: str,
    template_name: str,
    node_id: str,
    *,
    version: str = "v2",
) -> str:
    """The pod name Argo gives a node (``workflow/util/pod_name.go``).

    ``v1``: the node ID. ``v2`` (the default): the workflow name for a single-pod workflow
    (node name equals workflow name), else ``<wf>-<template>-<fnv32a(node name)>`` with the
    prefix cut so the name fits Kubernetes' 253 characters.
    """
    if version == "v1":
        return node_id
    if version != "v2":
        raise BadRequest(f"unknown POD_NAMES version {version!r}; use 'v1' or 'v2'")
    if workflow_name == node_name:
        return workflow_name
    prefix = f"{workflow_name}-{template_name}"[:_MAX_POD_PREFIX]
    return f"{prefix}-{fnv32a(node_name)}"
