"""Artifact GC: what Argo's controller and GC pods leave on the server (spec 7.2, 7.3).

Each case lays out the outputs of one finished Pod node the way Argo's executor saves them
(`drivers.core.executor.save_output`, whose uploads go through the server's own SDK: GC needs
nothing of the driver under test but `delete`), records them in the Workflow's status as Argo
does (key-only when the artifact had no location), and runs Argo's GC
(`drivers.controller.gc.reconcile`) with the target's driver in the GC pod: a controller pass
while the Workflow runs, one once it is completed, one once it is being deleted. It checks on
the server that exactly the outputs of the strategy are gone (siblings sharing their prefix and
`Never` outputs stay), and what Argo writes back: `deleted` flags, no `ArtifactGCError`
condition, no finalizer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance import checks
from conformance.cases import deviation, requires, verifies
from drivers.controller import gc
from drivers.core.executor import StagingContext, save_output
from drivers.core.keys import KeyContext
from drivers.core.model import parse_artifact, parse_repository

WORKFLOW = "gc-wf"
POD = "gc-wf-produce-1234567890"  # the Pod node's id and its pod's name
KEYS = KeyContext(workflow_name=WORKFLOW, workflow_namespace="argo", pod_name=POD)
KEY_FORMAT = "{{workflow.name}}/{{pod.name}}"
PREFIX = f"{WORKFLOW}/{POD}"  # the key format, rendered for the pod
DELETED_AT = "2026-03-07T09:05:02Z"
TREE = {"a.txt": b"a", "sub/b.bin": b"\x00b"}

# Both strategies that delete: the pytest ids are their names, which the report reads back.
STRATEGIES = pytest.mark.parametrize("strategy", gc.STRATEGIES)


class ServerUploads:
    """The executor's `save`, done through the server's own SDK (`store.objects`)."""

    def __init__(self, objects: Any):
        self.objects = objects

    def save(self, path: str, artifact: Any) -> None:
        local, key = Path(path), artifact.get_key()
        if local.is_dir():  # one object per file under the key, as every driver saves a tree
            files = checks.files_under(local)
            self.objects.put_many({f"{key.rstrip('/')}/{k}": v for k, v in files.items()})
        else:
            self.objects.put(key, local.read_bytes())


class GCPodDrivers:
    """The GC pod's `make_driver`: the target's driver for each relocated artifact. A GC pod
    records only the message of a failed delete; the error itself is kept here, so that a
    failing case ends with the driver's code (a declared deviation absorbs only its own)."""

    def __init__(self, store: Any):
        self.store = store
        self.errors: dict[str, BaseException] = {}

    def __call__(self, artifact: Any) -> Any:
        try:
            driver = self.store.new_driver(artifact)
        except Exception as exc:  # the GC pod exits non-zero, nothing deleted
            self.errors[artifact.name] = exc
            raise
        return _Recording(driver, artifact.name, self.errors)


class _Recording:
    def __init__(self, driver: Any, name: str, errors: dict[str, BaseException]):
        self.driver, self.name, self.errors = driver, name, errors

    def delete(self, artifact: Any) -> None:
        try:
            self.driver.delete(artifact)
        except Exception as exc:
            self.errors[self.name] = exc
            raise
        self.errors.pop(self.name, None)  # a retry that succeeded: no error


class Outputs:
    """One Pod node's outputs: saved on the server, declared in its template, recorded."""

    def __init__(self, store: Any):
        self.store = store
        # The workflow's repository: this case's bucket, with the default key format.
        self.repository = parse_repository(store.kind.repository(store.location, KEY_FORMAT))
        location = self.repository.to_artifact_location()
        self.staging = StagingContext(store.tmp / "staging", KEYS, location)
        self.declared: list[dict[str, Any]] = []
        self.recorded: list[dict[str, Any]] = []

    def save(self, name: str, files: dict[str, bytes] | bytes, **fields: Any) -> str:
        """Save `files` (bytes: a file) as output `name` with the artifact `fields`; its key."""
        if isinstance(files, bytes):
            source = self.store.local_file(f"pod/{name}", files)
        else:
            source = self.store.local_tree(f"pod/{name}", files)
        declared = {"name": name, "path": f"/tmp/{name}", **fields}
        artifact = parse_artifact(declared)
        recorded = save_output(ServerUploads(self.store.objects), source, artifact, self.staging)
        assert recorded is not None, f"output {name!r} was skipped"
        self.declared.append(declared)
        self.recorded.append(recorded.to_dict())
        return recorded.get_key()

    def key_only(self, key: str) -> dict[str, Any]:
        """The fields of a key-only artifact (relocated into the repository by GC, spec 4.4)."""
        return self.store.kind.key_only(key)

    def full(self, key: str) -> dict[str, Any]:
        """The fields of an artifact with its whole location (GC leaves it as it is)."""
        return {self.store.kind.type: dict(self.store.location.with_key(key).fields)}

    def workflow(self, strategy: str) -> dict[str, Any]:
        """The Workflow as Argo stores it once the Pod node is done, still running: `strategy`
        for every output that sets none, a Steps node over the Pod node."""
        produce = {"name": "produce", "container": {"image": "busybox"}}
        produce["outputs"] = {"artifacts": self.declared}
        main = {"name": "main", "steps": [[{"name": "produce", "template": "produce"}]]}
        nodes = {
            WORKFLOW: {
                "id": WORKFLOW, "name": WORKFLOW, "type": "Steps", "templateName": "main",
                "phase": "Running", "children": [POD],
            },
            POD: {
                "id": POD, "name": f"{WORKFLOW}[0].produce", "type": "Pod",
                "templateName": "produce", "phase": "Succeeded",
                "outputs": {"artifacts": self.recorded},
            },
        }  # fmt: skip
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {
                "name": WORKFLOW,
                "namespace": "argo",
                "labels": {gc.COMPLETED_LABEL: "false"},
            },
            "spec": {
                "entrypoint": "main",
                "artifactGC": {"strategy": strategy},
                "templates": [main, produce],
            },
            "status": {"phase": "Running", "nodes": nodes},
        }


NEVER = {"artifactGC": {"strategy": gc.NEVER}}


def collect(store: Any, outputs: Outputs, strategy: str) -> tuple[gc.Pass, GCPodDrivers]:
    """Argo's controller passes over the Workflow: while it runs (the finalizer goes on), once
    it is completed, once it is being deleted; the last pass and the GC pod's drivers. Until
    the deletion, an `OnWorkflowDeletion` output must still be there."""
    drivers = GCPodDrivers(store)

    def reconcile(workflow: dict[str, Any]) -> gc.Pass:
        # A failing delete is retried as Argo's GC pod does, without waiting.
        return gc.reconcile(workflow, outputs.repository, drivers, sleep=lambda seconds: None)

    before = store.objects.keys()
    running = reconcile(outputs.workflow(strategy))
    workflow = running.workflow
    workflow["status"]["phase"] = workflow["status"]["nodes"][WORKFLOW]["phase"] = "Succeeded"
    workflow["metadata"]["labels"][gc.COMPLETED_LABEL] = "true"
    completed = reconcile(workflow)
    if strategy == gc.DELETION:
        checks.same_keys(store.objects.keys(), before, what="objects before the deletion")
    workflow = completed.workflow
    workflow["metadata"]["deletionTimestamp"] = DELETED_AT
    last = reconcile(workflow)
    ran = completed if strategy == gc.COMPLETION else last
    assert ran.pods, f"no GC pod ran for {strategy}: {ran.skipped or ran.error}"
    return last, drivers


def check_collected(
    store: Any, last: gc.Pass, drivers: GCPodDrivers, deleted: list[str], left: list[str]
) -> None:
    """On the server only the `left` keys remain; in the status the outputs named in `deleted`
    are deleted and no other, with no ArtifactGCError and the finalizer removed.

    The server comes first and fails on its own: objects left behind are the contract broken.
    A status that says otherwise fails chained to what the driver's delete raised."""
    __tracebackhide__ = True
    errors = "; ".join(f"{name}: {exc}" for name, exc in drivers.errors.items())
    difference = checks.key_difference(store.objects.keys(), left)
    if difference:
        note = f" (the GC pod's deletes failed: {errors})" if errors else ""
        pytest.fail(f"objects after GC: {difference}{note}", pytrace=False)
    patch = last.status_patch()
    flags = {
        artifact["name"]: artifact["deleted"]
        for node in patch["status"]["nodes"].values()
        for artifact in node["outputs"]["artifacts"]
    }
    wanted = {name: name in deleted for name in {*flags, *deleted}}
    problems = [f"deleted flags {flags}, expected {wanted}"] if flags != wanted else []
    problems += [f"{gc.CONDITION}: {c.get('message')}" for c in patch["status"]["conditions"]]
    if gc.FINALIZER in patch["metadata"]["finalizers"]:
        problems.append(f"the finalizer {gc.FINALIZER} stays: the Workflow cannot be deleted")
    if problems:
        error = next(iter(drivers.errors.values()), None)
        raise pytest.fail.Exception("GC status: " + "; ".join(problems), pytrace=False) from error


# --- file outputs -------------------------------------------------------------------------------


def file_outputs(store: Any) -> tuple[Outputs, list[str], list[str]]:
    """A file tarball (key derived, so key-only), a directory tarball with its whole location,
    a `Never` output, and siblings sharing their keys' prefixes: (outputs, deleted, kept keys)."""
    outputs = Outputs(store)
    result = outputs.save("result", b"result\n")  # -> <prefix>/result.tgz
    tree = outputs.save("tree", TREE, **outputs.full("trees/tree.tgz"))
    never = outputs.save("kept", b"kept\n", **NEVER)
    siblings = {f"{result}.bak": b"s", f"{tree}-old/x": b"s", f"{PREFIX}-2/result.tgz": b"s"}
    store.objects.put_many(siblings)
    return outputs, [result, tree], [never, *siblings]


@verifies("gc_file")
@requires("delete")
@STRATEGIES
def test_gc_removes_file_outputs(store, strategy):
    """GC deletes each file output of its strategy (key-only ones relocated into the
    repository) and nothing else: siblings such as `x.tgz.bak` and `Never` outputs stay, every
    flag is `deleted`, the finalizer goes (spec 4.4, 7.2, 7.3)."""
    outputs, gone, kept = file_outputs(store)
    assert set(gone) <= set(store.objects.keys())  # the layout's own expectation
    last, drivers = collect(store, outputs, strategy)
    check_collected(store, last, drivers, ["result", "tree"], kept)


@verifies("gc_file")
@requires("delete")
@deviation("delete-missing-idempotent")
@STRATEGIES
def test_gc_counts_missing_file_outputs_as_deleted(store, strategy):
    """A file output already gone (a GC pod that deleted it but never reported) is deleted
    when GC runs: no ArtifactGCError, the finalizer goes (spec 7.2, 7.3)."""
    outputs, gone, kept = file_outputs(store)
    for key in gone:
        store.objects.delete(key)
    last, drivers = collect(store, outputs, strategy)
    check_collected(store, last, drivers, ["result", "tree"], kept)


# --- directory outputs --------------------------------------------------------------------------

DIRECTORY_KEYS = [
    # The key Argo's docs tell users to write for a directory: a trailing slash.
    pytest.param(f"{PREFIX}/out/", id="trailing-slash"),
    # No key: the executor derives `<prefix>/out`, without a slash (spec 4.4).
    pytest.param(
        "",
        id="derived",
        marks=[
            *deviation("directory-delete-without-trailing-slash"),
            *deviation("raw-prefix-siblings"),  # a key with its slash spares them
        ],
    ),
]


def directory_outputs(store: Any, key: str) -> tuple[Outputs, list[str], list[str]]:
    """An `archive: none` directory under `<prefix>/out/`, recorded key-only, a `Never` one,
    and siblings of `out`: (outputs, the deleted directory's objects, kept keys)."""
    outputs = Outputs(store)
    none = {"archive": {"none": {}}}
    out = outputs.save("out", TREE, **none, **(outputs.key_only(key) if key else {}))
    outputs.save("kept", TREE, **none, **NEVER)
    siblings = {f"{PREFIX}/out-other/x": b"s", f"{PREFIX}/outx": b"s", f"{PREFIX}/out.txt": b"s"}
    store.objects.put_many(siblings)
    inside = [f"{out.rstrip('/')}/{name}" for name in TREE]
    return outputs, inside, [f"{PREFIX}/kept/{name}" for name in TREE] + list(siblings)


@verifies("gc_directory")
@requires("delete_directory")
@deviation("directory-delete-tree")
@STRATEGIES
@pytest.mark.parametrize("key", DIRECTORY_KEYS)
def test_gc_removes_directory_outputs(store, strategy, key):
    """GC deletes every object of a directory output of its strategy and nothing else:
    `out-other/x`, `outx`, `out.txt` and `Never` outputs stay, every flag is `deleted`, the
    finalizer goes (spec 4.4, 5.2, 7.2, 7.3)."""
    outputs, gone, kept = directory_outputs(store, key)
    assert set(gone) <= set(store.objects.keys())  # the layout's own expectation
    last, drivers = collect(store, outputs, strategy)
    check_collected(store, last, drivers, ["out"], kept)


@verifies("gc_directory")
@requires("delete_directory")
@deviation("delete-missing-idempotent")
@STRATEGIES
def test_gc_counts_missing_directory_outputs_as_deleted(store, strategy):
    """A directory output already gone is deleted when GC runs: no ArtifactGCError, the
    finalizer goes (spec 7.2, 7.3)."""
    outputs, gone, kept = directory_outputs(store, f"{PREFIX}/out/")
    for key in gone:
        store.objects.delete(key)
    last, drivers = collect(store, outputs, strategy)
    check_collected(store, last, drivers, ["out"], kept)
