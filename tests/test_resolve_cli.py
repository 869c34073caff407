"""`artconf resolve`: explanations, JSON, errors, `--kube` through a kubeconfig, and `--check`."""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest
import yaml

from conformance.cli import main
from conformance.sources import local_scenario
from emulators.tls import make_tls_material
from tests.servers import s3_client, write_kubeconfig

CONTROLLER = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: workflow-controller-configmap, namespace: argo}
data:
  config: |
    artifactRepository:
      s3: {keyFormat: "{{workflow.name}}/default"}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def workflow(tmp_path: Path, ref: str = "", name: str = "name: my-wf") -> Path:
    return write(
        tmp_path / "wf.yaml",
        f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {{{name}, namespace: team}}
        spec:
          entrypoint: main
          {ref}
          templates:
          - name: main
            container: {{image: alpine}}
        """,
    )


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["resolve", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_explains_every_decision(tmp_path: Path, capsys) -> None:
    manifests = tmp_path / "m"
    write(manifests / "controller.yaml", CONTROLLER)
    write(
        manifests / "repos.yaml",
        """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: artifact-repositories
          namespace: team
          annotations: {workflows.argoproj.io/default-artifact-repository: gone}
        data: {other: "s3: {bucket: b}"}
        """,
    )
    code, out, _ = run(capsys, "--manifests", str(manifests), "--workflow", str(workflow(tmp_path)))
    assert code == 0
    assert '1. skipped    team/#: config map missing key "gone"' in out
    assert "annotation's key 'gone'" in out
    assert "2. chosen     default-artifact-repository: the controller default" in out
    assert "argo/artifact-repositories is not consulted" in out
    assert "archive key: s3 my-wf/default" in out
    assert "[pod my-wf (template 'main'" in out


def test_json_has_the_status_and_candidates(tmp_path: Path, capsys) -> None:
    manifests = tmp_path / "m"
    write(manifests / "controller.yaml", CONTROLLER)
    write(
        manifests / "repos.yaml",
        """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: artifact-repositories, namespace: argo}
        data:
          my-key: |
            oss: {bucket: b, endpoint: e, securityToken: TOPSECRETTOKEN, keyFormat: k}
        """,
    )
    wf = workflow(tmp_path, ref="artifactRepositoryRef: {key: my-key}")
    code, out, _ = run(capsys, "--manifests", str(manifests), "--workflow", str(wf), "-o", "json")
    assert code == 0
    report = json.loads(out)
    assert report["artifactRepositoryRef"]["namespace"] == "argo"
    assert report["artifactRepositoryRef"]["key"] == "my-key"
    assert report["artifactRepositoryRef"]["artifactRepository"]["oss"]["securityToken"] == (
        "<redacted>"
    )
    assert [c["outcome"] for c in report["candidates"]] == ["skipped", "chosen"]
    assert "TOPSECRETTOKEN" not in out


def test_resolution_error_exits_non_zero_with_argo_text(tmp_path: Path, capsys) -> None:
    manifests = tmp_path / "m"
    write(manifests / "controller.yaml", CONTROLLER)
    wf = workflow(tmp_path, ref="artifactRepositoryRef: {}")
    code, out, err = run(capsys, "--manifests", str(manifests), "--workflow", str(wf))
    assert code == 3
    assert 'failed to find any artifact repository for artifact repository ref "#"' in err
    assert "skipped    team/#" in out and "skipped    argo/#" in out
    code, out, _ = run(capsys, "--manifests", str(manifests), "--workflow", str(wf), "-o", "json")
    assert code == 3 and json.loads(out)["error"].startswith("failed to find any")


def test_bad_yaml_names_the_file_and_line(tmp_path: Path, capsys) -> None:
    manifests = tmp_path / "m"
    bad = write(manifests / "broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: [x\n")
    code, _, err = run(capsys, "--manifests", str(manifests), "--workflow", str(workflow(tmp_path)))
    assert code == 2
    assert f"{bad}:" in err and "line 4" in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_field_is_reported(tmp_path: Path, capsys) -> None:
    manifests = tmp_path / "m"
    write(manifests / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndat: {}\n")
    code, _, err = run(capsys, "--manifests", str(manifests), "--workflow", str(workflow(tmp_path)))
    assert code == 2 and "unknown field(s) dat" in err
    write(manifests / "cm.yaml", CONTROLLER)
    wf = workflow(tmp_path, ref="artifactRepositoryRef: {keys: x}")
    code, _, err = run(capsys, "--manifests", str(manifests), "--workflow", str(wf))
    assert code == 2 and "unknown field(s) keys" in err


def test_kube_through_a_kubeconfig(artconf_server, tmp_path: Path, capsys) -> None:
    endpoint = artconf_server("kube-tls")
    scenario = local_scenario(endpoint)
    scenario.config_map(scenario.wf_ns, "artifact-repositories", {"k": "gcs: {bucket: b}"})
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", endpoint)
    wf = workflow(tmp_path, ref="artifactRepositoryRef: {key: k}")
    wf.write_text(wf.read_text().replace("namespace: team", f"namespace: {scenario.wf_ns}"))
    code, out, _ = run(
        capsys,
        "--kube",
        "--kubeconfig",
        str(kubeconfig),
        "--namespace",
        scenario.wf_ns,
        "--controller-namespace",
        scenario.ctrl_ns,
        "--workflow",
        str(wf),
    )
    assert code == 0, out
    assert f"1. chosen     {scenario.wf_ns}/#k" in out
    assert endpoint.credentials["secret_key"] not in out


# --- --check against MinIO ------------------------------------------------------------------


def check_setup(
    tmp_path: Path, endpoint, *, secret_key: str, ca: str | None, secret_name: str = "minio-creds"
) -> tuple[Path, Path]:
    bucket = f"resolve-{uuid.uuid4().hex[:10]}"
    s3_client(endpoint).create_bucket(Bucket=bucket)
    s3 = {
        "endpoint": f"127.0.0.1:{endpoint.port}",
        "bucket": bucket,
        "accessKeySecret": {"name": "minio-creds", "key": "accessKey"},
        "secretKeySecret": {"name": "minio-creds", "key": "secretKey"},
    }
    values = {"accessKey": endpoint.credentials["access_key"], "secretKey": secret_key}
    if ca is None:
        s3["insecure"] = True
    else:
        s3["caSecret"] = {"name": "minio-creds", "key": "ca.crt"}
        values["ca.crt"] = ca
    manifests = tmp_path / "m"
    controller = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "workflow-controller-configmap", "namespace": "argo"},
        "data": {"artifactRepository": yaml.safe_dump({"s3": s3})},
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name, "namespace": "team"},
        "stringData": values,
    }
    write(manifests / "all.yaml", yaml.safe_dump_all([controller, secret]))
    return manifests, workflow(tmp_path)


def test_check_passes_and_never_prints_the_secret(artconf_server, tmp_path: Path, capsys) -> None:
    endpoint = artconf_server("minio")
    secret = endpoint.credentials["secret_key"]
    manifests, wf = check_setup(tmp_path, endpoint, secret_key=secret, ca=None)
    code, out, err = run(capsys, "--manifests", str(manifests), "--workflow", str(wf), "--check")
    assert code == 0, out + err
    assert "check list: ok" in out and "check delete: ok" in out and "check: OK" in out
    assert secret not in out + err


def test_check_wrong_secret_is_an_auth_failure(artconf_server, tmp_path: Path, capsys) -> None:
    endpoint = artconf_server("minio")
    wrong = "not-the-secret-" + uuid.uuid4().hex
    manifests, wf = check_setup(tmp_path, endpoint, secret_key=wrong, ca=None)
    code, out, err = run(
        capsys, "--manifests", str(manifests), "--workflow", str(wf), "--check", "-o", "json"
    )
    assert code != 0
    check = json.loads(out)["check"]
    assert (check["ok"], check["category"], check["step"]) == (False, "auth", "list")
    assert wrong not in out + err


def test_check_wrong_ca_is_a_tls_failure(artconf_server, tmp_path: Path, capsys) -> None:
    endpoint = artconf_server("minio-tls")
    other_ca = make_tls_material(tmp_path / "other-ca").ca_cert.read_text()
    manifests, wf = check_setup(
        tmp_path, endpoint, secret_key=endpoint.credentials["secret_key"], ca=other_ca
    )
    code, out, _ = run(capsys, "--manifests", str(manifests), "--workflow", str(wf), "--check")
    assert code != 0
    assert "check: FAILED (tls)" in out


def test_check_missing_secret_names_secret_and_key(artconf_server, tmp_path: Path, capsys) -> None:
    endpoint = artconf_server("minio")
    manifests, wf = check_setup(
        tmp_path, endpoint, secret_key="x", ca=None, secret_name="other-creds"
    )
    code, out, _ = run(
        capsys, "--manifests", str(manifests), "--workflow", str(wf), "--check", "-o", "json"
    )
    check = json.loads(out)["check"]
    assert code != 0 and check["category"] == "configuration"
    assert "'minio-creds'" in check["error"] and "'accessKey'" in check["error"]


@pytest.mark.parametrize("output", ["text", "json"])
def test_generate_name_gives_a_labelled_sample(tmp_path: Path, capsys, output: str) -> None:
    manifests = tmp_path / "m"
    write(manifests / "controller.yaml", CONTROLLER)
    wf = workflow(tmp_path, name="generateName: hello-")
    code, out, _ = run(capsys, "--manifests", str(manifests), "--workflow", str(wf), "-o", output)
    assert code == 0
    assert "hello-xxxxx/default" in out and "generateName" in out


# --- --check of an Artifactory repository, against nginx -----------------------------------


def artifactory_setup(tmp_path: Path, endpoint, *, password: str) -> tuple[Path, Path]:
    repository = {
        "artifactory": {
            "repoURL": f"{endpoint.url}/dav/resolve-{uuid.uuid4().hex[:10]}",
            "usernameSecret": {"name": "artifactory-creds", "key": "username"},
            "passwordSecret": {"name": "artifactory-creds", "key": "password"},
        }
    }
    controller = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "workflow-controller-configmap", "namespace": "argo"},
        "data": {"artifactRepository": yaml.safe_dump(repository)},
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "artifactory-creds", "namespace": "team"},
        "stringData": {"username": endpoint.credentials["user"], "password": password},
    }
    manifests = tmp_path / "m"
    write(manifests / "all.yaml", yaml.safe_dump_all([controller, secret]))
    return manifests, workflow(tmp_path)


def test_check_of_artifactory_reads_and_writes_nothing(artconf_server, tmp_path, capsys) -> None:
    endpoint = artconf_server("nginx")
    password = endpoint.credentials["password"]
    manifests, wf = artifactory_setup(tmp_path, endpoint, password=password)
    code, out, err = run(capsys, "--manifests", str(manifests), "--workflow", str(wf), "--check")
    assert code == 0, out + err
    assert "check read: ok (404 for a key that does not exist" in out and "check: OK" in out
    assert "check write: skipped" in out
    assert password not in out + err


def test_check_of_artifactory_with_a_wrong_password_is_auth(artconf_server, tmp_path, capsys):
    endpoint = artconf_server("nginx")
    manifests, wf = artifactory_setup(tmp_path, endpoint, password="not-" + uuid.uuid4().hex)
    code, out, _ = run(
        capsys, "--manifests", str(manifests), "--workflow", str(wf), "--check", "-o", "json"
    )
    check = json.loads(out)["check"]
    assert (check["ok"], check["category"], check["step"]) == (False, "auth", "read")
    assert code != 0
