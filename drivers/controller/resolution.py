"""Artifact repository resolution, as Argo's controller does it (spec 3), with every decision kept.

Argo (``workflow/artifactrepositories/artifactrepositories.go``) builds a candidate list:

* a ref (even ``{}``): ``(W, ref.configMap, ref.key)`` then ``(C, ref.configMap, ref.key)``; never
  the controller default;
* no ref: ``(W, artifact-repositories, <annotation>)`` then the controller default. The
  controller namespace's ``artifact-repositories`` is not consulted.

A candidate falls through only on a missing ConfigMap (NotFound) or a missing key; anything else
aborts with ``error getting config map for artifact repository ref "<ns/cm#key>": <cause>``.
ConfigMap reads retry transient API errors with DefaultRetry (spec 6.4; the sleep is
injectable). The result is the status Argo records (``status.artifactRepositoryRef``), which
freezes the repository for the workflow's life. Every candidate leaves a :class:`Decision`
(chosen, skipped and why, aborted, not tried) so a user can see why a repository was used.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from drivers.controller.kube.base import KubeError, ObjectSource
from drivers.controller.kube.controller import ControllerConfig
from drivers.core.capabilities import Capability
from drivers.core.errors import ArtifactError, BadRequest, Code
from drivers.core.keys import KeyContext, pod_name, render_key
from drivers.core.model import (
    NOT_CONFIGURED_ERROR,
    ArtifactLocation,
    ArtifactRepository,
    parse_location,
    parse_repository,
)
from drivers.core.retry import Backoff, default_retry, retry_call

ARTIFACT_REPOSITORIES = "artifact-repositories"
DEFAULT_REPOSITORY_ANNOTATION = "workflows.argoproj.io/default-artifact-repository"
DEFAULT_STATUS_STRING = "default-artifact-repository"
MISSING_KEY_MARK = "config map missing key"

#: What the reference resolution declares (``resolution_<variant>``, spec 3).
capabilities: frozenset[Capability] = frozenset(
    c for c in Capability if c.value.startswith("resolution_")
)

# Decision outcomes
CHOSEN, SKIPPED, ABORTED, NOT_TRIED, FROZEN, REREAD = (
    "chosen",
    "skipped",
    "aborted",
    "not-tried",
    "frozen",
    "re-read",
)


@dataclass(frozen=True)
class RepositoryRef:
    """``ArtifactRepositoryRef``: a ConfigMap name and key, both optional."""

    config_map: str = ""
    key: str = ""

    def __str__(self) -> str:
        return f"{self.config_map}#{self.key}"

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("configMap", self.config_map), ("key", self.key)) if v}

    @classmethod
    def parse(cls, data: Any, where: str = "artifactRepositoryRef") -> RepositoryRef:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise BadRequest(f"{where}: expected a mapping with configMap and key")
        unknown = sorted(set(data) - {"configMap", "key"})
        if unknown:
            raise BadRequest(
                f"{where}: unknown field(s) {', '.join(unknown)}; allowed fields: configMap, key"
            )
        for name in ("configMap", "key"):
            if not isinstance(data.get(name, ""), str):
                raise BadRequest(f"{where}.{name}: must be a string")
        return cls(data.get("configMap", ""), data.get("key", ""))


@dataclass
class RefStatus:
    """``ArtifactRepositoryRefStatus``: what Argo records in ``status.artifactRepositoryRef``."""

    namespace: str = ""
    config_map: str = ""
    key: str = ""
    default: bool = False
    artifact_repository: ArtifactRepository | None = None

    def __str__(self) -> str:
        if self.default:
            return DEFAULT_STATUS_STRING
        return f"{self.namespace}/{self.config_map}#{self.key}"

    def to_dict(self) -> dict[str, Any]:
        """Argo's JSON (``omitempty``): an empty controller repository is kept as ``{}``."""
        out: dict[str, Any] = {}
        for name, value in (
            ("configMap", self.config_map),
            ("key", self.key),
            ("namespace", self.namespace),
        ):
            if value:
                out[name] = value
        if self.default:
            out["default"] = True
        if self.artifact_repository is not None:
            out["artifactRepository"] = self.artifact_repository.to_dict()
        return out

    @classmethod
    def parse(cls, data: Any, where: str = "status.artifactRepositoryRef") -> RefStatus:
        if not isinstance(data, Mapping):
            raise BadRequest(f"{where}: expected a mapping")
        allowed = {"configMap", "key", "namespace", "default", "artifactRepository"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise BadRequest(
                f"{where}: unknown field(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        repository = data.get("artifactRepository")
        try:
            parsed = None if repository is None else parse_repository(repository)
        except BadRequest as exc:
            raise BadRequest(f"{where}.{exc.message}") from exc
        return cls(
            namespace=str(data.get("namespace") or ""),
            config_map=str(data.get("configMap") or ""),
            key=str(data.get("key") or ""),
            default=bool(data.get("default", False)),
            artifact_repository=parsed,
        )


@dataclass
class Decision:
    """One candidate and what happened to it."""

    candidate: str  # Argo's string of the candidate before resolution, e.g. "wf-ns/#my-key"
    outcome: str  # chosen | skipped | aborted | not-tried | frozen | re-read
    reason: str
    namespace: str = ""
    config_map: str = ""
    key: str | None = None  # the key looked up, once known
    attempts: int = 0  # API calls made for this candidate

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "candidate": self.candidate,
            "outcome": self.outcome,
            "reason": self.reason,
            "attempts": self.attempts,
        }
        if self.namespace:
            out["namespace"] = self.namespace
        if self.config_map:
            out["configMap"] = self.config_map
        if self.key is not None:
            out["key"] = self.key
        return out


class ResolutionError(ArtifactError):
    """Resolution failed; ``message`` is Argo's text and ``decisions`` say what was tried."""

    def __init__(
        self, message: str, decisions: list[Decision], *, code: Code = Code.INTERNAL, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.code = code
        self.decisions = list(decisions)


@dataclass
class Resolution:
    """A resolved status plus the decisions that led to it."""

    status: RefStatus
    decisions: list[Decision]
    notes: list[str] = field(default_factory=list)

    @property
    def repository(self) -> ArtifactRepository | None:
        return self.status.artifact_repository


class _FallThrough(Exception):
    """A candidate-level error that means "try the next one" (NotFound, missing key)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class Resolver:
    """Argo's ``artifactrepositories.Interface``: ``resolve`` a ref, ``get`` a status's repository.

    ``source`` answers ConfigMap reads; ``controller_namespace`` is C; ``default_repository`` is
    the controller's ``artifactRepository`` (an empty one when unset, as in Argo).
    """

    def __init__(
        self,
        source: ObjectSource,
        controller_namespace: str,
        default_repository: ArtifactRepository | None = None,
        *,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        default_origin: str = "",
    ) -> None:
        self.source = source
        self.controller_namespace = controller_namespace
        self.default_repository = (
            default_repository if default_repository is not None else ArtifactRepository()
        )
        self.backoff = backoff or default_retry()
        self.sleep = sleep
        self.rand = rand
        self.default_origin = default_origin or "the controller's artifactRepository"

    # --- Resolve ---------------------------------------------------------------------
    def resolve(self, ref: RepositoryRef | None, workflow_namespace: str) -> Resolution:
        if ref is not None:
            candidates = [
                RefStatus(workflow_namespace, ref.config_map, ref.key),
                RefStatus(self.controller_namespace, ref.config_map, ref.key),
            ]
            notes = [
                f'a ref ("{ref}") is given: tried in the workflow namespace '
                f"{workflow_namespace!r}, then the controller namespace "
                f"{self.controller_namespace!r}; a ref never falls back to the controller default"
            ]
        else:
            candidates = [RefStatus(workflow_namespace), RefStatus(default=True)]
            notes = [
                f"no ref: the workflow namespace's {ARTIFACT_REPOSITORIES} ConfigMap (its "
                f"{DEFAULT_REPOSITORY_ANNOTATION} annotation names the key), then the controller "
                f"default; {self.controller_namespace}/{ARTIFACT_REPOSITORIES} is not consulted"
            ]
        decisions: list[Decision] = []
        for index, candidate in enumerate(candidates):
            decision = Decision(str(candidate), "", "")
            decisions.append(decision)
            try:
                resolved = self._get(candidate, decision)
            except _FallThrough as exc:
                decision.outcome, decision.reason = SKIPPED, str(exc)
                continue
            except (KubeError, ArtifactError) as exc:
                decision.outcome, decision.reason = ABORTED, str(exc)
                raise ResolutionError(
                    f'error getting config map for artifact repository ref "{candidate}": {exc}',
                    decisions,
                    code=_code_of(exc),
                ) from exc
            decision.outcome = CHOSEN
            decision.reason = self._chosen_reason(resolved)
            for later in candidates[index + 1 :]:
                decisions.append(Decision(str(later), NOT_TRIED, "an earlier candidate was chosen"))
            return Resolution(resolved, decisions, notes)
        raise ResolutionError(
            f'failed to find any artifact repository for artifact repository ref "{ref}"',
            decisions,
            code=Code.NOT_FOUND,
        )

    def _chosen_reason(self, status: RefStatus) -> str:
        if status.default:
            repository = status.artifact_repository or ArtifactRepository()
            if not repository.repository_types():
                return (
                    f"{self.default_origin}, which is empty: artifacts that need it fail "
                    f"with {NOT_CONFIGURED_ERROR!r}"
                )
            return f"{self.default_origin} ({', '.join(repository.repository_types())})"
        kinds = ", ".join((status.artifact_repository or ArtifactRepository()).repository_types())
        return (
            f"ConfigMap {status.namespace}/{status.config_map} key {status.key!r} "
            f"({kinds or 'an empty repository'})"
        )

    # --- Get -------------------------------------------------------------------------
    def get(self, status: RefStatus) -> Resolution:
        """Argo's ``Get``: the stored repository, or (pre-v3.1 status) a re-read of it."""
        if status.artifact_repository is not None:
            decision = Decision(
                str(status),
                FROZEN,
                "status.artifactRepositoryRef already holds the repository: it is not resolved "
                "again, whatever the ConfigMaps say now",
                status.namespace,
                status.config_map,
                status.key,
            )
            return Resolution(status, [decision])
        decision = Decision(str(status), REREAD, "")
        try:
            resolved = self._get(status, decision)
        except _FallThrough as exc:
            decision.outcome, decision.reason = ABORTED, str(exc)
            raise ResolutionError(str(exc), [decision], code=Code.NOT_FOUND) from exc
        except (KubeError, ArtifactError) as exc:
            decision.outcome, decision.reason = ABORTED, str(exc)
            raise ResolutionError(str(exc), [decision], code=_code_of(exc)) from exc
        decision.reason = (
            "status.artifactRepositoryRef has no artifactRepository (a workflow from before "
            "v3.1), so the repository is read again: " + self._chosen_reason(resolved)
        )
        return Resolution(resolved, [decision])

    def _get(self, ref: RefStatus, decision: Decision) -> RefStatus:
        if ref.artifact_repository is not None:
            return ref
        if ref.default:
            return RefStatus(
                namespace=ref.namespace,
                config_map=ref.config_map,
                key=ref.key,
                default=True,
                artifact_repository=self.default_repository,
            )
        namespace = ref.namespace
        config_map_name = ref.config_map or ARTIFACT_REPOSITORIES
        decision.namespace, decision.config_map = namespace, config_map_name

        def read() -> dict[str, Any]:
            decision.attempts += 1
            return self.source.get_config_map(namespace, config_map_name)

        try:
            config_map = retry_call(
                read,
                self.backoff,
                is_transient=lambda exc: isinstance(exc, KubeError) and exc.transient,
                sleep=self.sleep,
                rand=self.rand,
            )
        except KubeError as exc:
            if exc.not_found:
                raise _FallThrough(
                    f"ConfigMap {namespace}/{config_map_name} not found ({exc})"
                ) from exc
            raise
        annotations = (config_map.get("metadata") or {}).get("annotations") or {}
        annotated = annotations.get(DEFAULT_REPOSITORY_ANNOTATION, "")
        key = ref.key or annotated
        decision.key = key
        data = config_map.get("data") or {}
        if key not in data:
            why = (
                f"the ref's key {key!r}"
                if ref.key
                else f"the {DEFAULT_REPOSITORY_ANNOTATION} annotation's key {key!r}"
                if annotated
                else f"no key in the ref and no {DEFAULT_REPOSITORY_ANNOTATION} annotation, "
                'so the key "" is looked up and'
            )
            raise _FallThrough(
                f'{MISSING_KEY_MARK} "{key}" for artifact repository ref "{ref}" ({why} is '
                f"missing from ConfigMap {namespace}/{config_map_name})",
                key,
            )
        value = data[key]
        try:
            repository = parse_repository_value(value)
        except BadRequest as exc:
            raise BadRequest(
                f'failed to unmarshall config map key "{key}" for artifact repository ref '
                f'"{ref}": {exc.message}'
            ) from exc
        return RefStatus(namespace, config_map_name, key, False, repository)


def parse_repository_value(value: str) -> ArtifactRepository:
    """A ConfigMap value as ``ArtifactRepository``; an empty or null document is an empty one.

    Unknown fields are an error here (Argo's non-strict unmarshal ignores them: deviation
    ``repository-unknown-fields``).
    """
    try:
        loaded = yaml.safe_load(value)
    except yaml.YAMLError:
        return parse_repository(value)  # reports the syntax error with its line
    if loaded is None:
        return ArtifactRepository()
    return parse_repository(loaded)


def _code_of(exc: BaseException) -> Code:
    if isinstance(exc, ArtifactError):
        return exc.code
    if isinstance(exc, KubeError):
        return {401: Code.UNAUTHORIZED, 403: Code.FORBIDDEN, 404: Code.NOT_FOUND}.get(
            exc.status or 0, Code.INTERNAL
        )
    return Code.INTERNAL


# --------------------------------------------------------------------------------------------
# The workflow side: the effective ref, frozen statuses, templates and archive locations
# --------------------------------------------------------------------------------------------


@dataclass
class WorkflowResolution:
    """Everything ``artconf resolve`` explains for one workflow."""

    namespace: str
    ref: RepositoryRef | None
    ref_origin: dict[str, str]  # field -> "Workflow" / "WorkflowTemplate x" / "workflowDefaults"
    resolution: Resolution
    template_spec: dict[str, Any] | None = None  # the workflowTemplateRef's spec, if any
    template_origin: str = ""
    frozen: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> RefStatus:
        return self.resolution.status

    @property
    def repository(self) -> ArtifactRepository | None:
        return self.resolution.repository

    @property
    def decisions(self) -> list[Decision]:
        return self.resolution.decisions


def effective_ref(
    layers: list[tuple[str, Mapping[str, Any] | None]],
) -> tuple[RepositoryRef | None, dict[str, str]]:
    """Merge ``artifactRepositoryRef`` field by field over ``(origin, spec)`` layers, first wins.

    As Argo's merged ``execWf`` (Workflow > workflowTemplateRef > workflowDefaults): a layer
    that has the ref at all, even ``{}``, makes the ref present; each of ``configMap`` and
    ``key`` comes from the first layer that sets it.
    """
    present = False
    values: dict[str, str] = {}
    origin: dict[str, str] = {}
    for name, spec in layers:
        if not spec or "artifactRepositoryRef" not in spec:
            continue
        raw = spec["artifactRepositoryRef"]
        ref = RepositoryRef.parse(raw, f"{name}: spec.artifactRepositoryRef")
        present = True
        origin.setdefault("ref", name)
        for field_name, value in (("configMap", ref.config_map), ("key", ref.key)):
            if value and field_name not in values:
                values[field_name] = value
                origin[field_name] = name
    if not present:
        return None, {}
    return RepositoryRef(values.get("configMap", ""), values.get("key", "")), origin


def _spec(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    spec = (obj or {}).get("spec") or {}
    if not isinstance(spec, dict):
        raise BadRequest("spec: expected a mapping")
    return spec


def load_workflow_template(
    source: ObjectSource, workflow: Mapping[str, Any], namespace: str
) -> tuple[dict[str, Any] | None, str]:
    """The spec of the workflow's ``workflowTemplateRef`` and a label, or ``(None, "")``."""
    ref = _spec(workflow).get("workflowTemplateRef")
    if not ref:
        return None, ""
    if not isinstance(ref, Mapping) or not ref.get("name"):
        raise BadRequest("spec.workflowTemplateRef: needs a name")
    name = str(ref["name"])
    cluster = bool(ref.get("clusterScope", False))
    label = f"ClusterWorkflowTemplate {name}" if cluster else f"WorkflowTemplate {namespace}/{name}"
    try:
        if cluster:
            template = source.get_cluster_workflow_template(name)
        else:
            template = source.get_workflow_template(namespace, name)
    except KubeError as exc:
        raise ResolutionError(
            f"failed to resolve artifact repository: cannot get {label}: {exc}",
            [],
            code=_code_of(exc),
        ) from exc
    return _spec(template), label


def resolve_workflow(
    workflow: Mapping[str, Any],
    source: ObjectSource,
    controller: ControllerConfig,
    *,
    namespace: str = "default",
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> WorkflowResolution:
    """Resolve ``workflow`` (a Workflow object) as the controller would, with a full trace.

    ``namespace`` is used when the Workflow has no ``metadata.namespace``.
    """
    if not isinstance(workflow, Mapping) or workflow.get("kind") not in (None, "Workflow"):
        raise BadRequest(f"expected a Workflow, got {workflow.get('kind')!r}")  # type: ignore[union-attr]
    meta = workflow.get("metadata") or {}
    wf_namespace = str(meta.get("namespace") or namespace)
    resolver = Resolver(
        source,
        controller.namespace,
        controller.artifact_repository,
        backoff=backoff,
        sleep=sleep,
        default_origin=f"the controller default (artifactRepository of {controller.origin})",
    )
    template_spec, template_origin = load_workflow_template(source, workflow, wf_namespace)
    defaults_spec = _spec(controller.workflow_defaults) if controller.workflow_defaults else None
    ref, origin = effective_ref(
        [
            ("Workflow", _spec(workflow)),
            (template_origin or "workflowTemplateRef", template_spec),
            (f"workflowDefaults of {controller.origin}", defaults_spec),
        ]
    )
    notes = list(controller.warnings)
    status_data = ((workflow.get("status") or {}) if isinstance(workflow, Mapping) else {}).get(
        "artifactRepositoryRef"
    )
    if status_data is not None:
        status = RefStatus.parse(status_data)
        resolution = resolver.get(status)
        return WorkflowResolution(
            wf_namespace,
            ref,
            origin,
            resolution,
            template_spec,
            template_origin,
            frozen=True,
            notes=notes,
        )
    resolution = resolver.resolve(ref, wf_namespace)
    return WorkflowResolution(
        wf_namespace, ref, origin, resolution, template_spec, template_origin, notes=notes
    )


def find_template(
    name: str, workflow: Mapping[str, Any], template_spec: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """The template ``name`` of the workflow, else of its workflowTemplateRef."""
    for spec in (_spec(workflow), template_spec or {}):
        for template in spec.get("templates") or []:
            if isinstance(template, dict) and template.get("name") == name:
                return template
    return None


def archive_location(
    template: Mapping[str, Any] | None, repository: ArtifactRepository | None
) -> tuple[ArtifactLocation | None, str]:
    """The archive location a template's pod gets, and where it comes from (spec 2.11, 4.2).

    A template's own ``archiveLocation`` wins when it is complete (``HasLocation``); otherwise
    the repository's location (key = its key format). ``None`` when there is no repository.
    """
    own = (template or {}).get("archiveLocation")
    if own is not None:
        location = parse_location(own)
        if location.has_location():
            return location, f"template {template.get('name')!r} archiveLocation"  # type: ignore[union-attr]
        if repository is not None:
            merged = repository.to_artifact_location()
            if location.archive_logs is not None:
                merged.archive_logs = location.archive_logs
            return merged, "the repository (the template's archiveLocation is not complete)"
    if repository is None:
        return None, "no repository"
    return repository.to_artifact_location(), "the repository"


def relocate(
    artifact: ArtifactLocation,
    location: ArtifactLocation | None,
    *,
    argo_compatible: bool = False,
) -> ArtifactLocation:
    """A copy of a key-only ``artifact`` completed from ``location`` (Argo's ``Relocate``).

    By default a partial location keeps the fields it set (deviation
    ``relocate-partial-location``); ``argo_compatible=True`` replaces them as Argo does.
    """
    copy = artifact.model_copy(deep=True)
    copy.relocate(location, argo_compatible=argo_compatible)
    return copy


# --------------------------------------------------------------------------------------------
# A sample pod and its archive key
# --------------------------------------------------------------------------------------------

#: Kubernetes' generateName suffix is 5 random characters; this one is a placeholder.
SAMPLE_SUFFIX = "xxxxx"


@dataclass
class SamplePod:
    workflow_name: str
    pod_name: str
    template_name: str
    node_name: str
    notes: list[str]


def sample_pod(
    workflow: Mapping[str, Any], template_spec: Mapping[str, Any] | None = None
) -> SamplePod:
    """The first pod of the workflow with Argo's v2 pod names (spec 4.3).

    The entrypoint template if it runs a pod (the pod is named like the workflow), else the
    first step or task of a steps/DAG entrypoint (``<wf>-<template>-<fnv32a(node)>``).
    """
    meta = workflow.get("metadata") or {}
    notes: list[str] = []
    name = meta.get("name")
    if not name:
        prefix = meta.get("generateName") or "workflow-"
        name = f"{prefix}{SAMPLE_SUFFIX}"
        notes.append(
            f"sample workflow name {name!r}: metadata has only generateName, so the real name "
            f"ends in 5 random characters instead of {SAMPLE_SUFFIX!r}"
        )
    spec = _spec(workflow)
    entrypoint = spec.get("entrypoint") or (template_spec or {}).get("entrypoint") or ""
    template = find_template(entrypoint, workflow, template_spec) if entrypoint else None
    if template is None:
        return SamplePod(name, name, entrypoint, name, [*notes, "entrypoint template not found"])
    if template.get("steps"):
        first = (template["steps"][0] or [{}])[0]
        node = f"{name}[0].{first.get('name', '')}"
        child = str(first.get("template", ""))
        return SamplePod(name, pod_name(name, node, child, ""), child, node, notes)
    if (template.get("dag") or {}).get("tasks"):
        task = template["dag"]["tasks"][0]
        node = f"{name}.{task.get('name', '')}"
        child = str(task.get("template", ""))
        return SamplePod(name, pod_name(name, node, child, ""), child, node, notes)
    return SamplePod(name, pod_name(name, name, entrypoint, ""), entrypoint, name, notes)


def key_context(
    workflow: Mapping[str, Any], pod: SamplePod, template: Mapping[str, Any] | None
) -> tuple[KeyContext, list[str]]:
    """The variables a key format may use, for the sample pod; sample values are listed."""
    meta = workflow.get("metadata") or {}
    spec = _spec(workflow)
    notes: list[str] = []
    uid = meta.get("uid")
    if not uid:
        uid = "00000000-0000-0000-0000-000000000000"
        notes.append("workflow.uid is a placeholder: the real one is assigned on creation")
    created = datetime.now(UTC).replace(microsecond=0)
    parameters = {
        str(p.get("name")): str(p.get("value", ""))
        for p in ((spec.get("arguments") or {}).get("parameters") or [])
        if isinstance(p, dict)
    }
    inputs = {
        str(p.get("name")): str(p.get("value", p.get("default", "")))
        for p in (((template or {}).get("inputs") or {}).get("parameters") or [])
        if isinstance(p, dict)
    }
    context = KeyContext(
        workflow_name=pod.workflow_name,
        workflow_namespace=str(meta.get("namespace") or ""),
        workflow_uid=str(uid),
        creation_timestamp=created,
        pod_name=pod.pod_name,
        service_account_name=str(spec.get("serviceAccountName") or "default"),
        main_entrypoint=str(spec.get("entrypoint") or ""),
        priority=spec.get("priority"),
        workflow_parameters=parameters,
        workflow_labels=dict(meta.get("labels") or {}),
        workflow_annotations=dict(meta.get("annotations") or {}),
        input_parameters=inputs,
    )
    return context, notes


def sample_archive_key(
    workflow: Mapping[str, Any],
    result: WorkflowResolution,
) -> dict[str, Any]:
    """The archive key of the sample pod: ``{pod, template, source, key | error, notes}``."""
    pod = sample_pod(workflow, result.template_spec)
    template = find_template(pod.template_name, workflow, result.template_spec)
    location, where = archive_location(template, result.repository)
    out: dict[str, Any] = {
        "workflow": pod.workflow_name,
        "pod": pod.pod_name,
        "node": pod.node_name,
        "template": pod.template_name,
        "from": where,
        "notes": list(pod.notes),
    }
    if location is None or not location.location_types():
        out["error"] = NOT_CONFIGURED_ERROR
        return out
    context, notes = key_context(
        {
            **workflow,
            "metadata": {**(workflow.get("metadata") or {}), "namespace": result.namespace},
        },
        pod,
        template,
    )
    out["notes"].extend(notes)
    out["type"] = location.location_types()[0]
    try:
        out["key"] = render_key(location.get_key(), context)
    except ArtifactError as exc:
        out["error"] = str(exc)
    return out
