"""The GC suite (conformance/suites/test_gc.py) where no kind of the kit can show it: a driver
without Delete.

Argo's HTTP, Artifactory, Git, HDFS and Raw drivers answer `Delete` with ErrDeleteNotSupported
(spec 7.3). Every kind the kit serves deletes, so a stub stands in: its delete raises the kit's
`Unimplemented` with Argo's message. Through the suite's own helpers, on MinIO: GC records each
output failed, the ArtifactGCError condition, and the finalizer stays (the Workflow cannot be
deleted) unless `forceFinalizerRemoval`; the suite's verdict ends with ERR_NOT_IMPLEMENTED. A
target without Delete never gets that far in the matrix: each GC case requires the delete it
goes through, so it is a declared skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance import cases
from conformance.columns import Column
from conformance.decision import CaseInfo, Skip, TargetView, decide
from conformance.expectations import actual_failure
from conformance.profiles import load_profiles
from conformance.store import Backend, Store
from conformance.suites import test_gc as suite
from conformance.targets import DRIVER_METHODS, Target
from drivers.controller import gc
from drivers.core.capabilities import Capability
from drivers.core.errors import Unimplemented
from drivers.s3 import S3Driver

DELETE_NOT_SUPPORTED = gc.ERR_DELETE_NOT_SUPPORTED  # Argo's, workflow/artifacts/common
GC_CAPABILITIES = {Capability.GC_FILE, Capability.GC_DIRECTORY}
DELETES = {Capability.DELETE, Capability.DELETE_DIRECTORY}


class NoDelete:
    """A driver of a location type that cannot delete; GC calls nothing else."""

    def __init__(self, artifact: Any, secrets: Any, context: Any):
        pass

    def delete(self, artifact: Any) -> None:
        raise Unimplemented(DELETE_NOT_SUPPORTED)

    def __getattr__(self, name: str) -> Any:
        if name not in DRIVER_METHODS:
            raise AttributeError(name)

        def unused(*args: Any, **kwargs: Any) -> None:
            raise AssertionError(f"GC called {name}")

        return unused


@pytest.fixture
def stub_store(artconf_server, tmp_path) -> Iterator[Store]:
    """A case's store on plain MinIO whose target is the stub."""
    backend = Backend(Column("minio"), artconf_server("minio"), load_profiles()["minio"])
    store = Store(backend, Target("no-delete", NoDelete), tmp_path)
    yield store
    store.close()


def _forced(workflow: dict[str, Any]) -> dict[str, Any]:
    workflow["spec"]["artifactGC"]["forceFinalizerRemoval"] = True
    return workflow


@pytest.mark.parametrize("strategy", gc.STRATEGIES)
def test_without_delete_every_output_fails_and_the_finalizer_stays(stub_store, strategy):
    outputs, _, left = suite.file_outputs(stub_store)
    before = stub_store.objects.keys()
    last, drivers = suite.collect(stub_store, outputs, strategy)

    assert stub_store.objects.keys() == before
    patch = last.status_patch()
    (node,) = patch["status"]["nodes"].values()
    assert {a["name"]: a["deleted"] for a in node["outputs"]["artifacts"]} == {
        "result": False,
        "tree": False,
        "kept": False,
    }
    (condition,) = patch["status"]["conditions"]
    assert condition["type"] == gc.CONDITION
    task = f"{suite.WORKFLOW}-artgc-{'wfcomp' if strategy == gc.COMPLETION else 'wfdel'}-"
    assert DELETE_NOT_SUPPORTED in condition["message"]
    assert f"(artifactGCTask: {task}" in condition["message"]
    assert gc.FINALIZER in patch["metadata"]["finalizers"]
    assert set(drivers.errors) == {"result", "tree"}

    # The suite's verdict: the server first, naming what the GC pod's deletes answered ...
    with pytest.raises(pytest.fail.Exception, match="objects after GC: unexpected") as failed:
        suite.check_collected(stub_store, last, drivers, ["result", "tree"], left)
    assert DELETE_NOT_SUPPORTED in str(failed.value)
    # ... and the status, ending with the driver's own error: the stuck finalizer.
    with pytest.raises(pytest.fail.Exception, match=r"the finalizer \S+ stays") as failed:
        suite.check_collected(stub_store, last, drivers, ["result", "tree"], before)
    assert actual_failure(failed.value).code == "ERR_NOT_IMPLEMENTED"


def test_force_finalizer_removal_lets_the_workflow_go_with_its_objects(stub_store):
    outputs, _, _ = suite.file_outputs(stub_store)
    build = outputs.workflow
    outputs.workflow = lambda strategy: _forced(build(strategy))  # type: ignore[method-assign]
    before = stub_store.objects.keys()
    last, _ = suite.collect(stub_store, outputs, gc.COMPLETION)

    patch = last.status_patch()
    assert gc.FINALIZER not in patch["metadata"]["finalizers"]
    assert [c["type"] for c in patch["status"]["conditions"]] == [gc.CONDITION]
    assert stub_store.objects.keys() == before  # nothing was deleted: they are left behind


def _gc_cases() -> list[Any]:
    found = []
    for name, value in vars(suite).items():
        marks = getattr(value, "pytestmark", [])
        verified = [m.args[0] for m in marks if m.name == cases.VERIFIES]
        if verified:
            required = tuple(n for m in marks if m.name == cases.REQUIRES for n in m.args)
            found.append(pytest.param(verified[0], required, id=name))
    return found


@pytest.mark.parametrize(("verified", "required"), _gc_cases())
def test_a_target_without_delete_skips_every_gc_case(verified, required):
    """Even a target that claims GC skips it when it lacks the delete GC goes through."""
    assert Capability(verified) in GC_CAPABILITIES
    info = CaseInfo("s3", "minio", "plain", verified, f"test_gc::{verified}", required)
    profile = load_profiles()["minio"]
    claims_gc = frozenset(S3Driver.capabilities - DELETES)
    decision = decide(info, TargetView("no-delete", {"s3": claims_gc}), profile, {})
    assert isinstance(decision, Skip), decision
    assert decision.by == "driver" and decision.missing in {c.value for c in DELETES}
    assert decision.reason == f"unsupported-by-driver: no-delete (s3) lacks {decision.missing}"
