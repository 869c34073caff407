"""`artconf gc plan|run`: the examples' pods and warnings, bad input, and a real deletion on MinIO.

The pod names of examples/gc/multi-strategy.yaml are checked against the names Argo's own unit
test (``workflow/controller/artifact_gc_test.go`` ``TestProcessArtifactGCStrategy``) expects for
the same inputs: workflow name, service account and annotations.
"""

from __future__ import annotations

import copy
import json
import os
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cli import main
from conformance.commands.resolve import read_workflow
from conformance.gc_report import gc_pass, load_inputs
from conformance.sources import local_scenario
from drivers.controller import gc
from tests.servers import s3_client, write_kubeconfig

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "gc"
MANIFESTS = EXAMPLES / "manifests"
#: TestProcessArtifactGCStrategy's expected completion pods (Argo v4.0.5).
ARGO_POD_NAMES = {
    "two-artgc-8tcvt-artgc-wfcomp-592587874",
    "two-artgc-8tcvt-artgc-wfcomp-3953780960",
}
ARGO_GC_TEST = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "artifact-conformance/tools/go/mod/github.com/argoproj/argo-workflows/v4@v4.0.5"
    / "workflow/controller/artifact_gc_test.go"
)


def gc_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["gc", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def plan_json(capsys, example: str, *more: str) -> dict[str, Any]:
    code, out, err = gc_cli(capsys, "plan", "--workflow", str(EXAMPLES / example), "--json", *more)
    assert code == 0, err
    return json.loads(out)


def pods_of(report: dict[str, Any], strategy: str) -> dict[str, dict[str, Any]]:
    (entry,) = [s for s in report["strategies"] if s["strategy"] == strategy]
    return {pod["name"]: pod for pod in entry["pods"]}


def artifacts_of(pod: dict[str, Any]) -> set[str]:
    return {a["name"] for node in pod["nodes"] for a in node["artifacts"]}


def warnings_of(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(w["code"], w.get("artifact", "")) for w in report["warnings"]}


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / name).read_text())


# --- the examples ----------------------------------------------------------------------------


def test_multi_strategy_pod_names_are_the_ones_argo_expects(capsys) -> None:
    report = plan_json(capsys, "multi-strategy.yaml", "--manifests", str(MANIFESTS))
    completion = pods_of(report, gc.COMPLETION)
    assert set(completion) == ARGO_POD_NAMES
    # The inputs that name a pod are Argo's: workflow name, service account, annotations.
    first = completion["two-artgc-8tcvt-artgc-wfcomp-592587874"]
    second = completion["two-artgc-8tcvt-artgc-wfcomp-3953780960"]
    assert report["workflow"] == "two-artgc-8tcvt"
    assert first["serviceAccount"] == second["serviceAccount"] == "default"
    assert first["annotations"] == {
        "annotation-key-1": "annotation-value-1",
        "annotation-key-2": "annotation-value-2",
    }
    assert second["annotations"] == {
        "annotation-key-1": "annotation-value-3",
        "annotation-key-2": "annotation-value-2",
    }
    assert artifacts_of(first) == {"binary", "release-notes"}
    assert artifacts_of(second) == {"build-log"}
    assert first["task"] == "two-artgc-8tcvt-artgc-wfcomp-592587874-0"
    assert first["taskLabel"] == (
        f"{gc.POD_HASH_LABEL}={gc.fnv32a('two-artgc-8tcvt-artgc-wfcomp-592587874')}"
    )
    assert first["secrets"] == ["release-creds", "team-s3-creds"]
    assert second["secrets"] == ["team-s3-creds"]
    nodes = {n["id"]: n for n in first["nodes"]}
    publish = nodes["two-artgc-8tcvt-3118909301"]
    assert publish["archiveFrom"] == "template 'publish' archiveLocation"
    assert publish["archiveLocation"]["bucket"] == "team-releases"
    binary = next(a for a in nodes["two-artgc-8tcvt-3138754283"]["artifacts"])
    assert (binary["type"], binary["bucket"], binary["key"]) == (
        "s3",
        "team-artifacts",
        "two-artgc-8tcvt/two-artgc-8tcvt-build-3138754283/binary.tgz",
    )
    deletion = pods_of(report, gc.DELETION)
    assert set(deletion) == {"two-artgc-8tcvt-artgc-wfdel-592587874"}
    assert artifacts_of(deletion["two-artgc-8tcvt-artgc-wfdel-592587874"]) == {"cache"}
    assert [s["when"] for s in report["strategies"]] == ["now", "later"]
    assert report["warnings"] == []


def test_argos_own_test_expects_these_names() -> None:
    if not ARGO_GC_TEST.is_file():
        pytest.skip(f"Argo's source is not in the Go module cache ({ARGO_GC_TEST})")
    source = ARGO_GC_TEST.read_text()
    for name in ARGO_POD_NAMES:
        assert f'case "{name}":' in source


def test_plan_text_labels_now_and_later(capsys) -> None:
    code, out, _ = gc_cli(
        capsys,
        "plan",
        "--workflow",
        str(EXAMPLES / "multi-strategy.yaml"),
        "--manifests",
        str(MANIFESTS),
    )
    assert code == 0
    assert "NOW  OnWorkflowCompletion: 2 pods" in out
    assert "LATER  OnWorkflowDeletion: 1 pod" in out
    for name in ARGO_POD_NAMES:
        assert f"  pod {name}\n" in out
    assert "warnings: none" in out
    # Secret values are read to check the Secrets, never shown.
    assert "example-secret-key" not in out and "example-access-key" not in out


EXPECTED_WARNINGS = {
    "multi-strategy.yaml": set(),
    "from-template.yaml": {
        ("gcs-delete-missing-fails", "summary"),
        ("gcs-delete-missing-fails", "raw-data"),
        ("directory-not-deleted", "raw-data"),
    },
    "http-artifact.yaml": {
        ("secret-missing", ""),
        ("delete-not-supported", "upstream-copy"),
    },
    "directory-key.yaml": {("directory-key-no-trailing-slash", "out")},
    "running.yaml": {("phase-not-completed", "")},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_WARNINGS))
def test_warnings_are_exactly_where_expected(capsys, name: str) -> None:
    report = plan_json(capsys, name, "--manifests", str(MANIFESTS))
    assert warnings_of(report) == EXPECTED_WARNINGS[name]
    stuck = {w["code"] for w in report["warnings"] if w["stuck"]}
    assert stuck <= {"gcs-delete-missing-fails", "secret-missing", "delete-not-supported"}


@pytest.mark.parametrize("name", sorted(EXPECTED_WARNINGS))
def test_text_shows_the_same_warnings(capsys, name: str) -> None:
    code, out, _ = gc_cli(
        capsys, "plan", "--workflow", str(EXAMPLES / name), "--manifests", str(MANIFESTS)
    )
    assert code == 0
    for warned, _artifact in EXPECTED_WARNINGS[name]:
        assert f" {warned}" in out
    if not EXPECTED_WARNINGS[name]:
        assert "warnings: none" in out


def test_http_example_names_the_missing_secret_and_erroneous_driver(capsys) -> None:
    report = plan_json(capsys, "http-artifact.yaml", "--manifests", str(MANIFESTS))
    (pod,) = pods_of(report, gc.COMPLETION).values()
    assert pod["blockedBy"] == ["Secret 'http-creds' is missing in namespace 'team'"]
    (missing,) = [w for w in report["warnings"] if w["code"] == "secret-missing"]
    assert missing["stuck"] and "ContainerCreating" in missing["message"]
    (unsupported,) = [w for w in report["warnings"] if w["code"] == "delete-not-supported"]
    assert "ErrDeleteNotSupported" in unsupported["message"]
    assert "forceFinalizerRemoval" in unsupported["message"]


def test_running_workflow_waits(capsys) -> None:
    report = plan_json(capsys, "running.yaml", "--manifests", str(MANIFESTS))
    assert [(s["strategy"], s["when"]) for s in report["strategies"]] == [
        (gc.COMPLETION, "later"),
        (gc.DELETION, "later"),
    ]
    assert artifacts_of(next(iter(pods_of(report, gc.COMPLETION).values()))) == {
        "checkpoint",
        "main-logs",
    }
    report = plan_json(capsys, "running.yaml", "--strategy", "ready")
    assert report["strategies"] == []


def test_without_manifests_the_plan_comes_from_the_status(capsys) -> None:
    report = plan_json(capsys, "http-artifact.yaml")
    assert report["source"] is None
    assert warnings_of(report) == {("delete-not-supported", "upstream-copy")}
    assert any("Secrets not checked" in n for n in report["notes"])
    code, out, _ = gc_cli(capsys, "plan", "--workflow", str(EXAMPLES / "multi-strategy.yaml"))
    assert code == 0 and "Secrets not checked" in out


def test_strategy_option(capsys) -> None:
    ready = plan_json(capsys, "multi-strategy.yaml", "--strategy", "ready")
    assert [s["strategy"] for s in ready["strategies"]] == [gc.COMPLETION]
    deletion = plan_json(capsys, "multi-strategy.yaml", "--strategy", gc.DELETION)
    assert [(s["strategy"], s["when"]) for s in deletion["strategies"]] == [(gc.DELETION, "later")]


def test_deleting_workflow_runs_both_now(tmp_path: Path, capsys) -> None:
    wf = example("multi-strategy.yaml")
    wf["metadata"]["deletionTimestamp"] = "2026-03-09T10:00:00Z"
    path = write(tmp_path / "wf.yaml", wf)
    code, out, _ = gc_cli(capsys, "plan", "--workflow", str(path), "--json")
    assert code == 0
    assert [s["when"] for s in json.loads(out)["strategies"]] == ["now", "now"]


def test_processed_strategies_leave_nothing_to_collect(tmp_path: Path, capsys) -> None:
    wf = example("multi-strategy.yaml")
    wf["status"]["artifactGCStatus"] = {
        "strategiesProcessed": {gc.COMPLETION: True, gc.DELETION: True}
    }
    path = write(tmp_path / "wf.yaml", wf)
    code, out, _ = gc_cli(capsys, "plan", "--workflow", str(path), "--json")
    report = json.loads(out)
    assert code == 0 and report["strategies"] == []
    assert warnings_of(report) == {("nothing-to-collect", "")}
    # Asked for explicitly, a processed strategy is planned and labelled so.
    code, out, _ = gc_cli(capsys, "plan", "--workflow", str(path), "--strategy", gc.COMPLETION)
    assert code == 0 and "PROCESSED  OnWorkflowCompletion: 2 pods" in out


def test_completed_without_finalizer_is_never_collected(tmp_path: Path, capsys) -> None:
    wf = example("multi-strategy.yaml")
    wf["metadata"]["finalizers"] = []
    path = write(tmp_path / "wf.yaml", wf)
    code, out, _ = gc_cli(capsys, "plan", "--workflow", str(path), "--json")
    report = json.loads(out)
    assert code == 0 and [s["when"] for s in report["strategies"]] == ["never", "never"]
    assert warnings_of(report) == {("not-reconciled", "")}
    assert report["finalizer"].startswith("missing, and the Workflow is labelled completed")


def test_template_read_from_manifests_when_the_status_lacks_it(tmp_path: Path, capsys) -> None:
    stored = plan_json(capsys, "from-template.yaml")
    wf = example("from-template.yaml")
    del wf["status"]["storedWorkflowTemplateSpec"]
    del wf["status"]["artifactRepositoryRef"]
    path = write(tmp_path / "wf.yaml", wf)
    code, out, err = gc_cli(
        capsys, "plan", "--workflow", str(path), "--manifests", str(MANIFESTS), "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert "WorkflowTemplate team/nightly-report" in report["spec"]["from"]
    assert report["repository"]["from"].startswith("resolved from manifests")
    assert set(pods_of(report, gc.COMPLETION)) == set(pods_of(stored, gc.COMPLETION))
    assert pods_of(report, gc.COMPLETION) and all(
        p["serviceAccount"] == "artifact-gc" for p in pods_of(report, gc.COMPLETION).values()
    )
    # Without the manifests, the template cannot be known: a typed error naming the field.
    code, out, err = gc_cli(capsys, "plan", "--workflow", str(path))
    assert code == 2 and out == ""
    assert "status.storedWorkflowTemplateSpec" in err and "--manifests" in err
    assert len(err.strip().splitlines()) == 1


def test_kube_source_checks_secrets_in_the_cluster(artconf_server, tmp_path: Path, capsys) -> None:
    endpoint = artconf_server("kube-tls")
    scenario = local_scenario(endpoint)
    values = {"accesskey": "kube-access-key", "secretkey": "KUBESECRET"}
    scenario.secret(scenario.wf_ns, "team-s3-creds", values)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", endpoint)
    wf = example("multi-strategy.yaml")
    wf["metadata"]["namespace"] = scenario.wf_ns
    path = write(tmp_path / "wf.yaml", wf)
    code, out, err = gc_cli(
        capsys, "plan", "--workflow", str(path), "--kube", "--kubeconfig", str(kubeconfig), "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    # release-creds is not in the cluster: only the pod that mounts it is blocked.
    missing = [w for w in report["warnings"] if w["code"] == "secret-missing"]
    assert {w["pod"] for w in missing} == {"two-artgc-8tcvt-artgc-wfcomp-592587874"}
    assert "'release-creds'" in missing[0]["message"]
    assert "KUBESECRET" not in out + err


# --- bad input --------------------------------------------------------------------------------


def one_line_error(capsys, *argv: str) -> str:
    code, out, err = gc_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_missing_file(tmp_path: Path, capsys) -> None:
    err = one_line_error(capsys, "plan", "--workflow", str(tmp_path / "nope.yaml"))
    assert "no such file" in err


def test_not_a_workflow(tmp_path: Path, capsys) -> None:
    path = write(tmp_path / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    err = one_line_error(capsys, "plan", "--workflow", str(path))
    assert "expected exactly one Workflow" in err and "ConfigMap" in err


def test_malformed_yaml_names_file_and_line(tmp_path: Path, capsys) -> None:
    path = write(tmp_path / "wf.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nx: [\n")
    err = one_line_error(capsys, "plan", "--workflow", str(path))
    assert f"{path}:" in err and "invalid YAML" in err


@pytest.mark.parametrize(
    ("change", "field_name", "fix"),
    [
        (lambda wf: wf.pop("status"), "status", "kubectl get wf"),
        (lambda wf: wf["metadata"].pop("name"), "metadata.name", "kubectl get wf"),
        (lambda wf: wf["status"].update(nodes=["x"]), "status.nodes", "kubectl get wf"),
        (
            lambda wf: wf["status"]["nodes"]["dir-output-7hx2k"]["outputs"]["artifacts"][0].update(
                s3="not-a-location"
            ),
            "status.nodes.dir-output-7hx2k.outputs.artifacts[0]",
            "kubectl get wf",
        ),
    ],
    ids=["no-status", "no-name", "nodes-not-a-mapping", "bad-artifact"],
)
def test_missing_or_bad_field_is_a_typed_error(
    tmp_path: Path, capsys, change, field_name: str, fix: str
) -> None:
    wf = example("directory-key.yaml")
    change(wf)
    path = write(tmp_path / "wf.yaml", wf)
    for command in ("plan", "run"):
        err = one_line_error(capsys, command, "--workflow", str(path))
        assert f"{path}: {field_name} " in err and fix in err
    from conformance.gc_report import GCInputError

    with pytest.raises(GCInputError) as raised:
        load_inputs(read_workflow(str(path)), str(path), None)
    assert raised.value.field == field_name


def test_run_option_errors(capsys) -> None:
    wf = str(EXAMPLES / "directory-key.yaml")
    code, _, err = gc_cli(capsys, "run", "--workflow", wf, "--delete")
    assert code == 2 and "--delete needs --manifests DIR or --kube" in err
    code, _, err = gc_cli(capsys, "run", "--workflow", wf, "--out", "x.yaml")
    assert code == 2 and "--out needs --delete" in err


def test_help_explains_with_examples(capsys) -> None:
    for command in ("plan", "run"):
        with pytest.raises(SystemExit) as exited:
            main(["gc", command, "--help"])
        out = capsys.readouterr().out
        assert exited.value.code == 0
        assert out.startswith(f"usage: artconf gc {command} ")
        assert "examples:" in out and f"artconf gc {command} --workflow" in out
    assert "--out FILE writes the Workflow as Argo leaves it" in " ".join(out.split())


# --- gc run -----------------------------------------------------------------------------------


def test_dry_run_lists_what_would_go_and_touches_nothing(capsys) -> None:
    code, out, _ = gc_cli(
        capsys, "run", "--workflow", str(EXAMPLES / "multi-strategy.yaml"), "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["mode"] == "dry-run"
    assert {(i["pod"], i["artifact"]) for i in report["wouldDelete"]} == {
        ("two-artgc-8tcvt-artgc-wfcomp-592587874", "binary"),
        ("two-artgc-8tcvt-artgc-wfcomp-592587874", "release-notes"),
        ("two-artgc-8tcvt-artgc-wfcomp-3953780960", "build-log"),
    }
    code, out, _ = gc_cli(capsys, "run", "--workflow", str(EXAMPLES / "multi-strategy.yaml"))
    assert code == 0 and "dry run: 3 artifact(s) would be deleted now" in out
    assert "OnWorkflowDeletion is not ready (later): its 1 artifact(s) are not deleted now" in out


class _FakeDriver:
    """Deletes nothing, succeeds (or fails for one name)."""

    def __init__(self, fail: str = "") -> None:
        self.fail = fail
        self.deleted: list[str] = []

    def delete(self, artifact) -> None:
        if artifact.name == self.fail:
            raise RuntimeError("boom")
        self.deleted.append(artifact.get_key())


def test_a_blocked_pod_never_runs_and_keeps_the_finalizer() -> None:
    inputs = load_inputs(example("multi-strategy.yaml"), "multi-strategy.yaml", None)
    blocked = {"two-artgc-8tcvt-artgc-wfcomp-3953780960": ["Secret 'x' is missing"]}
    driver = _FakeDriver()
    outcome = gc_pass(inputs, lambda a: driver, blocked, sleep=lambda s: None)
    patch = outcome.passed.status_patch()
    assert list(patch["status"]["artifactGCStatus"]["podsRecouped"]) == [
        "two-artgc-8tcvt-artgc-wfcomp-592587874"
    ]
    assert patch["status"]["artifactGCStatus"]["strategiesProcessed"] == {gc.COMPLETION: True}
    assert gc.FINALIZER in patch["metadata"]["finalizers"]
    assert outcome.blocked == blocked and len(driver.deleted) == 2


def test_run_delete_with_a_missing_secret_fails_naming_each_artifact(capsys) -> None:
    code, out, err = gc_cli(
        capsys,
        "run",
        "--workflow",
        str(EXAMPLES / "http-artifact.yaml"),
        "--manifests",
        str(MANIFESTS),
        "--delete",
    )
    assert code == 1
    assert "pod fetch-report-q8z4w-artgc-wfcomp-2166136261: Pending: cannot start" in out
    for name in ("report", "upstream-copy", "main-logs"):
        assert f"fetch-report-q8z4w/{name} not deleted: cannot start: Secret 'http-creds'" in err
    assert "finalizer workflows.argoproj.io/artifact-gc: stays" in out


def test_run_delete_http_records_argos_error(tmp_path: Path, capsys) -> None:
    wf = example("http-artifact.yaml")
    node = wf["status"]["nodes"]["fetch-report-q8z4w"]
    node["outputs"]["artifacts"] = [
        a for a in node["outputs"]["artifacts"] if a["name"] == "upstream-copy"
    ]
    path = write(tmp_path / "wf.yaml", wf)
    # The pod mounts the repository's Secret too (its archive location), used or not.
    secrets = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": "team"},
            "stringData": values,
        }
        for name, values in (
            ("http-creds", {"username": "http-user", "password": "HTTPSECRET"}),
            ("team-s3-creds", {"accesskey": "a-key", "secretkey": "S3SECRET"}),
        )
    ]
    manifests = write(tmp_path / "m" / "secret.yaml", yaml.safe_dump_all(secrets)).parent
    code, out, err = gc_cli(
        capsys,
        "run",
        "--workflow",
        str(path),
        "--manifests",
        str(manifests),
        "--delete",
        "--json",
    )
    assert code == 1
    report = json.loads(out)
    (result,) = report["results"]
    assert result["result"] == "failed" and "delete not supported" in result["error"]
    (condition,) = report["statusPatch"]["status"]["conditions"]
    assert condition["type"] == "ArtifactGCError"
    assert condition["message"].endswith(
        "(artifactGCTask: fetch-report-q8z4w-artgc-wfcomp-2166136261-0)"
    )
    assert report["events"] and report["events"][0].startswith(
        "Artifact Garbage Collection failed for strategy OnWorkflowCompletion, err:delete not"
    )
    assert report["finalizer"] == {"added": False, "removed": False, "present": True}
    assert report["tasksKept"] == ["fetch-report-q8z4w-artgc-wfcomp-2166136261-0"]
    assert "upstream-copy not deleted: delete not supported" in err
    assert "HTTPSECRET" not in out + err and "S3SECRET" not in out + err


def test_run_delete_against_minio(artconf_server, tmp_path: Path, capsys) -> None:
    endpoint = artconf_server("minio")
    client = s3_client(endpoint)
    bucket = f"gc-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    base = "dir-output-7hx2k/dir-output-7hx2k/"
    objects = {
        "out/a.txt",  # the directory `out` (key without trailing slash)
        "out/sub/b.txt",
        "out-other/k.txt",  # a sibling sharing the prefix "out": strategy Never, must stay
        "out-slash/c.txt",  # the directory `out-slash/`
        "report.txt",
        "main.log",
    }
    for key in objects:
        client.put_object(Bucket=bucket, Key=base + key, Body=b"x")
    wf = example("directory-key.yaml")
    repository = wf["status"]["artifactRepositoryRef"]["artifactRepository"]["s3"]
    repository.update(endpoint=f"127.0.0.1:{endpoint.port}", bucket=bucket)
    path = write(tmp_path / "wf.yaml", wf)
    secret = endpoint.credentials["secret_key"]
    manifests = write(
        tmp_path / "m" / "secret.yaml",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "team-s3-creds", "namespace": "team"},
            "stringData": {"accesskey": endpoint.credentials["access_key"], "secretkey": secret},
        },
    ).parent
    after = tmp_path / "after.yaml"
    argv = ["run", "--workflow", str(path), "--manifests", str(manifests), "--delete"]
    code, out, err = gc_cli(capsys, *argv, "--json", "--out", str(after))
    assert code == 0, out + err
    assert secret not in out + err
    report = json.loads(out)
    assert {r["artifact"]: r["result"] for r in report["results"]} == {
        "out": "deleted",
        "out-slash": "deleted",
        "report": "deleted",
        "main-logs": "deleted",
    }
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert {o["Key"] for o in listed} == {base + "out-other/k.txt"}
    patch = report["statusPatch"]
    flags = {
        a["name"]: a["deleted"]
        for a in patch["status"]["nodes"]["dir-output-7hx2k"]["outputs"]["artifacts"]
    }
    assert flags == {
        "out": True,
        "out-slash": True,
        "report": True,
        "keep": False,
        "main-logs": True,
    }
    assert patch["status"]["artifactGCStatus"]["strategiesProcessed"] == {gc.COMPLETION: True}
    assert patch["status"]["artifactGCStatus"]["podsRecouped"] == {
        "dir-output-7hx2k-artgc-wfcomp-2166136261": True
    }
    assert patch["metadata"]["finalizers"] == [] and report["finalizer"]["removed"]
    assert report["tasksKept"] == [] and report["events"] == []
    # The Workflow as Argo leaves it: fed back, nothing is left to collect.
    code, out, err = gc_cli(capsys, "run", "--workflow", str(after), *argv[3:])
    assert code == 0, out + err
    assert "nothing left to collect now" in out
    assert "nothing-to-collect" in out
    assert {o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]} == {
        base + "out-other/k.txt"
    }


def test_text_of_a_deletion_shows_results_patch_and_finalizer(
    artconf_server, tmp_path: Path, capsys
) -> None:
    endpoint = artconf_server("minio")
    client = s3_client(endpoint)
    bucket = f"gc-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    wf = copy.deepcopy(example("directory-key.yaml"))
    repository = wf["status"]["artifactRepositoryRef"]["artifactRepository"]["s3"]
    repository.update(endpoint=f"127.0.0.1:{endpoint.port}", bucket=bucket)
    path = write(tmp_path / "wf.yaml", wf)
    manifests = write(
        tmp_path / "m" / "secret.yaml",
        textwrap.dedent(
            f"""\
            apiVersion: v1
            kind: Secret
            metadata: {{name: team-s3-creds, namespace: team}}
            stringData:
              accesskey: {endpoint.credentials["access_key"]}
              secretkey: {endpoint.credentials["secret_key"]}
            """
        ),
    ).parent
    code, out, err = gc_cli(
        capsys, "run", "--workflow", str(path), "--manifests", str(manifests), "--delete"
    )
    assert code == 0, out + err
    assert "pod dir-output-7hx2k-artgc-wfcomp-2166136261: Succeeded" in out
    assert "deleted dir-output-7hx2k/out  s3 " in out
    assert "finalizer workflows.argoproj.io/artifact-gc: removed" in out
    assert "status patch Argo would record:" in out and '"deleted": true' in out
    assert endpoint.credentials["secret_key"] not in out + err


def test_cited_deviations_exist() -> None:
    import re

    from drivers.core.deviations import deviations

    source = (ROOT / "conformance" / "gc_report.py").read_text()
    cited = set(re.findall(r'deviation="([a-z0-9-]+)"', source))
    cited |= set(re.findall(r'"([a-z0-9-]+)" if kind == "gcs"', source))
    assert cited >= {"s3-directory-delete-without-trailing-slash", "gcs-delete-missing-idempotent"}
    assert cited <= {d.id for d in deviations()}
    docs = (ROOT / "docs" / "gc.md").read_text()
    assert set(re.findall(r"deviation `([a-z0-9-]+)`", docs)) <= {d.id for d in deviations()}
