"""Artifact GC rules (spec 7) against Argo's own cases, and the ten TestArtifactGC scenarios.

The first part reproduces the inputs and expected values of Argo v4.0.5's unit tests
(``workflow/controller/artifact_gc_test.go``: TestProcessArtifactGCStrategy,
TestProcessCompletedWorkflowArtifactGCTask, TestWorkflowHasArtifactGC, TestArtifactGCPodWithPlugins;
``pkg/apis/workflow/v1alpha1/workflow_types_test.go``: TestWorkflowGetArtifactGCStrategy) in our own
compact form, then the rules spec 7 states that those do not cover.

The second part runs the e2e TestArtifactGC scenarios (``test/e2e/artifacts_test.go``) from
``tests/data/gc/scenarios/*.yaml``: each workflow as it stands after it ran, a completion pass, then
a deletion pass, through a driver that records what it deletes. Only the S3 variants are kept: the
``*Plugin`` variants put the same outputs in a plugin location (bucket plugin-bucket; the
not-written ones also add a plugin archiveLocation and ``archive: none``), which changes where the
bytes are, not which artifact is deleted in which pass.

No test waits: every pass gets ``sleep=no_sleep``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from drivers.controller import gc
from drivers.core.archives import ArchiveKind
from drivers.core.errors import BadRequest, Internal, NotFound
from drivers.core.keys import (
    DEFAULT_KEY_FORMAT,
    KeyContext,
    log_key,
    output_key,
    pod_name,
    render_key,
)
from drivers.core.keys import fnv32a as key_fnv32a
from drivers.core.model import parse_artifact, parse_location, parse_repository

SCENARIOS = Path(__file__).parent / "data" / "gc" / "scenarios"
TASK_OF = "{} (artifactGCTask: {}-0)"
DELETING = "2026-01-01T00:00:00Z"


def no_sleep(_: float) -> None:
    pass


# --------------------------------------------------------------------------------------------
# A recording stand-in for storage
# --------------------------------------------------------------------------------------------


def where(artifact: Any) -> str:
    """``bucket/key`` of a relocated S3 artifact, ``plugin:<name>/<key>`` of a plugin one."""
    if artifact.s3 is not None:
        return f"{artifact.s3.bucket}/{artifact.s3.key}"
    return f"plugin:{artifact.plugin.name}/{artifact.plugin.key}"


class Storage:
    """Hands out a recording driver per artifact, as Argo's ``NewDriver`` does.

    ``failures[where](attempt)`` gives the error a delete raises on that attempt (1-based), or
    ``None`` to succeed; ``broken[where]`` is raised when the driver is built.
    """

    def __init__(
        self,
        failures: dict[str, Callable[[int], Exception | None]] | None = None,
        broken: dict[str, Exception] | None = None,
    ) -> None:
        self.failures = failures or {}
        self.broken = broken or {}
        self.deleted: list[str] = []
        self.attempts: list[str] = []

    def driver(self, artifact: Any) -> RecordingDriver:
        if where(artifact) in self.broken:
            raise self.broken[where(artifact)]
        return RecordingDriver(self)

    def take(self) -> list[str]:
        taken, self.deleted = sorted(self.deleted), []
        return taken


class RecordingDriver:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def delete(self, artifact: Any) -> None:
        at = where(artifact)
        self.storage.attempts.append(at)
        fail = self.storage.failures.get(at)
        error = fail(self.storage.attempts.count(at)) if fail else None
        if error is not None:
            raise error
        self.storage.deleted.append(at)


# --------------------------------------------------------------------------------------------
# Compact builders
# --------------------------------------------------------------------------------------------


def s3(bucket: str, key: str, cred: str = "my-minio-cred") -> dict[str, Any]:
    return {
        "bucket": bucket,
        "key": key,
        "endpoint": "minio:9000",
        "insecure": True,
        "accessKeySecret": {"name": cred, "key": "accesskey"},
        "secretKeySecret": {"name": cred, "key": "secretkey"},
    }


def art(name: str, location: dict[str, Any] | None = None, **gc_fields: Any) -> dict[str, Any]:
    """An output artifact; ``location`` defaults to a full S3 location in bucket ``b``."""
    out: dict[str, Any] = {"name": name, "path": f"/tmp/{name}", "s3": location or s3("b", name)}
    if gc_fields:
        out["artifactGC"] = gc_fields
    return out


REPOSITORY = parse_repository(
    {"archiveLogs": True, "s3": {k: v for k, v in s3("my-bucket", "").items() if k != "key"}}
)


def workflow(
    outputs: list[dict[str, Any]],
    *,
    artifact_gc: dict[str, Any] | None = None,
    phase: str = "Succeeded",
    completed: bool = True,
    finalizer: bool = True,
    deleting: bool = False,
) -> dict[str, Any]:
    """A single-pod workflow ``wf`` whose template ``main`` recorded ``outputs``."""
    meta: dict[str, Any] = {
        "name": "wf",
        "namespace": "argo",
        "labels": {gc.COMPLETED_LABEL: "true" if completed else "false"},
        "finalizers": [gc.FINALIZER] if finalizer else [],
    }
    if deleting:
        meta["deletionTimestamp"] = DELETING
    spec: dict[str, Any] = {
        "entrypoint": "main",
        "templates": [{"name": "main", "outputs": {"artifacts": copy.deepcopy(outputs)}}],
    }
    if artifact_gc is not None:
        spec["artifactGC"] = artifact_gc
    node = {"id": "wf", "name": "wf", "type": "Pod", "templateName": "main", "phase": phase}
    node["outputs"] = {"artifacts": copy.deepcopy(outputs)}
    return {"metadata": meta, "spec": spec, "status": {"phase": phase, "nodes": {"wf": node}}}


def outputs_of(wf: dict[str, Any], node: str = "wf") -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in wf["status"]["nodes"][node]["outputs"]["artifacts"]}


def gc_conditions(wf: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in wf["status"].get("conditions") or [] if c["type"] == gc.CONDITION]


def run(wf: dict[str, Any], storage: Storage, **kw: Any) -> gc.Pass:
    return gc.reconcile(wf, REPOSITORY, storage.driver, sleep=no_sleep, **kw)


# --------------------------------------------------------------------------------------------
# Argo's unit cases: TestProcessArtifactGCStrategy, TestProcessCompletedWorkflowArtifactGCTask
# --------------------------------------------------------------------------------------------

TWO = "two-artgc-8tcvt"
FIRST, SECOND = f"{TWO}-802059674", f"{TWO}-1079173309"


def two_artgc() -> dict[str, Any]:
    """artifact_gc_test.go's ``artgcWorkflow``: a two-step workflow after it succeeded."""
    first_1 = art(
        "first-on-completion-1",
        s3("my-bucket-2", "first-on-completion-1", "my-minio-cred-1"),
        strategy=gc.COMPLETION,
    )
    first_2 = art(
        "first-on-completion-2",
        s3("my-bucket-3", "first-on-completion-2", "my-minio-cred-1"),
        strategy=gc.COMPLETION,
        podMetadata={"annotations": {"annotation-key-1": "annotation-value-3"}},
    )
    on_deletion = art("on-deletion", {"key": "on-deletion"}, strategy=gc.DELETION)
    second = art(
        "second-on-completion",
        s3("my-bucket-3", "second-on-completion", "my-minio-cred-2"),
        strategy=gc.COMPLETION,
    )
    logs = {"name": "main-logs", "s3": {"key": f"{TWO}/{TWO}-first-802059674/main.log"}}
    return {
        "metadata": {
            "name": TWO,
            "namespace": "argo",
            "labels": {gc.COMPLETED_LABEL: "true"},
            "finalizers": [gc.FINALIZER],
        },
        "spec": {
            "entrypoint": "entrypoint",
            "artifactGC": {
                "serviceAccountName": "default",
                "podMetadata": {
                    "annotations": {
                        "annotation-key-1": "annotation-value-1",
                        "annotation-key-2": "annotation-value-2",
                    }
                },
                "podSpecPatch": "containers:\n- name: main\n  resources: {limits: {memory: 1G}}\n",
            },
            "templates": [
                {"name": "entrypoint", "steps": [[{"name": "call-first", "template": "first"}]]},
                {"name": "first", "outputs": {"artifacts": [first_1, first_2]}},
                {
                    "name": "second",
                    "archiveLocation": {"s3": s3("my-bucket-3", "on-deletion")},
                    "outputs": {"artifacts": [on_deletion, second]},
                },
            ],
        },
        "status": {
            "phase": "Succeeded",
            "artifactGCStatus": None,
            "conditions": [
                {"type": "PodRunning", "status": "False"},
                {"type": "Completed", "status": "True"},
            ],
            "nodes": {
                TWO: {"id": TWO, "name": TWO, "type": "Steps", "templateName": "entrypoint"},
                FIRST: {
                    "id": FIRST,
                    "name": f"{TWO}[0].call-first",
                    "type": "Pod",
                    "templateName": "first",
                    "outputs": {"artifacts": [first_1, first_2, logs], "exitCode": "0"},
                },
                SECOND: {
                    "id": SECOND,
                    "name": f"{TWO}[1].call-second",
                    "type": "Pod",
                    "templateName": "second",
                    "outputs": {"artifacts": [on_deletion, second], "exitCode": "0"},
                },
            },
        },
    }


def test_process_artifact_gc_strategy_pods_and_tasks() -> None:
    """TestProcessArtifactGCStrategy: one pod per service account + pod metadata, each with its
    task ``<pod>-0``, its secrets, and only OnWorkflowCompletion artifacts (spec 7.2.4)."""
    wf = two_artgc()
    pods = {p.name: p for p in gc.plan(wf, gc.exec_spec(wf), gc.COMPLETION, REPOSITORY)}
    one, two = f"{TWO}-artgc-wfcomp-592587874", f"{TWO}-artgc-wfcomp-3953780960"
    assert sorted(pods) == sorted([one, two])

    manifests = {name: pod.manifest(TWO, "argo") for name, pod in pods.items()}
    for name, value in ((one, "annotation-value-1"), (two, "annotation-value-3")):
        assert manifests[name]["spec"]["serviceAccountName"] == "default"
        annotations = manifests[name]["metadata"]["annotations"]
        assert annotations["annotation-key-1"] == value
        assert annotations["annotation-key-2"] == "annotation-value-2"
        assert annotations[gc.STRATEGY_ANNOTATION] == gc.COMPLETION
        assert "memory: 1G" in pods[name].identity.pod_spec_patch  # the workflow's patch
    assert {"my-minio-cred-1", "my-minio-cred-2"} <= set(pods[one].secrets())
    assert "my-minio-cred-1" in pods[two].secrets()
    assert "my-minio-cred-2" not in pods[two].secrets()

    assert [pods[one].task, pods[two].task] == [f"{one}-0", f"{two}-0"]
    task = pods[one].task_manifest("argo")
    assert task["metadata"]["labels"] == {gc.POD_HASH_LABEL: str(gc.fnv32a(one))}
    by_node = task["spec"]["artifactsByNode"]
    assert sorted(by_node[FIRST]["artifacts"]) == ["first-on-completion-1"]
    assert sorted(by_node[SECOND]["artifacts"]) == ["second-on-completion"]
    assert by_node[SECOND]["archiveLocation"]["s3"]["bucket"] == "my-bucket-3"  # the template's
    assert by_node[FIRST]["archiveLocation"]["s3"]["bucket"] == "my-bucket"  # the repository's
    assert sorted(pods[two].nodes) == [FIRST]
    assert sorted(pods[two].nodes[FIRST].artifacts) == ["first-on-completion-2"]
    planned = [name for pod in pods.values() for _, name, _ in pod.artifacts()]
    assert "on-deletion" not in planned and "main-logs" not in planned  # Never: no strategy


def test_process_artifact_gc_strategy_on_deletion() -> None:
    """The deletion plan of the same workflow: one ``wfdel`` pod with on-deletion, which is
    key-only and goes to its template's archiveLocation (spec 7.2.4)."""
    wf = two_artgc()
    (pod,) = gc.plan(wf, gc.exec_spec(wf), gc.DELETION, REPOSITORY)
    assert pod.name == f"{TWO}-artgc-wfdel-592587874"
    assert [(n, name) for n, name, _ in pod.artifacts()] == [(SECOND, "on-deletion")]
    assert where(gc.location_of(pod, SECOND, "on-deletion")) == "my-bucket-3/on-deletion"


def test_process_completed_workflow_artifact_gc_task() -> None:
    """TestProcessCompletedWorkflowArtifactGCTask: each result sets ``deleted``; an error upserts
    the ArtifactGCError condition with Argo's text, after the conditions already there, and one
    warning event per task (spec 7.2.7)."""
    wf = two_artgc()
    pod = gc.GCPod(f"{TWO}-artgc-wfcomp-2166136261", gc.COMPLETION, gc.PodIdentity())
    results = {
        SECOND: {"second-on-completion": gc.ArtifactResult("second-on-completion", True)},
        FIRST: {
            "first-on-completion-2": gc.ArtifactResult(
                "first-on-completion-2", False, "something went wrong"
            ),
            "main-logs": gc.ArtifactResult("main-logs", True),
        },
    }
    events = gc.recoup(wf, gc.PodRun(pod, "Succeeded", results))

    assert outputs_of(wf, SECOND)["second-on-completion"]["deleted"] is True
    assert outputs_of(wf, FIRST)["first-on-completion-2"]["deleted"] is False
    assert outputs_of(wf, FIRST)["main-logs"]["deleted"] is True
    assert "deleted" not in outputs_of(wf, FIRST)["first-on-completion-1"]  # not in this task
    types = [c["type"] for c in wf["status"]["conditions"]]
    assert types == ["PodRunning", "Completed", gc.CONDITION]
    assert gc_conditions(wf) == [
        {
            "type": gc.CONDITION,
            "status": "True",
            "message": TASK_OF.format("something went wrong", pod.name),
        }
    ]
    assert events == [
        "Artifact Garbage Collection failed for strategy OnWorkflowCompletion, "
        "err:something went wrong"
    ]
    assert wf["status"]["artifactGCStatus"]["podsRecouped"] == {pod.name: True}
    assert gc.task_kept(gc.PodRun(pod, "Succeeded", results))

    # a later error replaces the condition where it stands: one per type, the last message
    later = {FIRST: {"first-on-completion-1": gc.ArtifactResult("x", False, "later")}}
    gc.recoup(wf, gc.PodRun(gc.GCPod("p2", gc.COMPLETION, gc.PodIdentity()), "Succeeded", later))
    assert [c["type"] for c in wf["status"]["conditions"]] == types
    assert gc_conditions(wf)[0]["message"] == TASK_OF.format("later", "p2")


def test_one_event_per_task_and_the_last_error_in_the_condition() -> None:
    """Several failed artifacts in one task: one warning event (the first error), and the
    condition, upserted per error, ends with the last one."""
    wf = two_artgc()
    pod = gc.GCPod("p", gc.COMPLETION, gc.PodIdentity())
    results = {
        FIRST: {
            "first-on-completion-1": gc.ArtifactResult("first-on-completion-1", False, "one"),
            "first-on-completion-2": gc.ArtifactResult("first-on-completion-2", False, "two"),
        }
    }
    events = gc.recoup(wf, gc.PodRun(pod, "Succeeded", results))
    assert events == [f"Artifact Garbage Collection failed for strategy {gc.COMPLETION}, err:one"]
    assert [c["message"] for c in gc_conditions(wf)] == [TASK_OF.format("two", "p")]


def test_recoup_of_an_unknown_node_or_a_node_without_outputs_is_an_error() -> None:
    """A task result for a node the status lacks, or one without outputs, ends the pass with
    Argo's messages (``processCompletedWorkflowArtifactGCTask``)."""
    wf = two_artgc()
    pod = gc.GCPod("p", gc.COMPLETION, gc.PodIdentity())
    gone = {"nope": {"a": gc.ArtifactResult("a", True)}}
    with pytest.raises(gc.GCError, match=r"node named 'nope' returned by .*'p-0' wasn't found"):
        gc.recoup(wf, gc.PodRun(pod, "Succeeded", gone))
    del wf["status"]["nodes"][FIRST]["outputs"]
    bare = {FIRST: {"a": gc.ArtifactResult("a", True)}}
    with pytest.raises(gc.GCError, match=r"doesn't seem to have Outputs in Workflow Status"):
        gc.recoup(wf, gc.PodRun(pod, "Succeeded", bare))


# --------------------------------------------------------------------------------------------
# TestWorkflowHasArtifactGC, TestWorkflowGetArtifactGCStrategy, TestArtifactGCPodWithPlugins
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("workflow_gc", "artifact_gc", "expected"),
    [
        pytest.param({"strategy": gc.COMPLETION}, None, True, id="WorkflowSpecGC_Completion"),
        pytest.param(None, {"strategy": gc.COMPLETION}, True, id="ArtifactSpecGC_Completion"),
        pytest.param({"strategy": gc.DELETION}, None, True, id="WorkflowSpecGC_Deletion"),
        pytest.param(None, {"strategy": gc.DELETION}, True, id="ArtifactSpecGC_Deletion"),
        pytest.param(None, None, False, id="NoGC"),
        pytest.param({"strategy": ""}, None, False, id="WorkflowSpecGC_None"),
        pytest.param({"strategy": gc.DELETION}, {"strategy": gc.NEVER}, False,
                     id="ArtifactSpecGC_None"),
    ],
)  # fmt: skip
def test_workflow_has_artifact_gc(workflow_gc, artifact_gc, expected) -> None:
    """TestWorkflowHasArtifactGC: any template output whose effective strategy is neither Never
    nor undefined (spec 7.2.1)."""
    out = {"name": "out", "path": "/out", "s3": {"key": "out"}}
    if artifact_gc is not None:
        out["artifactGC"] = artifact_gc
    spec: dict[str, Any] = {"templates": [{"name": "whalesay", "outputs": {"artifacts": [out]}}]}
    if workflow_gc is not None:
        spec["artifactGC"] = workflow_gc
    wf = {"metadata": {"name": "artifact-passing"}, "spec": spec}
    assert gc.has_artifact_gc(wf, gc.exec_spec(wf)) is expected


@pytest.mark.parametrize(
    ("workflow_gc", "artifact_gc", "expected"),
    [
        pytest.param({"strategy": gc.COMPLETION}, None, gc.COMPLETION, id="WorkflowLevel"),
        pytest.param({"strategy": gc.COMPLETION}, {"strategy": gc.NEVER}, gc.NEVER,
                     id="ArtifactOverride"),
        pytest.param(None, None, gc.NEVER, id="NotDefined"),
        pytest.param({"strategy": ""}, {"strategy": ""}, gc.NEVER, id="NotDefined2"),
        pytest.param(None, {"strategy": gc.DELETION}, gc.DELETION, id="ArtifactOnly"),
        pytest.param({"strategy": gc.DELETION}, {"strategy": gc.COMPLETION}, gc.COMPLETION,
                     id="ArtifactWins"),
    ],
)  # fmt: skip
def test_effective_strategy(workflow_gc, artifact_gc, expected) -> None:
    """TestWorkflowGetArtifactGCStrategy: the artifact's strategy if set, else the workflow's;
    undefined is Never (spec 7.1). ``artifactGC:`` with no value is YAML null."""
    spec = {} if workflow_gc is None else {"artifactGC": workflow_gc}
    artifact: dict[str, Any] = {"name": "out"}
    if artifact_gc is not None:
        artifact["artifactGC"] = artifact_gc
    assert gc.effective_strategy(spec, artifact) == expected
    assert gc.effective_strategy({"artifactGC": None}, {"artifactGC": None}) == gc.NEVER


def test_artifact_gc_pod_with_plugins() -> None:
    """TestArtifactGCPodWithPlugins: one pod; each plugin named by a location gets its sidecar
    (spec 7.2.5)."""
    outputs = [
        art(f"plugin-artifact-{n}", {}, strategy=gc.COMPLETION) for n in (1, 2)
    ]  # fmt: skip
    for out, plugin in zip(outputs, ("test-plugin", "another-plugin"), strict=True):
        del out["s3"]
        out["plugin"] = {"name": plugin}
    wf = workflow(outputs)
    wf["metadata"]["name"] = "test-artgc-plugins"
    repository = parse_repository({"s3": {"bucket": "test-bucket"}})
    (pod,) = gc.plan(wf, gc.exec_spec(wf), gc.COMPLETION, repository)
    assert pod.name == "test-artgc-plugins-artgc-wfcomp-2166136261"
    assert pod.plugins() == ["another-plugin", "test-plugin"]
    assert pod.secrets() == []
    result = gc.reconcile(wf, repository, None)  # plan only
    assert [(r.pod.name, r.phase) for r in result.pods] == [(pod.name, "Pending")]


# --------------------------------------------------------------------------------------------
# Readiness (spec 7.2.2)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("completed", "deleting", "processed", "expected"),
    [
        (False, False, [], []),
        (True, False, [], [gc.COMPLETION]),
        (False, True, [], [gc.COMPLETION, gc.DELETION]),
        (True, True, [gc.COMPLETION], [gc.DELETION]),
        (True, True, [gc.COMPLETION, gc.DELETION], []),
        (True, False, [gc.COMPLETION], []),
    ],
)
def test_strategies_ready(completed, deleting, processed, expected) -> None:
    """Completion on the ``completed`` label or a deletion, deletion on a deletionTimestamp;
    each once (``strategiesProcessed``)."""
    wf = workflow([], completed=completed, deleting=deleting)
    wf["status"]["artifactGCStatus"] = {"strategiesProcessed": dict.fromkeys(processed, True)}
    assert gc.strategies_ready(wf) == expected


@pytest.mark.parametrize(
    ("phase", "runs"),
    [("Succeeded", True), ("Failed", True), ("Error", True), ("Running", False), ("", False)],
)
def test_gc_waits_for_a_completed_phase(phase, runs) -> None:
    """GC runs only once the phase is completed, even for a workflow being deleted; the
    finalizer is added before that."""
    wf = workflow([art("a", strategy=gc.COMPLETION)], phase=phase, finalizer=False, deleting=True)
    wf["metadata"]["labels"][gc.COMPLETED_LABEL] = "false"
    storage = Storage()
    result = run(wf, storage)
    assert result.finalizer_added
    assert storage.take() == (["b/a"] if runs else [])
    processed = result.workflow["status"]["artifactGCStatus"].get("strategiesProcessed") or {}
    assert sorted(processed) == ([gc.COMPLETION, gc.DELETION] if runs else [])
    assert bool(result.skipped) is not runs


def test_each_strategy_is_processed_once() -> None:
    """A strategy whose deletes failed is not planned again on the next pass."""
    wf = workflow([art("a", strategy=gc.COMPLETION)])
    storage = Storage(failures={"b/a": lambda n: Internal("down")})
    first = run(wf, storage)
    assert len(first.pods) == 1 and len(storage.attempts) == 5
    second = run(first.workflow, storage)
    assert second.pods == [] and len(storage.attempts) == 5
    assert gc.FINALIZER in second.workflow["metadata"]["finalizers"]


def test_a_completed_workflow_without_the_finalizer_is_not_reconciled() -> None:
    """``reconciliationNeeded``: completed and without the artifact-GC finalizer, the controller
    drops the workflow; no finalizer is added and nothing is deleted."""
    wf = workflow([art("a", strategy=gc.COMPLETION)], finalizer=False, deleting=True)
    storage = Storage()
    result = run(wf, storage)
    assert result.skipped and not result.finalizer_added
    assert storage.take() == []
    assert result.workflow == wf


def test_only_pod_nodes_are_collected() -> None:
    """Outputs a Steps node re-exports are not selected and do not hold the finalizer; the Pod
    node that produced them is (spec 7.2.3)."""
    wf = workflow([art("a", strategy=gc.COMPLETION)])
    steps = {"id": "wf-s", "name": "wf.s", "type": "Steps", "templateName": "main"}
    steps["outputs"] = {"artifacts": [art("a", strategy=gc.COMPLETION)]}
    wf["status"]["nodes"]["wf-s"] = steps
    assert [s.node_id for s in gc.select(wf, gc.exec_spec(wf), gc.COMPLETION)] == ["wf"]
    storage = Storage()
    result = run(wf, storage)
    assert storage.take() == ["b/a"] and result.finalizer_removed
    assert "deleted" not in outputs_of(result.workflow, "wf-s")["a"]


# --------------------------------------------------------------------------------------------
# Grouping (spec 7.2.4)
# --------------------------------------------------------------------------------------------


def test_artifact_pod_metadata_overrides_the_workflow_key_by_key() -> None:
    """Artifact labels, annotations and service account override the workflow's key by key;
    the pod name hashes the service account, then the sorted labels, then the annotations."""
    workflow_gc = {
        "strategy": gc.COMPLETION,
        "serviceAccountName": "wf-sa",
        "podMetadata": {"labels": {"team": "a", "tier": "x"}, "annotations": {"n": "1"}},
    }
    mine = {"podMetadata": {"labels": {"tier": "y"}}, "serviceAccountName": "art-sa"}
    wf = workflow([art("own", **mine), art("plain")], artifact_gc=workflow_gc)
    pods = gc.plan(wf, gc.exec_spec(wf), gc.COMPLETION, REPOSITORY)
    by_artifact = {name: pod for pod in pods for _, name, _ in pod.artifacts()}
    own, plain = by_artifact["own"], by_artifact["plain"]
    assert own is not plain
    assert own.identity.service_account == "art-sa" and plain.identity.service_account == "wf-sa"
    assert dict(own.identity.labels) == {"team": "a", "tier": "y"}
    assert dict(plain.identity.labels) == {"team": "a", "tier": "x"}
    assert dict(own.identity.annotations) == {"n": "1"}
    hashed = "art-sa" + "team" + "a" + "tier" + "y" + "n" + "1"  # SA, labels, annotations
    assert own.name == f"wf-artgc-wfcomp-{key_fnv32a(hashed)}"
    assert own.manifest("wf", "argo")["metadata"]["labels"]["tier"] == "y"


def test_pod_spec_patch_is_not_part_of_the_pod_name() -> None:
    """The workflow's podSpecPatch is applied to every GC pod but does not change its name."""
    plain = workflow([art("a")], artifact_gc={"strategy": gc.COMPLETION})
    patched = workflow(
        [art("a")], artifact_gc={"strategy": gc.COMPLETION, "podSpecPatch": "priority: 1"}
    )
    (one,) = gc.plan(plain, gc.exec_spec(plain), gc.COMPLETION, REPOSITORY)
    (two,) = gc.plan(patched, gc.exec_spec(patched), gc.COMPLETION, REPOSITORY)
    assert one.name == two.name == "wf-artgc-wfcomp-2166136261"
    assert (one.identity.pod_spec_patch, two.identity.pod_spec_patch) == ("", "priority: 1")


# --------------------------------------------------------------------------------------------
# Finalizer (spec 7.2.8)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("force", [False, True])
def test_a_failed_delete_keeps_the_finalizer_unless_forced(force) -> None:
    """Without forceFinalizerRemoval a failed delete leaves the workflow stuck; with it the
    finalizer goes once every GC pod is recouped, whatever the outcome."""
    gc_spec = {"strategy": gc.COMPLETION, "forceFinalizerRemoval": force}
    wf = workflow([art("a")], artifact_gc=gc_spec)
    result = run(wf, Storage(failures={"b/a": lambda n: NotFound("no such key")}))
    assert outputs_of(result.workflow)["a"]["deleted"] is False
    assert gc_conditions(result.workflow)[0]["message"] == TASK_OF.format(
        "no such key", "wf-artgc-wfcomp-2166136261"
    )
    assert result.finalizer_removed is force
    assert (gc.FINALIZER in result.workflow["metadata"]["finalizers"]) is not force


@pytest.mark.parametrize("force", [False, True])
def test_force_with_no_pod_recouped_keeps_the_finalizer(force) -> None:
    """Nothing left to delete: without force the finalizer goes (all deleted); with force it
    stays, since no GC pod was ever recouped (``AllArtifactGCPodsRecouped`` of an empty map)."""
    done = art("a", strategy=gc.COMPLETION)
    done["deleted"] = True
    wf = workflow([done], artifact_gc={"forceFinalizerRemoval": force})
    result = run(wf, Storage())
    assert result.pods == []
    assert result.finalizer_removed is not force


def test_the_finalizer_stays_until_the_deletion_pass() -> None:
    """An OnWorkflowDeletion artifact keeps the finalizer after the completion pass."""
    wf = workflow([art("c", strategy=gc.COMPLETION), art("d", strategy=gc.DELETION)])
    storage = Storage()
    first = run(wf, storage)
    assert storage.take() == ["b/c"] and not first.finalizer_removed
    first.workflow["metadata"]["deletionTimestamp"] = DELETING
    second = run(first.workflow, storage)
    assert storage.take() == ["b/d"] and second.finalizer_removed
    assert second.status_patch()["metadata"]["finalizers"] == []


# --------------------------------------------------------------------------------------------
# The GC pod: retry, driver construction (spec 7.2.6)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error", [Internal("boom"), NotFound("boom"), BadRequest("boom"), ValueError("boom")]
)
def test_delete_is_retried_five_times_on_any_error(error) -> None:
    """DefaultRetry: five attempts whatever the error; the recorded error is the last attempt's
    own text, not the backoff's timeout, and the pod still succeeds."""
    numbered = type(error)
    storage = Storage(failures={"b/a": lambda n: numbered(f"attempt {n}: boom")})
    sleeps: list[float] = []
    wf = workflow([art("a", strategy=gc.COMPLETION)])
    result = gc.reconcile(wf, REPOSITORY, storage.driver, sleep=sleeps.append)
    (pod_run,) = result.pods
    assert storage.attempts == ["b/a"] * 5 and len(sleeps) == 4
    assert pod_run.phase == "Succeeded" and pod_run.attempts == 5
    assert pod_run.results == {"wf": {"a": gc.ArtifactResult("a", False, "attempt 5: boom")}}
    assert gc_conditions(result.workflow)[0]["message"] == TASK_OF.format(
        "attempt 5: boom", pod_run.pod.name
    )
    assert gc.task_kept(pod_run)


def test_a_later_successful_attempt_records_success() -> None:
    storage = Storage(failures={"b/a": lambda n: Internal("flaky") if n < 3 else None})
    result = run(workflow([art("a", strategy=gc.COMPLETION)]), storage)
    (pod_run,) = result.pods
    assert storage.attempts == ["b/a"] * 3 and storage.take() == ["b/a"]
    assert pod_run.results == {"wf": {"a": gc.ArtifactResult("a", True)}}
    assert outputs_of(result.workflow)["a"]["deleted"] is True
    assert gc_conditions(result.workflow) == [] and result.events == []
    assert result.finalizer_removed and not gc.task_kept(pod_run)


def failed_pod_message(pod: str) -> str:
    return (
        f"Artifact Garbage Collection failed for strategy OnWorkflowCompletion, pod {pod} exited "
        "with non-zero exit code: check pod logs for more information"
    )


def test_a_driver_construction_failure_fails_the_pod() -> None:
    """NewDriver failing (a missing secret file) aborts the pod before it patches its task: the
    pod is Failed, Argo's condition and event, no ``deleted`` flag, the task kept."""
    storage = Storage(broken={"b/a": BadRequest("secret my-minio-cred not found")})
    result = run(workflow([art("a", strategy=gc.COMPLETION)]), storage)
    (pod_run,) = result.pods
    name = "wf-artgc-wfcomp-2166136261"
    assert (pod_run.phase, pod_run.results, storage.attempts) == ("Failed", None, [])
    assert gc_conditions(result.workflow)[0]["message"] == failed_pod_message(name)
    assert result.events == [failed_pod_message(name)]
    assert "deleted" not in outputs_of(result.workflow)["a"]
    assert result.workflow["status"]["artifactGCStatus"]["podsRecouped"] == {name: True}
    assert gc.task_kept(pod_run) and not result.finalizer_removed


def test_a_relocation_failure_fails_the_pod() -> None:
    """A key-only artifact relocated into a repository without a location type cannot take its
    key (``Relocate`` then ``SetKey``): the pod fails before any delete."""
    wf = workflow([art("a", {"key": "a"}, strategy=gc.COMPLETION)])
    storage = Storage()
    empty = parse_repository({"archiveLogs": True})
    result = gc.reconcile(wf, empty, storage.driver, sleep=no_sleep)
    assert [r.phase for r in result.pods] == ["Failed"] and storage.attempts == []
    assert "artifact storage is not configured" in result.pods[0].error


# --------------------------------------------------------------------------------------------
# notSpecified, ARGO_ARTIFACT_GC_ENABLED (spec 7.2.1)
# --------------------------------------------------------------------------------------------


def test_not_specified_is_recorded_once_and_never_rechecked() -> None:
    wf = workflow([art("a")], finalizer=False, completed=False, phase="Running")
    first = run(wf, Storage())
    assert first.workflow["status"]["artifactGCStatus"] == {"notSpecified": True}
    assert first.workflow["metadata"]["finalizers"] == [] and not first.finalizer_added

    later = workflow([art("a", strategy=gc.COMPLETION)], finalizer=False, completed=False)
    later["status"]["artifactGCStatus"] = {"notSpecified": True}
    assert not run(later, Storage()).finalizer_added
    later["status"]["artifactGCStatus"] = {}
    assert run(later, Storage()).finalizer_added


def test_gc_disabled_does_nothing() -> None:
    """``ARGO_ARTIFACT_GC_ENABLED=false``: no finalizer, no status, no pods."""
    wf = workflow([art("a", strategy=gc.COMPLETION)], finalizer=False, completed=False)
    storage = Storage()
    result = run(wf, storage, enabled=False)
    assert result.workflow == wf and result.pods == [] and storage.attempts == []
    assert not result.finalizer_added and "ARGO_ARTIFACT_GC_ENABLED" in result.skipped


# --------------------------------------------------------------------------------------------
# The executed spec: workflowTemplateRef, stored spec, hardening (spec 7.1)
# --------------------------------------------------------------------------------------------

SUBMITTED_GC = {
    "strategy": gc.COMPLETION,
    "forceFinalizerRemoval": True,
    "serviceAccountName": "admin",
    "podSpecPatch": "hostNetwork: true",
    "podMetadata": {"labels": {"b": "2"}},
}
TEMPLATE_SPEC = {
    "entrypoint": "main",
    "artifactGC": {"serviceAccountName": "wft-sa", "podMetadata": {"labels": {"a": "1"}}},
    "templates": [{"name": "main", "outputs": {"artifacts": [art("a")]}}],
}


def referencing(artifact_gc: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "wf"},
        "spec": {"workflowTemplateRef": {"name": "wft"}, "artifactGC": artifact_gc},
    }


@pytest.mark.parametrize("mode", ["Strict", "Secure"])
def test_reference_modes_strip_the_submitters_gc_identity(mode) -> None:
    """Under Strict/Secure the submitter's artifactGC keeps its strategy and
    forceFinalizerRemoval; the WorkflowTemplate's identity stays."""
    spec = gc.exec_spec(referencing(SUBMITTED_GC), TEMPLATE_SPEC, restrictions=mode)
    assert spec["artifactGC"] == {
        "strategy": gc.COMPLETION,
        "forceFinalizerRemoval": True,
        "serviceAccountName": "wft-sa",
        "podMetadata": {"labels": {"a": "1"}},
    }
    assert gc.pod_identity(spec, {}).service_account == "wft-sa"


def test_without_a_reference_mode_the_submitters_gc_fields_win() -> None:
    """Without the mode the submitter's fields win, maps merged key by key."""
    spec = gc.exec_spec(referencing(SUBMITTED_GC), TEMPLATE_SPEC)
    assert spec["artifactGC"] == {**SUBMITTED_GC, "podMetadata": {"labels": {"a": "1", "b": "2"}}}
    assert spec["templates"] == TEMPLATE_SPEC["templates"]
    plain = {"metadata": {"name": "wf"}, "spec": {"artifactGC": SUBMITTED_GC}}
    assert gc.exec_spec(plain, restrictions="Strict")["artifactGC"] == SUBMITTED_GC  # no ref


def test_exec_spec_is_the_stored_spec_of_a_referencing_workflow() -> None:
    """With a workflowTemplateRef the controller executes status.storedWorkflowTemplateSpec;
    without one, the workflow's own spec (``setExecWorkflow``)."""
    wf = referencing({"strategy": gc.COMPLETION})
    stored = {"workflowTemplateRef": {"name": "wft"}, "artifactGC": {"strategy": gc.DELETION}}
    wf["status"] = {"storedWorkflowTemplateSpec": stored}
    spec = gc.exec_spec(wf, TEMPLATE_SPEC, restrictions="Strict")
    assert spec == stored and gc.effective_strategy(spec, {}) == gc.DELETION
    own = {"metadata": {"name": "wf"}, "spec": {"artifactGC": {"strategy": gc.COMPLETION}}}
    own["status"] = {"storedWorkflowTemplateSpec": stored}
    assert gc.effective_strategy(gc.exec_spec(own), {}) == gc.COMPLETION


# --------------------------------------------------------------------------------------------
# Templates looked up in stored templates (spec 7.2.1, 7.2.4)
# --------------------------------------------------------------------------------------------


def step_calling_a_workflow_template(stored: bool) -> dict[str, Any]:
    """A step that calls ``produce`` of WorkflowTemplate ``wft``; its archiveLocation is the
    only place that names bucket ``wft-bucket``."""
    produce = {
        "name": "produce",
        "archiveLocation": {"s3": s3("wft-bucket", "{{workflow.name}}")},
        "outputs": {"artifacts": [art("out", {"key": "wf/out.tgz"}, strategy=gc.COMPLETION)]},
    }
    wf = workflow([])
    wf["spec"]["templates"] = [{"name": "main", "steps": [[{"name": "s", "templateRef": {}}]]}]
    wf["status"]["nodes"] = {
        "wf": {"id": "wf", "name": "wf", "type": "Steps", "templateName": "main"},
        "wf-1": {
            "id": "wf-1",
            "name": "wf[0].s",
            "type": "Pod",
            "templateName": "main",  # ignored: a node with a templateRef names its template there
            "templateRef": {"name": "wft", "template": "produce"},
            "outputs": {"artifacts": copy.deepcopy(produce["outputs"]["artifacts"])},
        },
    }
    if stored:
        wf["status"]["storedTemplates"] = {"namespaced/wft/produce": produce}
    return wf


def test_a_step_template_is_found_in_the_stored_templates() -> None:
    wf = step_calling_a_workflow_template(stored=True)
    assert gc.has_artifact_gc(wf, gc.exec_spec(wf))
    assert gc.template_name_of(wf["status"]["nodes"]["wf-1"]) == "produce"
    storage = Storage()
    result = run(wf, storage)
    assert storage.take() == ["wft-bucket/wf/out.tgz"]
    assert result.finalizer_removed


def test_a_missing_template_marks_the_strategy_processed_and_keeps_the_finalizer() -> None:
    """Argo's deferred ``SetArtifactGCStrategyProcessed`` runs on the error too: the pass ends
    with Argo's message, the strategy is never planned again, the finalizer stays."""
    wf = step_calling_a_workflow_template(stored=False)
    assert not gc.has_artifact_gc(wf, gc.exec_spec(wf))  # the template's outputs are unknown
    storage = Storage()
    first = run(wf, storage)
    assert "template name 'produce' belonging to node 'wf-1' not found" in first.error
    assert first.workflow["status"]["artifactGCStatus"]["strategiesProcessed"] == {
        gc.COMPLETION: True
    }
    assert first.pods == [] and storage.attempts == []
    second = run(first.workflow, storage)
    assert second.error == "" and second.pods == []
    assert gc.FINALIZER in second.workflow["metadata"]["finalizers"]


def test_pod_secrets_are_the_selectors_argo_mounts() -> None:
    """A selector needs a name and a key; an SSE-C key only with encryption enabled."""
    loc = s3("b", "k")
    loc["sessionTokenSecret"] = {"name": "no-key"}
    loc["encryptionOptions"] = {"serverSideCustomerKeySecret": {"name": "ssec", "key": "k"}}
    pod = gc.GCPod("p", gc.COMPLETION, gc.PodIdentity())
    pod.nodes["n"] = gc.NodeArtifacts(None, {"a": {"name": "a", "s3": loc}})
    assert pod.secrets() == ["my-minio-cred"]
    loc["encryptionOptions"]["enableEncryption"] = True
    assert pod.secrets() == ["my-minio-cred", "ssec"]


# --------------------------------------------------------------------------------------------
# The ten TestArtifactGC scenarios
# --------------------------------------------------------------------------------------------

E2E_CASES = {
    "MultiStrategyMultiAnnotation": "multi-strategy-multi-annotation",
    "FromTemplate": "from-template",
    "FromTemplate2": "from-template-2",
    "StepWorkflowTemplate": "step-workflow-template",
    "StepWorkflowTemplate2": "step-workflow-template-2",
    "FromRefTemplate": "from-ref-template",
    "StepWorkflowTemplateNoGC": "step-workflow-template-no-gc",
    "NonOptionalArtifactNotWritten": "non-optional-artifact-not-written",
    "OptionalArtifactNotWritten": "optional-artifact-not-written",
    "ArtifactNotWrittenFailed": "artifact-not-written-failed",
}


def load_scenario(name: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(workflow, WorkflowTemplate specs by name, expectations). The JSON round trip undoes the
    YAML aliases, so no two places share one object."""
    doc = json.loads(json.dumps(yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text())))
    expect, templates = doc.pop("expect"), doc.pop("templates", {})
    return doc, templates, expect


def referenced_spec(wf: dict[str, Any], templates: dict[str, Any]) -> dict[str, Any] | None:
    ref = (wf["spec"].get("workflowTemplateRef") or {}).get("name")
    return templates[ref] if ref else None


def scenario_repository(wf: dict[str, Any]) -> Any:
    return parse_repository(wf["status"]["artifactRepositoryRef"]["artifactRepository"])


def all_outputs(wf: dict[str, Any], repository: Any) -> list[str]:
    """Where every Pod-node output lives once relocated, as the GC pod would see it."""
    found = []
    for node in wf["status"]["nodes"].values():
        if node["type"] != "Pod":
            continue
        template = gc.template_for_node(wf, node)
        assert template is not None, node["id"]
        archive, _ = gc.archive_location_for(template, repository)
        for data in node["outputs"]["artifacts"]:
            artifact = parse_artifact(data)
            artifact.relocate(parse_location(archive))
            found.append(where(artifact))
    return sorted(found)


def test_the_scenarios_are_argos_ten() -> None:
    assert sorted(p.stem for p in SCENARIOS.glob("*.yaml")) == sorted(E2E_CASES.values())
    for case, name in E2E_CASES.items():
        header = (SCENARIOS / f"{name}.yaml").read_text().split("\napiVersion:", 1)[0]
        assert f'case "{case}"' in header and "test/e2e/testdata/artifactgc/" in header


@pytest.mark.parametrize("name", sorted(E2E_CASES.values()))
def test_argo_e2e_scenario(name: str) -> None:
    """TestArtifactGC: the finalizer is added on the first pass; the completion pass deletes
    exactly the OnWorkflowCompletion keys with the expected number of pods, the deletion pass
    exactly the OnWorkflowDeletion ones; the rest stays and the finalizer is gone at the end."""
    wf, templates, expect = load_scenario(name)
    template_spec = referenced_spec(wf, templates)
    repository = scenario_repository(wf)
    storage = Storage()

    def passes(workflow: dict[str, Any]) -> gc.Pass:
        return gc.reconcile(
            workflow, repository, storage.driver, template_spec=template_spec, sleep=no_sleep
        )

    # the first pass, while the workflow ran, added the finalizer (or recorded notSpecified)
    assert (gc.FINALIZER in wf["metadata"].get("finalizers", [])) is expect["has_gc"]
    running = copy.deepcopy(wf)
    running["metadata"].update(finalizers=[], labels={gc.COMPLETED_LABEL: "false"})
    running["status"].update(phase="Running", artifactGCStatus={})
    started = passes(running)
    assert started.finalizer_added is expect["has_gc"]
    not_specified = started.workflow["status"]["artifactGCStatus"].get("notSpecified", False)
    assert not_specified is not expect["has_gc"]
    assert storage.attempts == []

    wf["metadata"]["labels"][gc.COMPLETED_LABEL] = "true"
    completion = passes(wf)
    assert completion.error == ""
    assert storage.take() == sorted(expect["deleted_on_completion"])
    assert len(completion.pods) == expect["gc_pods_on_completion"]
    assert all(r.pod.strategy == gc.COMPLETION and r.phase == "Succeeded" for r in completion.pods)
    recouped = completion.workflow["status"]["artifactGCStatus"].get("podsRecouped") or {}
    assert len(recouped) == expect["gc_pods_on_completion"]

    deleting = completion.workflow
    deleting["metadata"]["deletionTimestamp"] = DELETING
    deletion = passes(deleting)
    assert deletion.error == ""
    assert storage.take() == sorted(expect["deleted_on_deletion"])
    assert all(r.pod.strategy == gc.DELETION for r in deletion.pods)
    assert gc.FINALIZER not in deletion.workflow["metadata"].get("finalizers", [])
    deleted = expect["deleted_on_completion"] + expect["deleted_on_deletion"]
    assert gc_conditions(deletion.workflow) == [] and len(storage.attempts) == len(deleted)
    remaining = all_outputs(wf, repository)
    for gone in deleted:
        remaining.remove(gone)
    assert remaining == sorted(expect["kept"])


@pytest.mark.parametrize("name", sorted(E2E_CASES.values()))
def test_scenario_stored_spec_matches_the_joined_one(name: str) -> None:
    """A referencing workflow's stored spec decides GC as its spec joined over the
    WorkflowTemplate would (the join Argo stores on the first pass)."""
    wf, templates, _ = load_scenario(name)
    template_spec = referenced_spec(wf, templates)
    stored = gc.exec_spec(wf, template_spec)
    unstored = copy.deepcopy(wf)
    unstored["status"].pop("storedWorkflowTemplateSpec", None)
    joined = gc.exec_spec(unstored, template_spec)
    assert gc.has_artifact_gc(wf, stored) is gc.has_artifact_gc(unstored, joined)
    for node in wf["status"]["nodes"].values():
        for artifact in (node.get("outputs") or {}).get("artifacts", []):
            assert gc.effective_strategy(stored, artifact) == gc.effective_strategy(
                joined, artifact
            )


@pytest.mark.parametrize("name", sorted(E2E_CASES.values()))
def test_scenario_keys_are_the_ones_argo_derives(name: str) -> None:
    """Outputs without a key of their own, and main-logs, carry the key Argo's executor derives:
    ``path.Join(<{{workflow.name}}/{{pod.name}}>, <name>.tgz | main.log)`` with the v2 pod name
    (spec 4.3, 4.4)."""
    wf, _, _ = load_scenario(name)
    workflow_name = wf["metadata"]["name"]
    checked = 0
    for node in wf["status"]["nodes"].values():
        if node["type"] != "Pod":
            continue
        template = gc.template_for_node(wf, node)
        declared = {a["name"]: a for a in template["outputs"]["artifacts"]}
        pod = pod_name(workflow_name, node["name"], gc.template_name_of(node), node["id"])
        context = KeyContext(workflow_name=workflow_name, pod_name=pod)
        archive_key = render_key(DEFAULT_KEY_FORMAT, context)
        for artifact in node["outputs"]["artifacts"]:
            own = (declared.get(artifact["name"]) or {}).get("s3", {}).get("key")
            if artifact["name"] == "main-logs":
                expected = log_key(archive_key, "main")
            elif own:
                expected = own
            else:
                expected = output_key(archive_key, artifact["name"], ArchiveKind.TAR, False)
            assert artifact["s3"]["key"] == expected
            checked += 1
    assert checked
