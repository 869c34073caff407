"""Artifact garbage collection as Argo's controller and GC pods do it (spec 7).

The rules are pure: they read a Workflow as ``kubectl get wf -o yaml`` prints it (plain data)
and return what Argo would do. Only :func:`run_pod` touches storage, through the driver a
caller builds. Sources, Argo v4.0.5: ``workflow/controller/artifact_gc.go`` (the controller
half), ``cmd/argoexec/commands/artifact/delete.go`` (the pod half) and
``pkg/apis/workflow/v1alpha1/workflow_types.go`` (strategy, status helpers).

The lifecycle, one :func:`reconcile` per controller pass:

1. the finalizer is added when any output artifact has a strategy other than Never;
2. once the phase is completed, each ready strategy (completion: the ``completed`` label or a
   deletion; deletion: a ``deletionTimestamp``) is planned once: the not-yet-deleted outputs
   of Pod nodes with that strategy, grouped into one pod per service account + pod metadata;
3. each pod deletes its artifacts (relocate, driver, ``Delete`` retried on every error);
4. the controller recoups the pod: ``deleted`` flags, the ``ArtifactGCError`` condition, one
   warning event per task, and removes the finalizer when everything is deleted (or, with
   ``forceFinalizerRemoval``, when every pod is recouped).
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from drivers.base import Driver
from drivers.core.errors import ArtifactError, BadRequest
from drivers.core.model import ArtifactLocation, ArtifactRepository, parse_artifact, parse_location
from drivers.core.retry import Backoff, artifact_gc_policy, retry_call, retry_every_error

COMPLETION = "OnWorkflowCompletion"
DELETION = "OnWorkflowDeletion"
NEVER = "Never"
UNDEFINED = ""
STRATEGIES = (COMPLETION, DELETION)  # the two that delete, in the order Argo readies them
_ABBREVIATION = {COMPLETION: "wfcomp", DELETION: "wfdel"}

FINALIZER = "workflows.argoproj.io/artifact-gc"
COMPLETED_LABEL = "workflows.argoproj.io/completed"
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
COMPONENT_LABEL = "workflows.argoproj.io/component"
POD_HASH_LABEL = "workflows.argoproj.io/artifact-gc-pod"
STRATEGY_ANNOTATION = "workflows.argoproj.io/artifact-gc-strategy"
CONDITION = "ArtifactGCError"
EVENT_REASON = "ArtifactGCFailed"
COMPLETED_PHASES = ("Succeeded", "Failed", "Error")
#: Location types whose Argo driver returns ErrDeleteNotSupported (spec 7.3).
NO_DELETE = ("http", "artifactory", "git", "hdfs", "raw")
#: Argo's ``common.ErrDeleteNotSupported``, word for word (what the status records).
ERR_DELETE_NOT_SUPPORTED = (
    "delete not supported for this artifact storage, please check the following issue for "
    "details: https://github.com/argoproj/argo-workflows/issues/3102"
)
#: Template-referencing modes that sanitize what a user submits beside a workflowTemplateRef.
REFERENCE_MODES = ("Strict", "Secure")
#: GC fields that let a submitter pick an identity or patch the pod (privilege escalation).
HARDENED_FIELDS = ("serviceAccountName", "podSpecPatch", "podMetadata")


class GCError(BadRequest):
    """A workflow the controller cannot plan GC for. Argo logs it and ends the pass, but the
    strategy is already marked processed (a deferred call in ``processArtifactGCStrategy``), so
    it is never planned again and the finalizer stays."""


def fnv32a(*parts: str) -> int:
    """FNV-1a, 32 bits, over the UTF-8 bytes of ``parts`` written one after another (Go's
    ``hash/fnv`` ``New32a``)."""
    value = 0x811C9DC5
    for part in parts:
        for byte in part.encode():
            value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


# --------------------------------------------------------------------------------------------
# The spec the controller executes
# --------------------------------------------------------------------------------------------


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise GCError(f"{where}: expected a mapping")
    return dict(value)


def exec_spec(
    workflow: Mapping[str, Any],
    template_spec: Mapping[str, Any] | None = None,
    *,
    restrictions: str = "",
) -> dict[str, Any]:
    """The spec Argo's controller executes (``execWf.Spec``), as far as GC reads it.

    A workflow without a workflowTemplateRef executes its own spec (``operator.go``
    ``setExecWorkflow``). One with a ref executes ``status.storedWorkflowTemplateSpec`` once Argo
    has stored it; before that, its spec joined over the ref's spec (the workflow's fields win,
    ``artifactGC`` key by key down to the podMetadata maps, templates by name). Under the
    Strict or Secure template-referencing modes the submitter's ``artifactGC`` keeps only its
    strategy and ``forceFinalizerRemoval`` (:data:`HARDENED_FIELDS` are stripped).
    """
    spec = _mapping(workflow.get("spec"), "spec")
    if not spec.get("workflowTemplateRef"):
        return spec
    stored = _mapping(workflow.get("status"), "status").get("storedWorkflowTemplateSpec")
    if stored:
        return _mapping(stored, "status.storedWorkflowTemplateSpec")
    user = copy.deepcopy(spec)
    if restrictions in REFERENCE_MODES and isinstance(user.get("artifactGC"), Mapping):
        user["artifactGC"] = {
            k: v for k, v in user["artifactGC"].items() if k not in HARDENED_FIELDS
        }
    base = copy.deepcopy(_mapping(template_spec, "workflowTemplateRef spec"))
    for key, value in user.items():
        if key == "artifactGC" and isinstance(base.get(key), Mapping):
            base[key] = _merged(base[key], value)
        elif key == "templates" and base.get(key):
            mine = {t.get("name"): t for t in value if isinstance(t, Mapping)}
            base[key] = [mine.pop(t.get("name"), t) for t in base[key]] + list(mine.values())
        else:
            base[key] = value
    return base


def _merged(base: Mapping[str, Any], patch: Any) -> Any:
    """``patch`` over ``base``, maps merged key by key (a strategic merge of plain structs)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    out = dict(base)
    for key, value in patch.items():
        old = out.get(key)
        out[key] = _merged(old, value) if isinstance(old, Mapping) else copy.deepcopy(value)
    return out


def _gc(data: Mapping[str, Any] | None) -> dict[str, Any]:
    gc = (data or {}).get("artifactGC")
    return dict(gc) if isinstance(gc, Mapping) else {}


def effective_strategy(spec: Mapping[str, Any], artifact: Mapping[str, Any]) -> str:
    """The artifact's strategy if set, else the workflow's; undefined is Never
    (``Workflow.GetArtifactGCStrategy``)."""
    strategy = _gc(artifact).get("strategy") or _gc(spec).get("strategy") or UNDEFINED
    return strategy or NEVER


def _deletes(spec: Mapping[str, Any], artifact: Mapping[str, Any]) -> bool:
    return effective_strategy(spec, artifact) not in (NEVER, UNDEFINED)


def _outputs(template_or_node: Mapping[str, Any]) -> list[dict[str, Any]]:
    outputs = template_or_node.get("outputs") or {}
    return [a for a in (outputs.get("artifacts") or []) if isinstance(a, Mapping)]


def _stored_templates(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    stored = _mapping(workflow.get("status"), "status").get("storedTemplates") or {}
    return [t for t in stored.values() if isinstance(t, Mapping)]


def has_artifact_gc(workflow: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    """Whether any output artifact of the spec's templates or of the stored templates (a step
    that references a WorkflowTemplate) deletes (``HasArtifactGC``)."""
    templates = [*(spec.get("templates") or []), *_stored_templates(workflow)]
    return any(_deletes(spec, a) for t in templates for a in _outputs(t))


# --------------------------------------------------------------------------------------------
# Readiness and selection
# --------------------------------------------------------------------------------------------


def _gc_status(workflow: Mapping[str, Any]) -> dict[str, Any]:
    return _mapping(_mapping(workflow.get("status"), "status").get("artifactGCStatus"), "gc")


def fulfilled(workflow: Mapping[str, Any]) -> bool:
    """GC runs only once the phase is completed (``Status.Fulfilled``)."""
    return _mapping(workflow.get("status"), "status").get("phase") in COMPLETED_PHASES


def strategies_ready(workflow: Mapping[str, Any]) -> list[str]:
    """The strategies this pass processes: completion once the ``completed`` label is true or
    the workflow is being deleted, deletion once it is being deleted; each only once."""
    meta = _mapping(workflow.get("metadata"), "metadata")
    processed = _gc_status(workflow).get("strategiesProcessed") or {}
    deleting = bool(meta.get("deletionTimestamp"))
    completed = (meta.get("labels") or {}).get(COMPLETED_LABEL) == "true"
    ready = {COMPLETION: completed or deleting, DELETION: deleting}
    return [s for s in STRATEGIES if ready[s] and not processed.get(s)]


@dataclass(frozen=True)
class Selected:
    """An output artifact chosen for deletion, and the Pod node that produced it."""

    node_id: str
    artifact: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.artifact.get("name", ""))


def _pod_nodes(workflow: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    nodes = _mapping(workflow.get("status"), "status").get("nodes") or {}
    for node_id in sorted(nodes):  # Go ranges over a map: any order; sorted for stable output
        node = nodes[node_id]
        if isinstance(node, Mapping) and node.get("type") == "Pod":
            yield node_id, dict(node)


def select(workflow: Mapping[str, Any], spec: Mapping[str, Any], strategy: str) -> list[Selected]:
    """Outputs of Pod nodes whose effective strategy is ``strategy`` and that are not deleted
    yet (``findArtifactsToGC``)."""
    return [
        Selected(node_id, dict(a))
        for node_id, node in _pod_nodes(workflow)
        for a in _outputs(node)
        if effective_strategy(spec, a) == strategy and not a.get("deleted")
    ]


def all_artifacts_deleted(workflow: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    """Every Pod-node output whose strategy deletes has ``deleted: true``."""
    return all(
        a.get("deleted")
        for _, node in _pod_nodes(workflow)
        for a in _outputs(node)
        if _deletes(spec, a)
    )


# --------------------------------------------------------------------------------------------
# Pods and tasks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PodIdentity:
    """What a GC pod runs as: the workflow's ``artifactGC`` settings, overridden per artifact
    (labels and annotations key by key). ``podSpecPatch`` is the workflow's only and is not
    part of the pod name."""

    service_account: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    pod_spec_patch: str = ""


def pod_identity(spec: Mapping[str, Any], artifact: Mapping[str, Any]) -> PodIdentity:
    """``getArtifactGCPodInfo``."""
    account, patch = "", ""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    workflow_gc, artifact_gc = _gc(spec), _gc(artifact)
    if workflow_gc:
        patch = str(workflow_gc.get("podSpecPatch") or "")
    for gc in (workflow_gc, artifact_gc):
        account = str(gc.get("serviceAccountName") or account)
        metadata = gc.get("podMetadata") or {}
        labels.update({str(k): str(v) for k, v in (metadata.get("labels") or {}).items()})
        annotations.update({str(k): str(v) for k, v in (metadata.get("annotations") or {}).items()})
    return PodIdentity(
        account, tuple(sorted(labels.items())), tuple(sorted(annotations.items())), patch
    )


def pod_name(workflow_name: str, strategy: str, identity: PodIdentity) -> str:
    """``<wf>-artgc-<wfcomp|wfdel>-<fnv32a(SA, sorted labels, sorted annotations)>``."""
    if strategy not in _ABBREVIATION:
        raise GCError(f"ArtifactGCStrategy {strategy!r} not valid")
    parts = [identity.service_account]
    for key, value in (*identity.labels, *identity.annotations):
        parts += [key, value]
    return f"{workflow_name}-artgc-{_ABBREVIATION[strategy]}-{fnv32a(*parts)}"


def pod_hash_label(pod: str) -> str:
    """The task label and the pod's ``ARGO_ARTIFACT_GC_POD_HASH``: fnv32a of the pod name."""
    return str(fnv32a(pod))


@dataclass
class NodeArtifacts:
    """``ArtifactNodeSpec``: a node's archive location and the artifacts to delete, by name."""

    archive_location: dict[str, Any] | None
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class GCPod:
    """A GC pod and its one ``WorkflowArtifactGCTask`` (``<pod>-0``; Argo splits nothing)."""

    name: str
    strategy: str
    identity: PodIdentity
    nodes: dict[str, NodeArtifacts] = field(default_factory=dict)
    archive_from: dict[str, str] = field(default_factory=dict)  # node -> where its location came

    @property
    def task(self) -> str:
        return f"{self.name}-0"

    @property
    def label(self) -> str:
        return pod_hash_label(self.name)

    def artifacts(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for node_id, spec in self.nodes.items():
            for name, artifact in spec.artifacts.items():
                yield node_id, name, artifact

    def locations(self) -> list[dict[str, Any]]:
        """Every location the pod reads secrets from: archive locations, then artifacts."""
        out = [n.archive_location for n in self.nodes.values() if n.archive_location]
        return out + [a for _, _, a in self.artifacts()]

    def secrets(self) -> list[str]:
        """Names of the Secrets mounted into the pod (``/argo/secret/<name>``)."""
        return sorted({name for name, _ in secret_selectors(self.locations())})

    def plugins(self) -> list[str]:
        """Plugin drivers that get a sidecar in the pod."""
        return sorted(
            {
                str(loc["plugin"]["name"])
                for loc in self.locations()
                if (loc.get("plugin") or {}).get("name")
            }
        )

    def manifest(self, workflow_name: str, namespace: str) -> dict[str, Any]:
        """The pod's metadata and identity as Argo creates it (containers elided)."""
        labels = {
            WORKFLOW_LABEL: workflow_name,
            COMPONENT_LABEL: "artifact-gc",
            COMPLETED_LABEL: "false",
        }
        annotations = {STRATEGY_ANNOTATION: self.strategy}
        labels.update(dict(self.identity.labels))
        annotations.update(dict(self.identity.annotations))
        spec: dict[str, Any] = {"restartPolicy": "Never"}
        if self.identity.service_account:
            spec["serviceAccountName"] = self.identity.service_account
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": self.name,
                "namespace": namespace,
                "labels": labels,
                "annotations": annotations,
            },
            "spec": spec,
        }

    def task_manifest(self, namespace: str) -> dict[str, Any]:
        """The ``WorkflowArtifactGCTask`` the pod reads."""
        by_node = {}
        for node_id, spec in self.nodes.items():
            entry: dict[str, Any] = {"artifacts": spec.artifacts}
            if spec.archive_location is not None:
                entry["archiveLocation"] = spec.archive_location
            by_node[node_id] = entry
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "WorkflowArtifactGCTask",
            "metadata": {
                "name": self.task,
                "namespace": namespace,
                "labels": {POD_HASH_LABEL: self.label},
            },
            "spec": {"artifactsByNode": by_node},
        }


def secret_selectors(value: Any) -> Iterator[tuple[str, str]]:
    """(name, key) of every SecretKeySelector the GC pod mounts: both set, under a ``*Secret``
    field; an S3 SSE-C key only when encryption is enabled (``createSecretVolumesFrom...``)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if str(key).endswith("Secret") and isinstance(item, Mapping):
                if item.get("name") and item.get("key"):
                    yield str(item["name"]), str(item["key"])
            elif key == "encryptionOptions" and not (item or {}).get("enableEncryption"):
                continue
            else:
                yield from secret_selectors(item)
    elif isinstance(value, list):
        for item in value:
            yield from secret_selectors(item)


def template_name_of(node: Mapping[str, Any]) -> str:
    """``templateRef.template`` when the node has a templateRef, else ``templateName``
    (``util.GetTemplateFromNode``)."""
    ref = node.get("templateRef")
    return str((ref.get("template") if ref else node.get("templateName")) or "")


def template_for_node(
    workflow: Mapping[str, Any], node: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The node's template (``templateRef.template`` or ``templateName``), looked up in the
    spec, then ``status.storedWorkflowTemplateSpec``, then the stored templates by name
    (``Workflow.GetTemplateByName``)."""
    name = template_name_of(node)
    status = _mapping(workflow.get("status"), "status")
    places = [
        _mapping(workflow.get("spec"), "spec").get("templates") or [],
        (status.get("storedWorkflowTemplateSpec") or {}).get("templates") or [],
        _stored_templates(workflow),
    ]
    for templates in places:
        for template in templates:
            if isinstance(template, Mapping) and template.get("name") == name:
                return dict(template)
    return None


def archive_location_for(
    template: Mapping[str, Any], repository: ArtifactRepository | None
) -> tuple[dict[str, Any] | None, str]:
    """The template's ``archiveLocation`` if it ``HasLocation``, else the repository's."""
    own = template.get("archiveLocation")
    if own and parse_location(own).has_location():
        return dict(own), f"template {template.get('name')!r} archiveLocation"
    if repository is None:
        return None, "no repository"
    return repository.to_artifact_location().to_dict(), "the repository"


def plan(
    workflow: Mapping[str, Any],
    spec: Mapping[str, Any],
    strategy: str,
    repository: ArtifactRepository | None,
) -> list[GCPod]:
    """The GC pods and tasks Argo creates for ``strategy`` (``processArtifactGCStrategy``)."""
    name = str(_mapping(workflow.get("metadata"), "metadata").get("name") or "")
    nodes = _mapping(workflow.get("status"), "status").get("nodes") or {}
    pods: dict[str, GCPod] = {}
    for chosen in select(workflow, spec, strategy):
        identity = pod_identity(spec, chosen.artifact)
        pod = pods.setdefault(
            pod_name(name, strategy, identity),
            GCPod(pod_name(name, strategy, identity), strategy, identity),
        )
        node = nodes.get(chosen.node_id)
        template_name = template_name_of(node)
        if not template_name:
            raise GCError(
                f"can't process Artifact GC Strategy {strategy}: node {chosen.node_id!r} has an "
                "unnamed template"
            )
        template = template_for_node(workflow, node)
        if template is None:
            raise GCError(
                f"can't process Artifact GC Strategy {strategy}: template name "
                f"{template_name!r} belonging to node {chosen.node_id!r} not found"
            )
        if chosen.node_id not in pod.nodes:
            location, where = archive_location_for(template, repository)
            pod.nodes[chosen.node_id] = NodeArtifacts(location)
            pod.archive_from[chosen.node_id] = where
        pod.nodes[chosen.node_id].artifacts[chosen.name] = chosen.artifact
    return list(pods.values())


# --------------------------------------------------------------------------------------------
# The pod: deletion
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArtifactResult:
    name: str
    success: bool
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "success": self.success}
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class PodRun:
    """What a GC pod did: its phase, and the task status it patched (``None`` if it aborted
    before patching: Argo exits non-zero on a relocation or driver-construction error)."""

    pod: GCPod
    phase: str
    results: dict[str, dict[str, ArtifactResult]] | None
    error: str = ""
    attempts: int = 0

    def task_status(self) -> dict[str, Any]:
        return {
            "artifactResultsByNode": {
                node: {"artifactResults": {n: r.to_dict() for n, r in results.items()}}
                for node, results in (self.results or {}).items()
            }
        }


#: Builds a driver for a relocated artifact (Argo's ``artifacts.NewDriver``).
MakeDriver = Callable[[Any], Driver]


def run_pod(
    pod: GCPod,
    make_driver: MakeDriver,
    *,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PodRun:
    """Delete the pod's artifacts as ``argoexec artifact delete`` does.

    Each artifact is relocated into its node's archive location, given a driver, and deleted
    under ``DefaultRetry`` retrying every error. The recorded result is the last attempt's
    (its own error text, not the backoff's timeout). A failed delete does not fail the pod; a
    relocation or driver error aborts it before the task status is patched.
    """
    policy = backoff if backoff is not None else artifact_gc_policy()
    results: dict[str, dict[str, ArtifactResult]] = {}
    attempts = 0
    for node_id, spec in pod.nodes.items():
        node_results: dict[str, ArtifactResult] = {}
        archive = parse_location(spec.archive_location) if spec.archive_location else None
        for name, data in spec.artifacts.items():
            try:
                artifact = parse_artifact(data)
                if archive is not None:
                    artifact.relocate(archive)
                driver = make_driver(artifact)
            except ArtifactError as exc:
                return PodRun(pod, "Failed", None, f"{node_id}/{name}: {exc}", attempts)

            node_results[name], tries = _delete(driver, artifact, policy, sleep)
            attempts += tries
        results[node_id] = node_results
    return PodRun(pod, "Succeeded", results, "", attempts)


def _delete(
    driver: Driver, artifact: Any, policy: Backoff, sleep: Callable[[float], None]
) -> tuple[ArtifactResult, int]:
    """One artifact's delete under the GC retry; the result of the last attempt."""
    last: list[ArtifactResult] = []

    def attempt() -> None:
        try:
            driver.delete(artifact)
        except Exception as exc:
            last.append(ArtifactResult(artifact.name, False, str(exc)))
            raise
        last.append(ArtifactResult(artifact.name, True))

    with contextlib.suppress(Exception):  # recorded in `last`; a failed delete fails no pod
        retry_call(attempt, policy, is_transient=retry_every_error, sleep=sleep)
    return last[-1], len(last)


def location_of(pod: GCPod, node_id: str, name: str) -> ArtifactLocation:
    """Where a planned artifact lives once relocated (for checks and plans)."""
    artifact = parse_artifact(pod.nodes[node_id].artifacts[name])
    archive = pod.nodes[node_id].archive_location
    if archive:
        artifact.relocate(parse_location(archive))
    return artifact


# --------------------------------------------------------------------------------------------
# The controller again: recouping and the finalizer
# --------------------------------------------------------------------------------------------


def _field(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]`` as a dict, created when missing or null (YAML's ``key:``)."""
    if not isinstance(parent.get(key), dict):
        parent[key] = {}
    return parent[key]


def _upsert_condition(status: dict[str, Any], message: str) -> None:
    """``Conditions.UpsertCondition``: replace the condition of that type where it stands, or
    append it."""
    condition = {"type": CONDITION, "status": "True", "message": message}
    conditions = list(status.get("conditions") or [])
    for index, existing in enumerate(conditions):
        if existing.get("type") == CONDITION:
            conditions[index] = condition
            break
    else:
        conditions.append(condition)
    status["conditions"] = conditions


def recoup(workflow: dict[str, Any], run: PodRun) -> list[str]:
    """Record a finished pod into ``workflow`` (changed in place); return the warning events.

    ``deleted`` follows each result; every error upserts the ``ArtifactGCError`` condition
    (one per type: the last message stays); one event per task; a failed pod adds its own.
    """
    status = _field(workflow, "status")
    events: list[str] = []
    strategy = run.pod.strategy
    if run.phase == "Failed":
        message = (
            f"Artifact Garbage Collection failed for strategy {strategy}, pod {run.pod.name} "
            "exited with non-zero exit code: check pod logs for more information"
        )
        _upsert_condition(status, message)
        events.append(message)
    failed = False
    nodes = status.get("nodes") or {}
    for node_id, results in (run.results or {}).items():
        node = nodes.get(node_id)
        if node is None:
            raise GCError(
                f"node named {node_id!r} returned by WorkflowArtifactGCTask {run.pod.task!r} "
                f"wasn't found in Workflow {workflow.get('metadata', {}).get('name')!r} Status"
            )
        if node.get("outputs") is None:
            raise GCError(
                f"node named {node_id!r} returned by WorkflowArtifactGCTask {run.pod.task!r} "
                "doesn't seem to have Outputs in Workflow Status"
            )
        for artifact in _outputs(node):
            result = results.get(str(artifact.get("name")))
            if result is None:
                continue
            artifact["deleted"] = result.success
            if result.error is not None:
                _upsert_condition(status, f"{result.error} (artifactGCTask: {run.pod.task})")
                if not failed:
                    failed = True
                    events.append(
                        f"Artifact Garbage Collection failed for strategy {strategy}, "
                        f"err:{result.error}"
                    )
    _field(_field(status, "artifactGCStatus"), "podsRecouped")[run.pod.name] = True
    return events


def task_kept(run: PodRun) -> bool:
    """Argo deletes a task only when its pod succeeded and every artifact succeeded."""
    ok = run.phase == "Succeeded" and all(
        r.success for results in (run.results or {}).values() for r in results.values()
    )
    return not ok


def force_finalizer_removal(spec: Mapping[str, Any]) -> bool:
    """``spec.artifactGC.forceFinalizerRemoval``."""
    return bool(_gc(spec).get("forceFinalizerRemoval"))


def never_reconciled(workflow: Mapping[str, Any]) -> bool:
    """Labelled completed without the artifact-GC finalizer: the controller never looks at it
    again (``controller.go`` ``reconciliationNeeded``)."""
    meta = _mapping(workflow.get("metadata"), "metadata")
    return (meta.get("labels") or {}).get(COMPLETED_LABEL) == "true" and FINALIZER not in (
        meta.get("finalizers") or []
    )


def finalizer_removable(workflow: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    """With ``forceFinalizerRemoval``: every GC pod recouped (none recouped is not "all");
    otherwise every deleting Pod-node output has ``deleted: true``."""
    if force_finalizer_removal(spec):
        recouped = _gc_status(workflow).get("podsRecouped") or {}
        return bool(recouped) and all(recouped.values())
    return all_artifacts_deleted(workflow, spec)


# --------------------------------------------------------------------------------------------
# One controller pass
# --------------------------------------------------------------------------------------------


@dataclass
class Pass:
    """What one reconcile did: the workflow after it, and everything Argo would show."""

    workflow: dict[str, Any]
    pods: list[PodRun] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    finalizer_added: bool = False
    finalizer_removed: bool = False
    skipped: str = ""  # why GC did nothing this pass
    planned: list[GCPod] = field(default_factory=list)  # every pod created, started or not
    blocked: dict[str, list[str]] = field(default_factory=dict)  # pod -> why it never starts
    error: str = ""  # the error that ended the pass (Argo logs "failed to GC artifacts")

    def status_patch(self) -> dict[str, Any]:
        """The part of the Workflow Argo writes: finalizers, GC status, conditions, flags."""
        status = self.workflow.get("status") or {}
        nodes = {
            node_id: {"outputs": {"artifacts": [
                {"name": a.get("name"), "deleted": bool(a.get("deleted"))} for a in _outputs(node)
            ]}}
            for node_id, node in (status.get("nodes") or {}).items()
            if isinstance(node, Mapping) and node.get("type") == "Pod" and _outputs(node)
        }  # fmt: skip
        return {
            "metadata": {
                "finalizers": list(self.workflow.get("metadata", {}).get("finalizers") or [])
            },
            "status": {
                "artifactGCStatus": status.get("artifactGCStatus") or {},
                "conditions": [
                    c for c in status.get("conditions") or [] if c.get("type") == CONDITION
                ],
                "nodes": nodes,
            },
        }


def reconcile(
    workflow: Mapping[str, Any],
    repository: ArtifactRepository | None,
    make_driver: MakeDriver | None,
    *,
    template_spec: Mapping[str, Any] | None = None,
    restrictions: str = "",
    enabled: bool = True,
    blocked_by: Callable[[GCPod], list[str]] | None = None,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Pass:
    """One controller pass over ``workflow`` (not changed): finalizer, ready strategies, their
    pods run to completion with ``make_driver`` (``None``: plan only, no pod runs), recouping,
    finalizer removal. ``enabled=False`` is ``ARGO_ARTIFACT_GC_ENABLED=false``.

    ``blocked_by(pod)`` names what keeps a pod from starting (a Secret it cannot mount): such a
    pod is created but never runs, so it is never recouped and its artifacts stay undeleted,
    as in a cluster where it stays ContainerCreating.

    A workflow labelled completed without the artifact-GC finalizer is never reconciled again
    (``controller.go`` ``reconciliationNeeded``). A planning error marks the strategy processed
    anyway and ends the pass (``Pass.error``), before any pod is recouped."""
    wf: dict[str, Any] = copy.deepcopy(dict(workflow))
    result = Pass(wf)
    if not enabled:
        result.skipped = "ARGO_ARTIFACT_GC_ENABLED=false"
        return result
    if never_reconciled(wf):
        result.skipped = "completed without the artifact-gc finalizer: not reconciled"
        return result
    spec = exec_spec(wf, template_spec, restrictions=restrictions)
    meta, status = _field(wf, "metadata"), _field(wf, "status")
    gc_status = _field(status, "artifactGCStatus")
    finalizers = meta.get("finalizers") or []
    meta["finalizers"] = finalizers
    if FINALIZER not in finalizers and not gc_status.get("notSpecified"):
        if has_artifact_gc(wf, spec):
            finalizers.append(FINALIZER)
            result.finalizer_added = True
        else:
            gc_status["notSpecified"] = True
    if not fulfilled(wf):
        result.skipped = f"phase {status.get('phase') or 'unset'!r} is not completed"
        return result
    for strategy in strategies_ready(wf):
        _field(gc_status, "strategiesProcessed")[strategy] = True
        try:
            pods = plan(wf, spec, strategy, repository)
        except GCError as exc:
            result.error = str(exc)
            return result
        result.planned += pods
        if make_driver is None:
            result.pods += [PodRun(pod, "Pending", None) for pod in pods]
            continue
        for pod in pods:
            reasons = blocked_by(pod) if blocked_by else []
            if reasons:
                result.blocked[pod.name] = list(reasons)
                continue
            run = run_pod(pod, make_driver, backoff=backoff, sleep=sleep)
            result.pods.append(run)
            result.events += recoup(wf, run)
    if FINALIZER in finalizers and finalizer_removable(wf, spec):
        meta["finalizers"] = [f for f in finalizers if f != FINALIZER]
        result.finalizer_removed = True
    return result
