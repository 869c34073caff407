"""What `artconf gc plan` and `artconf gc run` show: Argo's artifact GC for one Workflow (spec 7).

The rules are ``drivers.controller.gc`` (the controller and the GC pod, pure); this module
gathers what they need from a Workflow as ``kubectl get wf -o yaml`` prints it plus, when given,
a manifests directory or a cluster (the repository when the status has none, a WorkflowTemplate,
the Secrets), and turns their answer into a report: the pods per strategy and when they run,
their artifacts and where each lives once relocated, and warnings for what will get stuck or
leak. :func:`run` deletes with the reference drivers and records what Argo would record.

Every report is plain data (the ``--json`` output); :func:`render_plan` and :func:`render_run`
are its text form. Secret values are never put into a report: Secrets are looked at for their
names and keys, and every value read is handed back so the caller redacts its output.
"""

from __future__ import annotations

import contextlib
import copy
import json
import posixpath
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.controller import gc
from drivers.controller.kube import KubeError, KubeSecretSource, ObjectSource
from drivers.core.errors import ArtifactError, BadRequest, Unimplemented
from drivers.core.model import (
    Artifact,
    ArtifactLocation,
    ArtifactRepository,
    parse_artifact,
    parse_location,
)
from drivers.core.retry import Backoff
from drivers.core.secrets import SecretValue

#: How each strategy state is headed in the text.
SECTIONS = {
    "now": "NOW",
    "waiting": "LATER",
    "later": "LATER",
    "processed": "PROCESSED",
    "never": "NEVER",
}
STRATEGY_CHOICES = (gc.COMPLETION, gc.DELETION, "ready")
WORKFLOW_FIX = "give the Workflow as `kubectl get wf NAME -n NAMESPACE -o yaml` prints it"


class GCInputError(BadRequest):
    """A Workflow GC cannot be planned for: names the field and the fix (exit 2)."""

    def __init__(self, path: str, field_name: str, problem: str, fix: str) -> None:
        super().__init__(f"{path}: {field_name} {problem}: {fix}")
        self.field = field_name
        self.fix = fix


# --------------------------------------------------------------------------------------------
# Inputs: the workflow, the spec Argo executes, the repository, the objects
# --------------------------------------------------------------------------------------------


@dataclass
class Inputs:
    """Everything the rules need, and where each part came from."""

    path: str
    workflow: dict[str, Any]  # as read; storedWorkflowTemplateSpec filled in if it was absent
    namespace: str
    source: ObjectSource | None
    spec: dict[str, Any]
    spec_from: str
    template_spec: dict[str, Any] | None
    repository: ArtifactRepository | None
    repository_from: str
    notes: list[str] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    secrets_seen: list[SecretValue] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.workflow["metadata"]["name"])


def check_workflow(workflow: dict[str, Any], path: str) -> None:
    """The fields GC reads, present and of the right shape (a typed error names the field)."""
    meta = workflow.get("metadata") or {}
    if not meta.get("name"):
        raise GCInputError(
            path,
            "metadata.name",
            "is missing (only generateName is set)",
            "GC pod names start with the Workflow's name, which Argo assigns on creation; "
            + WORKFLOW_FIX,
        )
    status = workflow.get("status")
    if not status:
        raise GCInputError(
            path,
            "status",
            "is missing",
            "GC reads the nodes and outputs Argo recorded there, so a submitted manifest is not "
            "enough; " + WORKFLOW_FIX,
        )
    if not isinstance(status, dict):
        raise GCInputError(path, "status", "is not a mapping", WORKFLOW_FIX)
    for name in ("nodes", "artifactGCStatus", "artifactRepositoryRef", "storedTemplates"):
        if status.get(name) is not None and not isinstance(status[name], dict):
            raise GCInputError(path, f"status.{name}", "is not a mapping", WORKFLOW_FIX)
    for node_id, node in (status.get("nodes") or {}).items():
        if not isinstance(node, dict):
            raise GCInputError(path, f"status.nodes.{node_id}", "is not a mapping", WORKFLOW_FIX)
        outputs = node.get("outputs") or {}
        artifacts = outputs.get("artifacts") if isinstance(outputs, dict) else None
        if not isinstance(outputs, dict) or not isinstance(artifacts or [], list):
            raise GCInputError(
                path,
                f"status.nodes.{node_id}.outputs.artifacts",
                "is not a list",
                WORKFLOW_FIX,
            )
        for index, artifact in enumerate(artifacts or []):
            where = f"status.nodes.{node_id}.outputs.artifacts[{index}]"
            if not isinstance(artifact, dict):
                raise GCInputError(path, where, "is not a mapping", WORKFLOW_FIX)
            try:
                parse_artifact(artifact)
            except BadRequest as exc:
                raise GCInputError(
                    path, where, f"is not a valid artifact ({exc.message})", WORKFLOW_FIX
                ) from exc


def load_inputs(
    workflow: dict[str, Any],
    path: str,
    source: ObjectSource | None,
    *,
    namespace: str = "default",
    controller_namespace: str = "argo",
) -> Inputs:
    """Read what GC needs: the spec (a WorkflowTemplate from ``source`` if the status lacks the
    stored spec), and the repository (frozen in the status, else resolved from ``source``)."""
    from drivers.controller.kube import load_controller_config
    from drivers.controller.resolution import (
        RefStatus,
        ResolutionError,
        load_workflow_template,
        resolve_workflow,
    )

    check_workflow(workflow, path)
    workflow = copy.deepcopy(workflow)
    meta, status = workflow["metadata"], workflow["status"]
    wf_namespace = str(meta.get("namespace") or namespace)
    notes: list[str] = []
    warnings: list[dict[str, Any]] = []
    ref = (workflow.get("spec") or {}).get("workflowTemplateRef")

    # The spec Argo executes.
    template_spec = None
    if status.get("storedWorkflowTemplateSpec"):
        spec_from = "status.storedWorkflowTemplateSpec (what Argo executes)"
    elif ref:
        name = ref.get("name") if isinstance(ref, dict) else None
        if source is None:
            raise GCInputError(
                path,
                "status.storedWorkflowTemplateSpec",
                f"is missing and spec.workflowTemplateRef names {name!r}",
                "the template's spec (strategies, GC service account) is needed: pass "
                "--manifests DIR holding that WorkflowTemplate, or --kube, or give the status "
                "as kubectl prints it",
            )
        template_spec, label = load_workflow_template(source, workflow, wf_namespace)
        spec_from = (
            f"the Workflow's spec joined with {label} ({source.describe()}), stored in "
            "status.storedWorkflowTemplateSpec as Argo does on its first pass"
        )
        status["storedWorkflowTemplateSpec"] = gc.exec_spec(workflow, template_spec)
    else:
        spec_from = "the Workflow's spec"
    spec = gc.exec_spec(workflow, template_spec)

    # The repository.
    repository: ArtifactRepository | None = None
    ref_status = status.get("artifactRepositoryRef")
    if isinstance(ref_status, dict) and ref_status.get("artifactRepository") is not None:
        frozen = RefStatus.parse(ref_status)
        repository = frozen.artifact_repository
        repository_from = (
            f"status.artifactRepositoryRef ({frozen}): frozen when the workflow started; "
            "ConfigMaps changed since do not matter"
        )
    elif source is not None:
        controller = load_controller_config(source, controller_namespace)
        notes.extend(controller.warnings)
        try:
            result = resolve_workflow(workflow, source, controller, namespace=namespace)
        except ResolutionError as exc:
            repository_from = "unresolved"
            warnings.append(
                warning(
                    "repository-unresolved",
                    f"the artifact repository cannot be resolved ({source.describe()}): {exc}; "
                    "key-only artifacts (every output Argo records) cannot be located",
                    stuck=True,
                )
            )
        else:
            repository = result.repository
            chosen = next((d for d in result.decisions if d.outcome in ("chosen", "re-read")), None)
            repository_from = f"resolved from {source.describe()}" + (
                f": {chosen.candidate}: {chosen.reason}" if chosen else ""
            )
    else:
        repository_from = "unknown"
        notes.append(
            "the status holds no artifactRepositoryRef.artifactRepository and no --manifests or "
            "--kube was given: key-only artifacts cannot be located"
        )
    if source is None:
        notes.append(
            "Secrets not checked (no --manifests or --kube): a missing Secret keeps a GC pod from "
            "starting"
        )
    return Inputs(
        path=path,
        workflow=workflow,
        namespace=wf_namespace,
        source=source,
        spec=spec,
        spec_from=spec_from,
        template_spec=template_spec,
        repository=repository,
        repository_from=repository_from,
        notes=notes,
        warnings=warnings,
    )


# --------------------------------------------------------------------------------------------
# Small pieces
# --------------------------------------------------------------------------------------------


def warning(
    code: str,
    message: str,
    *,
    stuck: bool,
    strategy: str = "",
    pod: str = "",
    node: str = "",
    artifact: str = "",
    deviation: str = "",
) -> dict[str, Any]:
    """One warning: ``stuck`` when it keeps the finalizer (the Workflow cannot go)."""
    out: dict[str, Any] = {"code": code, "stuck": stuck, "message": message}
    for key, value in (
        ("strategy", strategy),
        ("pod", pod),
        ("node", node),
        ("artifact", artifact),
        ("deviation", deviation),
    ):
        if value:
            out[key] = value
    return out


def describe_location(location: ArtifactLocation | None) -> dict[str, Any]:
    """``{type, endpoint?, bucket?, key?}`` of a location (never a credential)."""
    if location is None or not location.location_types():
        return {"type": ""}
    kind = location.location_types()[0]
    fields = location.get().to_dict()
    out: dict[str, Any] = {"type": kind}
    renamed = {"container": "bucket", "name": "plugin"}
    for name in ("endpoint", "bucket", "container", "url", "repo", "name"):
        if isinstance(fields.get(name), str) and fields[name]:
            out[renamed.get(name, name)] = fields[name]
    try:
        key = location.get_key()
    except ArtifactError:
        key = None
    if key and kind not in ("http", "artifactory", "git", "raw"):
        out["key"] = key
    return out


def location_text(described: Mapping[str, Any], *, key: bool = True) -> str:
    """``s3 bucket key`` (or ``http URL``...) for text output; ``key=False`` for a repository
    or an archive location, whose key is a format."""
    if not described.get("type"):
        return "(no location)"
    parts = [described["type"]]
    for name in ("plugin", "bucket", "key", "url", "repo"):
        if name == "key" and not key:
            continue
        if described.get(name):
            parts.append(str(described[name]))
    return " ".join(parts)


def _looks_like_directory(artifact: Artifact, key: str) -> bool:
    """Saved as is (archive none) under a key whose last segment has no extension."""
    archive = artifact.archive
    if archive is None or archive.none is None or not key:
        return False
    return "." not in posixpath.basename(key.rstrip("/"))


# --------------------------------------------------------------------------------------------
# Strategies: when each one runs
# --------------------------------------------------------------------------------------------


def strategy_states(workflow: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """strategy -> (now | waiting | later | processed | never, why)."""
    meta = workflow.get("metadata") or {}
    status = workflow.get("status") or {}
    processed = (status.get("artifactGCStatus") or {}).get("strategiesProcessed") or {}
    deleting = bool(meta.get("deletionTimestamp"))
    ready = gc.strategies_ready(workflow)
    phase = status.get("phase") or "unset"
    out: dict[str, tuple[str, str]] = {}
    for strategy in gc.STRATEGIES:
        if processed.get(strategy):
            out[strategy] = (
                "processed",
                "status.artifactGCStatus.strategiesProcessed says Argo planned it already; it "
                "never plans a strategy twice",
            )
        elif gc.never_reconciled(workflow):
            out[strategy] = (
                "never",
                f"the Workflow is labelled {gc.COMPLETED_LABEL}=true without the "
                f"{gc.FINALIZER} finalizer: Argo never reconciles it again",
            )
        elif strategy in ready:
            trigger = (
                "the Workflow is being deleted (metadata.deletionTimestamp)"
                if deleting
                else f"label {gc.COMPLETED_LABEL}=true"
            )
            if gc.fulfilled(workflow):
                out[strategy] = ("now", f"ready: {trigger}")
            else:
                out[strategy] = (
                    "waiting",
                    f"{trigger}, but phase {phase} is not completed: GC waits for Succeeded, "
                    "Failed or Error",
                )
        elif strategy == gc.COMPLETION:
            out[strategy] = (
                "later",
                f"once the phase completes and the controller sets label {gc.COMPLETED_LABEL}="
                "true (or the Workflow is deleted)",
            )
        else:
            out[strategy] = (
                "later",
                "once the Workflow is deleted (`kubectl delete wf` or `argo delete` sets "
                "metadata.deletionTimestamp) and its phase is completed",
            )
    return out


def chosen_strategies(states: Mapping[str, tuple[str, str]], choice: str | None) -> list[str]:
    """The strategies a plan shows: default every one not processed yet; ``ready`` those that
    run now; a strategy name that one, whatever its state."""
    if choice == "ready":
        return [s for s in gc.STRATEGIES if states[s][0] == "now"]
    if choice in gc.STRATEGIES:
        return [choice]
    return [s for s in gc.STRATEGIES if states[s][0] != "processed"]


# --------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------


class _SecretCheck:
    """Which Secrets (and keys) exist in the workflow's namespace; values are only collected
    for redaction."""

    def __init__(self, source: ObjectSource, namespace: str, seen: list[SecretValue]) -> None:
        self.source = source
        self.namespace = namespace
        self.seen = seen
        self._keys: dict[str, set[str] | str] = {}

    def problem(self, name: str, key: str) -> tuple[str, bool] | None:
        """None if present, else (what is wrong, whether it is certain)."""
        if name not in self._keys:
            try:
                secret = self.source.get_secret(self.namespace, name)
            except KubeError as exc:
                self._keys[name] = "missing" if exc.not_found else f"cannot be read: {exc}"
            else:
                data = secret.get("data") or {}
                self._keys[name] = set(data)
                if data.get(key):  # only what a pod mounts, for redaction
                    self.seen.append(SecretValue(data[key]))
        keys = self._keys[name]
        if keys == "missing":
            return f"Secret {name!r} is missing in namespace {self.namespace!r}", True
        if isinstance(keys, str):
            return f"Secret {name!r} {keys}", False
        if key not in keys:
            have = ", ".join(sorted(keys)) or "no keys"
            return f"Secret {name!r} has no key {key!r} (it has {have})", True
        return None


def _plain(data: Any) -> Any:
    from conformance.commands.resolve import _plain_credentials

    return _plain_credentials(data, [])


def plan_pod(
    inputs: Inputs, pod: gc.GCPod, secrets: _SecretCheck | None, warnings: list[dict[str, Any]]
) -> dict[str, Any]:
    """One pod of the plan, its artifacts, and the warnings they raise (appended)."""
    force = gc.force_finalizer_removal(inputs.spec)
    identity = pod.identity
    out: dict[str, Any] = {
        "name": pod.name,
        "strategy": pod.strategy,
        "serviceAccount": identity.service_account or "(the namespace's default)",
        "labels": dict(identity.labels),
        "annotations": dict(identity.annotations),
        "podSpecPatch": bool(identity.pod_spec_patch),
        "task": pod.task,
        "taskLabel": f"{gc.POD_HASH_LABEL}={pod.label}",
        "secrets": pod.secrets(),
        "plugins": pod.plugins(),
        "nodes": [],
        "manifest": pod.manifest(inputs.name, inputs.namespace),
        "taskManifest": _plain(pod.task_manifest(inputs.namespace)),
    }
    where = {"strategy": pod.strategy, "pod": pod.name}
    blocked: list[str] = []
    if secrets is not None:
        problems: dict[tuple[str, bool], None] = {}
        for name, key in sorted(set(gc.secret_selectors(pod.locations()))):
            problem = secrets.problem(name, key)
            if problem is not None:
                problems[problem] = None
        for text, certain in problems:
            blocked.append(text)
            if certain:
                message = (
                    f"{text} ({secrets.source.describe()}): Kubernetes cannot mount it, so the "
                    "GC pod stays ContainerCreating (FailedMount), never runs and is never "
                    "recouped: its artifacts stay and the finalizer stays, also with "
                    "forceFinalizerRemoval. Create it in the Workflow's namespace"
                )
            else:
                message = f"{text}: whether the GC pod can mount it is unknown"
            warnings.append(warning("secret-missing", message, stuck=certain, **where))
    out["blockedBy"] = blocked
    for node_id, spec in pod.nodes.items():
        archive = parse_location(spec.archive_location) if spec.archive_location else None
        node: dict[str, Any] = {
            "id": node_id,
            "archiveLocation": describe_location(archive) if archive is not None else None,
            "archiveFrom": pod.archive_from.get(node_id, ""),
            "artifacts": [],
        }
        for name, data in spec.artifacts.items():
            node["artifacts"].append(
                _plan_artifact(
                    pod, node_id, name, data, force, {**where, "node": node_id}, warnings
                )
            )
        out["nodes"].append(node)
    return out


def _plan_artifact(
    pod: gc.GCPod,
    node_id: str,
    name: str,
    data: Mapping[str, Any],
    force: bool,
    where: dict[str, str],
    warnings: list[dict[str, Any]],
) -> dict[str, Any]:
    where = {**where, "artifact": name}
    artifact = parse_artifact(data)
    own = artifact.has_location()
    entry: dict[str, Any] = {
        "name": name,
        "from": "its own location"
        if own
        else f"its key, relocated into {pod.archive_from.get(node_id, 'no archive location')}",
    }
    try:
        location = gc.location_of(pod, node_id, name)
    except ArtifactError as exc:
        entry.update(type="", error=str(exc))
        warnings.append(
            warning(
                "no-location",
                f"cannot be located ({exc}): the GC pod exits non-zero before deleting anything "
                "(pod Failed, ArtifactGCError)" + ("" if force else "; the finalizer stays"),
                stuck=not force,
                **where,
            )
        )
        return entry
    described = describe_location(location)
    entry.update(described)
    kind, key = described["type"], described.get("key", "")
    keep = (
        "forceFinalizerRemoval removes the finalizer anyway, the object stays"
        if force
        else "the finalizer stays: remove it by hand or set spec.artifactGC.forceFinalizerRemoval"
    )
    if not kind or not location.has_location():
        warnings.append(
            warning(
                "no-location",
                f"its location is incomplete ({location_text(described)}): Argo's driver "
                f"cannot reach it; {keep}",
                stuck=not force,
                **where,
            )
        )
    elif kind in gc.NO_DELETE:
        warnings.append(
            warning(
                "delete-not-supported",
                f"Argo's {kind} driver cannot delete (ErrDeleteNotSupported): the artifact is "
                f"recorded as failed (deleted: false) with the ArtifactGCError condition; "
                f"{keep}. Give it artifactGC.strategy Never",
                stuck=not force,
                **where,
            )
        )
    if kind == "s3" and _looks_like_directory(artifact, key) and not key.endswith("/"):
        warnings.append(
            warning(
                "directory-key-no-trailing-slash",
                f"looks like a directory (archive none, no extension in key {key!r}): Argo's S3 "
                f"driver deletes a prefix only for a key ending in '/', so it deletes the "
                f"missing object {key!r}, reports success and leaves everything under "
                f"{key + '/'!r} (Argo #14387, #12857). Give the output a key ending in '/' or "
                "archive it. `artconf gc run --delete` uses the reference driver, which deletes "
                "them",
                stuck=False,
                deviation="s3-directory-delete-without-trailing-slash",
                **where,
            )
        )
    if kind in ("gcs", "oss") and _looks_like_directory(artifact, key):
        warnings.append(
            warning(
                "directory-not-deleted",
                f"looks like a directory (archive none, no extension in key {key!r}): Argo's "
                f"{kind} driver deletes exactly the object {key!r}, so everything under "
                f"{key.rstrip('/') + '/'!r} stays. Archive it instead",
                stuck=False,
                deviation="gcs-directory-delete-tree" if kind == "gcs" else "",
                **where,
            )
        )
    if kind == "azure" and _looks_like_directory(artifact, key):
        warnings.append(
            warning(
                "directory-prefix-siblings",
                f"looks like a directory (archive none, no extension in blob {key!r}): Argo's "
                f"Azure driver deletes by the raw prefix, so siblings such as {key + '-other'!r} "
                "go too",
                stuck=False,
                deviation="azure-raw-prefix-siblings",
                **where,
            )
        )
    if kind == "gcs":
        warnings.append(
            warning(
                "gcs-delete-missing-fails",
                f"if {key!r} is already gone (a lifecycle rule, a GC pass whose result was "
                "lost), Argo's GCS driver fails the delete (object-not-exist is returned, not "
                f"retried): recorded as failed with ArtifactGCError; {keep}",
                stuck=not force,
                deviation="gcs-delete-missing-idempotent",
                **where,
            )
        )
    from drivers.factory import FACTORY_ORDER

    if kind and kind not in gc.NO_DELETE and FACTORY_ORDER.get(kind) is None:
        warnings.append(
            warning(
                "no-reference-driver",
                f"Argo's {kind} driver deletes it, but the kit has no reference driver for "
                f"{kind}: `artconf gc run --delete` reports it as not deleted",
                stuck=False,
                **where,
            )
        )
    return entry


def build_plan(inputs: Inputs, choice: str | None = None) -> dict[str, Any]:
    """The ``gc plan`` report (also the first half of ``gc run``)."""
    wf = inputs.workflow
    meta, status = wf.get("metadata") or {}, wf.get("status") or {}
    gc_status = status.get("artifactGCStatus") or {}
    spec = inputs.spec
    warnings = list(inputs.warnings)
    notes = list(inputs.notes)
    has_gc = gc.has_artifact_gc(wf, spec)
    finalizers = meta.get("finalizers") or []
    if gc.FINALIZER in finalizers:
        finalizer = "present"
    elif has_gc and gc.never_reconciled(wf) and not gc.all_artifacts_deleted(wf, spec):
        finalizer = "missing, and the Workflow is labelled completed: Argo never reconciles it"
        warnings.append(
            warning(
                "not-reconciled",
                f"labelled {gc.COMPLETED_LABEL}=true without the {gc.FINALIZER} finalizer: "
                "Argo's controller never reconciles the Workflow again, so no GC pod is ever "
                "created and its artifacts stay (nothing blocks deleting the Workflow)",
                stuck=False,
            )
        )
    elif has_gc and not gc_status.get("notSpecified"):
        finalizer = "missing: Argo adds it on its next pass"
    else:
        finalizer = "not needed: no output artifact has a strategy that deletes"
    states = strategy_states(wf)
    shown = chosen_strategies(states, choice)
    phase = status.get("phase") or "unset"
    if not gc.fulfilled(wf):
        warnings.append(
            warning(
                "phase-not-completed",
                f"phase {phase} is not completed: Argo does no GC (not even for a deleted "
                "Workflow) until it is Succeeded, Failed or Error",
                stuck=False,
            )
        )
    for strategy, (state, _) in states.items():
        if state == "processed" and strategy not in shown:
            notes.append(f"{strategy}: processed already (status.artifactGCStatus)")
    secrets = (
        _SecretCheck(inputs.source, inputs.namespace, inputs.secrets_seen)
        if inputs.source is not None
        else None
    )
    strategies = []
    for strategy in shown:
        state, why = states[strategy]
        entry: dict[str, Any] = {
            "strategy": strategy,
            "when": state,
            "why": why,
            "pods": [],
        }
        if state == "processed":
            entry["note"] = "planned as if not processed: Argo will not run it again"
        try:
            pods = gc.plan(wf, spec, strategy, inputs.repository)
        except ArtifactError as exc:
            entry["error"] = str(exc)
            warnings.append(
                warning(
                    "plan-failed",
                    f"Argo's controller cannot plan {strategy}: {exc}; it logs the error and "
                    "tries again every pass, so the finalizer stays",
                    stuck=True,
                    strategy=strategy,
                )
            )
            pods = []
        entry["pods"] = [plan_pod(inputs, pod, secrets, warnings) for pod in pods]
        strategies.append(entry)
    if not any(s["pods"] for s in strategies) and not any(s.get("error") for s in strategies):
        if not has_gc:
            why = "no output artifact has a strategy other than Never (or none at all)"
        elif not shown:
            why = "every strategy was processed already (status.artifactGCStatus)"
        else:
            why = (
                f"no Pod-node output with {' or '.join(shown)} is left undeleted "
                "(deleted: true, or never recorded)"
            )
        warnings.append(warning("nothing-to-collect", f"nothing to collect: {why}", stuck=False))
    for item in warnings:
        if item["code"] == "delete-not-supported" and gc.force_finalizer_removal(spec):
            notes.append(
                "spec.artifactGC.forceFinalizerRemoval: the finalizer goes once every GC pod is "
                "recouped, whatever failed; failed objects stay behind"
            )
            break
    repository = inputs.repository
    return {
        "workflow": inputs.name,
        "namespace": inputs.namespace,
        "file": inputs.path,
        "phase": phase,
        "completedLabel": (meta.get("labels") or {}).get(gc.COMPLETED_LABEL) == "true",
        "deleting": bool(meta.get("deletionTimestamp")),
        "source": inputs.source.describe() if inputs.source is not None else None,
        "spec": {
            "from": inputs.spec_from,
            "forceFinalizerRemoval": gc.force_finalizer_removal(spec),
        },
        "repository": {
            "from": inputs.repository_from,
            "location": describe_location(repository.to_artifact_location())
            if repository is not None
            else None,
        },
        "finalizer": finalizer,
        "strategies": strategies,
        "warnings": warnings,
        "notes": notes,
    }


# --------------------------------------------------------------------------------------------
# Running the pods
# --------------------------------------------------------------------------------------------


class _CannotDelete:
    """A driver whose delete fails as the named one would: Argo's ErrDeleteNotSupported, or
    the kit's lack of a reference driver."""

    def __init__(self, message: str) -> None:
        self.message = message

    def delete(self, artifact: Artifact) -> None:
        raise Unimplemented(self.message)

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class RunOutcome:
    """One ``gc run --delete``: the pass, the pods left unstarted and why."""

    passed: gc.Pass
    blocked: dict[str, list[str]]  # pod name -> why it cannot start (missing Secrets)
    planned: list[gc.GCPod]


def gc_pass(
    inputs: Inputs,
    make_driver: gc.MakeDriver,
    blocked: Mapping[str, list[str]],
    *,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunOutcome:
    """One controller pass; a pod that cannot mount its Secrets is created but never runs."""
    passed = gc.reconcile(
        inputs.workflow,
        inputs.repository,
        make_driver,
        template_spec=inputs.template_spec,
        blocked_by=lambda pod: list(blocked.get(pod.name) or []),
        backoff=backoff,
        sleep=sleep,
    )
    return RunOutcome(passed, dict(passed.blocked), list(passed.planned))


def run(
    inputs: Inputs,
    plan: Mapping[str, Any],
    *,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[dict[str, Any], gc.Pass]:
    """Delete what is ready now with the reference drivers and Secrets from the source."""
    from drivers.core.context import DriverContext
    from drivers.factory import FACTORY_ORDER, new_driver

    assert inputs.source is not None
    secret_source = KubeSecretSource(inputs.source, inputs.namespace)
    blocked = {
        pod["name"]: pod["blockedBy"]
        for strategy in plan["strategies"]
        for pod in strategy["pods"]
        if strategy["when"] == "now" and pod.get("blockedBy")
    }
    opened: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="artconf-gc-") as tmp:
        context = DriverContext.from_environment(temp_dir=Path(tmp))

        def make_driver(artifact: Artifact) -> Any:
            kinds = artifact.location_types()
            kind = kinds[0] if kinds else ""
            if kind in gc.NO_DELETE:
                return _CannotDelete(gc.ERR_DELETE_NOT_SUPPORTED)
            if kind and FACTORY_ORDER.get(kind) is None:
                return _CannotDelete(
                    f"not deleted: the kit has no reference driver for {kind} (Argo's "
                    f"{kind} driver would delete it)"
                )
            driver = new_driver(artifact, secret_source, context)
            opened.append(driver)
            return driver

        try:
            outcome = gc_pass(inputs, make_driver, blocked, backoff=backoff, sleep=sleep)
        finally:
            for driver in opened:
                close = getattr(driver, "close", None)
                # Closing is best effort: the results are what count.
                with contextlib.suppress(Exception):
                    if close is not None:
                        close()
            inputs.secrets_seen.extend(secret_source.read)
    return run_report(inputs, plan, outcome), outcome.passed


def run_report(inputs: Inputs, plan: Mapping[str, Any], outcome: RunOutcome) -> dict[str, Any]:
    """What a ``gc run --delete`` shows: per artifact the result, then Argo's records."""
    passed = outcome.passed
    described = {
        (pod["name"], node["id"], artifact["name"]): artifact
        for strategy in plan["strategies"]
        for pod in strategy["pods"]
        for node in pod["nodes"]
        for artifact in node["artifacts"]
    }
    runs = {run.pod.name: run for run in passed.pods}
    results: list[dict[str, Any]] = []
    pods: list[dict[str, Any]] = []
    for pod in outcome.planned:
        run_ = runs.get(pod.name)
        entry: dict[str, Any] = {"name": pod.name, "strategy": pod.strategy, "task": pod.task}
        if run_ is None:
            entry.update(
                phase="Pending",
                error="cannot start: " + "; ".join(outcome.blocked.get(pod.name, [])),
                taskKept=True,
            )
        else:
            entry.update(
                phase=run_.phase,
                error=run_.error,
                taskKept=gc.task_kept(run_),
                deleteCalls=run_.attempts,
            )
        pods.append(entry)
        for node_id, name, _ in pod.artifacts():
            where = described.get((pod.name, node_id, name), {})
            item: dict[str, Any] = {
                "pod": pod.name,
                "node": node_id,
                "artifact": name,
                "location": {
                    k: where[k] for k in ("type", "endpoint", "bucket", "key", "url") if k in where
                },
            }
            result = (run_.results or {}).get(node_id, {}).get(name) if run_ else None
            if result is not None:
                item["result"] = "deleted" if result.success else "failed"
                if result.error is not None:
                    item["error"] = result.error
            else:
                item["result"] = "not-run"
                item["error"] = entry["error"] or "the pod did not run"
            results.append(item)
    failed = [r for r in results if r["result"] != "deleted"]
    error = getattr(passed, "error", "")
    finalizers = (passed.workflow.get("metadata") or {}).get("finalizers") or []
    return {
        "workflow": inputs.name,
        "namespace": inputs.namespace,
        "skipped": passed.skipped,
        "error": error,
        "pods": pods,
        "results": results,
        "events": list(passed.events),
        "finalizer": {
            "added": passed.finalizer_added,
            "removed": passed.finalizer_removed,
            "present": gc.FINALIZER in finalizers,
        },
        "tasksKept": [p["task"] for p in pods if p["taskKept"]],
        "statusPatch": _plain(passed.status_patch()),
        "ok": not failed and not error,
        "failed": failed,
    }


def would_delete(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The dry run: every artifact a pod that runs now would delete."""
    out = []
    for strategy in plan["strategies"]:
        if strategy["when"] != "now":
            continue
        for pod in strategy["pods"]:
            for node in pod["nodes"]:
                for artifact in node["artifacts"]:
                    item = {
                        "pod": pod["name"],
                        "node": node["id"],
                        "artifact": artifact["name"],
                        "location": {
                            k: artifact[k]
                            for k in ("type", "endpoint", "bucket", "key", "url")
                            if k in artifact
                        },
                    }
                    if pod.get("blockedBy"):
                        item["blockedBy"] = pod["blockedBy"]
                    out.append(item)
    return out


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------


def _pairs(mapping: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in mapping.items()) or "none"


def render_plan(report: Mapping[str, Any]) -> list[str]:
    """The plan as lines of text."""
    state = [f"phase {report['phase']}"]
    state.append("labelled completed" if report["completedLabel"] else "not labelled completed")
    state.append("being deleted" if report["deleting"] else "not being deleted")
    lines = [
        f"workflow {report['workflow']} in namespace {report['namespace']}: {', '.join(state)}",
        f"  spec: {report['spec']['from']}",
    ]
    repository = report["repository"]
    where = (
        location_text(repository["location"], key=False) if repository["location"] else "unknown"
    )
    lines.append(f"  repository: {where} ({repository['from']})")
    lines.append(f"  objects: {report['source'] or 'none (the Workflow file alone)'}")
    lines.append(f"  finalizer {gc.FINALIZER}: {report['finalizer']}")
    if report["spec"]["forceFinalizerRemoval"]:
        lines.append("  forceFinalizerRemoval: true")
    for strategy in report["strategies"]:
        pods = strategy["pods"]
        count = f"{len(pods)} pod{'s' if len(pods) != 1 else ''}" if pods else "no pod"
        lines.append("")
        lines.append(f"{SECTIONS[strategy['when']]}  {strategy['strategy']}: {count}")
        lines.append(f"  when: {strategy['why']}")
        if strategy.get("note"):
            lines.append(f"  note: {strategy['note']}")
        if strategy.get("error"):
            lines.append(f"  cannot plan: {strategy['error']}")
        for pod in pods:
            lines.extend(_render_pod(pod))
    warnings = report["warnings"]
    lines.append("")
    if warnings:
        stuck = sum(1 for w in warnings if w["stuck"])
        lines.append(f"warnings ({len(warnings)}; {stuck} keep the finalizer):")
        for item in warnings:
            subject = "/".join(item[k] for k in ("pod", "node", "artifact") if item.get(k))
            mark = "STUCK" if item["stuck"] else "warn "
            lines.append(f"  {mark} {item['code']}{f' [{subject}]' if subject else ''}:")
            lines.append(_wrap(item["message"], "        "))
            if item.get("deviation"):
                lines.append(f"        (deviation {item['deviation']})")
    else:
        lines.append("warnings: none")
    for note in report["notes"]:
        lines.append(_wrap(f"note: {note}", "  ", first=""))
    return lines


def _wrap(text: str, indent: str, first: str | None = None) -> str:
    """``text`` wrapped at 100 columns on spaces only (keys and names stay whole)."""
    return textwrap.fill(
        text,
        width=100,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _render_pod(pod: Mapping[str, Any]) -> list[str]:
    lines = [
        f"  pod {pod['name']}",
        f"    service account {pod['serviceAccount']}; labels {_pairs(pod['labels'])}; "
        f"annotations {_pairs(pod['annotations'])}"
        + ("; podSpecPatch applied" if pod["podSpecPatch"] else ""),
        f"    task {pod['task']} ({pod['taskLabel']})",
        f"    secrets mounted: {', '.join(pod['secrets']) or 'none'}; plugin sidecars: "
        f"{', '.join(pod['plugins']) or 'none'}",
    ]
    for reason in pod.get("blockedBy") or []:
        lines.append(f"    CANNOT START: {reason}")
    for node in pod["nodes"]:
        archive = node["archiveLocation"]
        where = f"{location_text(archive, key=False)}, {node['archiveFrom']}" if archive else "none"
        lines.append(f"    node {node['id']} (archive location: {where})")
        for artifact in node["artifacts"]:
            place = artifact.get("error") or location_text(artifact)
            lines.append(f"      {artifact['name']}: {place}  [{artifact['from']}]")
    return lines


def render_dry_run(plan: Mapping[str, Any], items: list[dict[str, Any]]) -> list[str]:
    lines = render_plan(plan)
    lines.append("")
    if not items:
        lines.append("dry run: nothing would be deleted now")
    else:
        lines.append(f"dry run: {len(items)} artifact(s) would be deleted now (--delete does it):")
        for item in items:
            blocked = " (the pod cannot start)" if item.get("blockedBy") else ""
            lines.append(
                f"  would delete {location_text(item['location'])}  "
                f"[{item['pod']}/{item['node']}/{item['artifact']}]{blocked}"
            )
    later = [s for s in plan["strategies"] if s["when"] != "now" and s["pods"]]
    for strategy in later:
        count = sum(len(n["artifacts"]) for p in strategy["pods"] for n in p["nodes"])
        lines.append(
            f"  {strategy['strategy']} is not ready ({strategy['when']}): its {count} "
            "artifact(s) are not deleted now"
        )
    return lines


def render_run(report: Mapping[str, Any]) -> list[str]:
    lines = ["", "deletion (reference drivers):"]
    if report["error"]:
        lines.append(f"  the pass ended with Argo's error: {report['error']}")
    elif report["skipped"].startswith("phase"):
        lines.append(f"  nothing done now, GC waits: {report['skipped']}")
    elif not report["pods"]:
        why = report["skipped"] or "no strategy is both ready and not processed yet"
        lines.append(f"  nothing left to collect now: {why}")
    for pod in report["pods"]:
        calls = f", {pod['deleteCalls']} delete call(s)" if "deleteCalls" in pod else ""
        error = f": {pod['error']}" if pod.get("error") else ""
        lines.append(f"  pod {pod['name']}: {pod['phase']}{calls}{error}")
        for item in report["results"]:
            if item["pod"] != pod["name"]:
                continue
            mark = {"deleted": "deleted", "failed": "FAILED ", "not-run": "NOT RUN"}[item["result"]]
            why = f": {item['error']}" if item["result"] != "deleted" and "error" in item else ""
            lines.append(
                f"    {mark} {item['node']}/{item['artifact']}  "
                f"{location_text(item['location'])}{why}"
            )
    if report["events"]:
        lines.append("events (Warning ArtifactGCFailed):")
        lines.extend(f"  {event}" for event in report["events"])
    finalizer = report["finalizer"]
    if finalizer["removed"]:
        state = "removed: the Workflow can go"
    elif finalizer["present"] and (report["skipped"] or report["error"]):
        state = "stays: GC did not run"
    elif finalizer["present"]:
        state = "stays: not every artifact is deleted (see above)"
    else:
        state = "absent"
    lines.append(f"finalizer {gc.FINALIZER}: {state}")
    kept = report["tasksKept"]
    lines.append(f"tasks kept for inspection: {', '.join(kept) if kept else 'none'}")
    lines.append("status patch Argo would record:")
    patch = json.dumps(report["statusPatch"], indent=2, sort_keys=True)
    lines.extend(f"  {line}" for line in patch.splitlines())
    return lines
