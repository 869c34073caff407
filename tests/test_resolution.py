"""drivers.controller.resolution and drivers.controller.kube: Argo's algorithm, traces,
sources and their errors.

These run on an in-memory source and on manifests; the API server path is in test_kube_api.py
and the suite (conformance/suites/test_resolution.py) runs both through the matrix.
"""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path
from typing import Any

import pytest

from drivers.controller.kube import (
    ControllerConfig,
    KubeError,
    KubeSecretSource,
    ManifestError,
    ManifestSource,
    load_controller_config,
    parse_controller_config,
)
from drivers.controller.kube.base import not_found
from drivers.controller.resolution import (
    DEFAULT_REPOSITORY_ANNOTATION,
    RefStatus,
    RepositoryRef,
    ResolutionError,
    Resolver,
    effective_ref,
    parse_repository_value,
    resolve_workflow,
    sample_pod,
)
from drivers.core.errors import BadRequest, Code
from drivers.core.model import ArtifactRepository, parse_repository

W, C = "my-wf-ns", "my-ctrl-ns"
DEFAULT = parse_repository({"s3": {"keyFormat": "foo"}})
BAR = "s3:\n  keyFormat: bar\n"


class MemorySource:
    """ConfigMaps in memory; ``errors``: (namespace, name) -> errors to raise first."""

    def __init__(self) -> None:
        self.config_maps: dict[tuple[str, str], dict[str, Any]] = {}
        self.errors: dict[tuple[str, str], list[KubeError]] = {}
        self.calls: list[tuple[str, str]] = []

    def add(
        self,
        ns: str,
        data: dict[str, str],
        annotation: str | None = None,
        name: str = "artifact-repositories",
    ) -> None:
        meta: dict[str, Any] = {"name": name, "namespace": ns}
        if annotation is not None:
            meta["annotations"] = {DEFAULT_REPOSITORY_ANNOTATION: annotation}
        self.config_maps[(ns, name)] = {"metadata": meta, "data": data}

    def get_config_map(self, namespace: str, name: str) -> dict[str, Any]:
        self.calls.append((namespace, name))
        pending = self.errors.get((namespace, name))
        if pending:
            raise pending.pop(0)
        if (namespace, name) not in self.config_maps:
            raise not_found("configmaps", name)
        return self.config_maps[(namespace, name)]

    def get_secret(self, namespace: str, name: str) -> dict[str, Any]:
        raise not_found("secrets", name)

    def get_workflow_template(self, namespace: str, name: str) -> dict[str, Any]:
        raise not_found("workflowtemplates.argoproj.io", name)

    def get_cluster_workflow_template(self, name: str) -> dict[str, Any]:
        raise not_found("clusterworkflowtemplates.argoproj.io", name)

    def describe(self) -> str:
        return "memory"


@pytest.fixture
def source() -> MemorySource:
    return MemorySource()


def resolver(source: MemorySource, sleeps: list[float] | None = None) -> Resolver:
    return Resolver(source, C, DEFAULT, sleep=(sleeps if sleeps is not None else []).append)


# --- Argo's TestArtifactRepositories, on memory -----------------------------------------------


def test_explicit_workflow_namespace(source: MemorySource) -> None:
    source.add(W, {"my-key": BAR})
    result = resolver(source).resolve(RepositoryRef(key="my-key"), W)
    assert str(result.status) == f"{W}/artifact-repositories#my-key"
    assert result.repository == parse_repository(BAR)
    assert [d.outcome for d in result.decisions] == ["chosen", "not-tried"]


def test_explicit_controller_namespace_and_trace(source: MemorySource) -> None:
    source.add(C, {"my-key": BAR})
    result = resolver(source).resolve(RepositoryRef(key="my-key"), W)
    assert result.status.namespace == C
    skipped, chosen = result.decisions
    assert (skipped.outcome, skipped.candidate) == ("skipped", f"{W}/#my-key")
    assert "not found" in skipped.reason
    assert (chosen.outcome, chosen.candidate) == ("chosen", f"{C}/#my-key")
    assert "ConfigMap my-ctrl-ns/artifact-repositories key 'my-key'" in chosen.reason


def test_explicit_ref_not_found_is_an_error(source: MemorySource) -> None:
    with pytest.raises(ResolutionError) as caught:
        resolver(source).resolve(RepositoryRef(), W)
    assert (
        str(caught.value)
        == 'failed to find any artifact repository for artifact repository ref "#"'
    )
    assert caught.value.code is Code.NOT_FOUND


def test_namespace_default_copies_the_annotation(source: MemorySource) -> None:
    source.add(W, {"default-v1": BAR}, annotation="default-v1")
    status = resolver(source).resolve(None, W).status
    assert (status.namespace, status.config_map, status.key, status.default) == (
        W,
        "artifact-repositories",
        "default-v1",
        False,
    )


@pytest.mark.parametrize("with_config_map", [False, True])
def test_default(source: MemorySource, with_config_map: bool) -> None:
    if with_config_map:
        source.add(W, {})
    result = resolver(source).resolve(None, W)
    assert result.status == RefStatus(default=True, artifact_repository=DEFAULT)
    assert result.status.to_dict() == {
        "default": True,
        "artifactRepository": {"s3": {"keyFormat": "foo"}},
    }
    assert (C, "artifact-repositories") not in source.calls  # never consulted without a ref


# --- aborts, retries, parse rules --------------------------------------------------------------


def test_forbidden_aborts_without_trying_the_next_candidate(source: MemorySource) -> None:
    source.add(C, {"my-key": BAR})
    source.errors[(W, "artifact-repositories")] = [
        KubeError(
            'configmaps "artifact-repositories" is forbidden: no', status=403, reason="Forbidden"
        )
    ]
    with pytest.raises(ResolutionError) as caught:
        resolver(source).resolve(RepositoryRef(key="my-key"), W)
    assert str(caught.value) == (
        f'error getting config map for artifact repository ref "{W}/#my-key": '
        'configmaps "artifact-repositories" is forbidden: no'
    )
    assert caught.value.code is Code.FORBIDDEN
    assert source.calls == [(W, "artifact-repositories")]


def test_unauthorized_and_other_api_errors_abort(source: MemorySource) -> None:
    source.errors[(W, "artifact-repositories")] = [
        KubeError("Unauthorized", status=401, reason="Unauthorized")
    ]
    with pytest.raises(ResolutionError) as caught:
        resolver(source).resolve(None, W)
    assert caught.value.code is Code.UNAUTHORIZED
    source.errors[(W, "artifact-repositories")] = [
        KubeError("boom", status=500, reason="InternalError")
    ]
    with pytest.raises(ResolutionError, match=r": boom$"):
        resolver(source).resolve(None, W)


def test_transient_error_is_retried_with_default_retry(source: MemorySource) -> None:
    source.add(W, {"k": BAR})
    unavailable = KubeError("the server is currently unable to handle the request", status=503)
    source.errors[(W, "artifact-repositories")] = [unavailable, unavailable]
    sleeps: list[float] = []
    result = resolver(source, sleeps).resolve(RepositoryRef(key="k"), W)
    assert result.decisions[0].attempts == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0]


def test_transient_error_past_the_retries_aborts(source: MemorySource) -> None:
    source.add(W, {"k": BAR})
    source.errors[(W, "artifact-repositories")] = [KubeError("x", status=503) for _ in range(5)]
    sleeps: list[float] = []
    with pytest.raises(ResolutionError) as caught:
        resolver(source, sleeps).resolve(RepositoryRef(key="k"), W)
    assert str(caught.value) == (
        f'error getting config map for artifact repository ref "{W}/#k": '
        "timed out waiting for the condition: x"
    )
    assert len(sleeps) == 4


def test_parse_error_aborts_with_argo_prefix(source: MemorySource) -> None:
    source.add(W, {"k": "s3: [\n"})
    with pytest.raises(ResolutionError) as caught:
        resolver(source).resolve(RepositoryRef(key="k"), W)
    assert str(caught.value).startswith(
        f'error getting config map for artifact repository ref "{W}/#k": failed to unmarshall '
        f'config map key "k" for artifact repository ref "{W}/#k": '
        "artifactRepository: invalid YAML at line"
    )
    assert caught.value.code is Code.BAD_REQUEST


def test_unknown_repository_field_is_reported(source: MemorySource) -> None:
    source.add(W, {"k": "s3:\n  bukcet: b\n"})
    with pytest.raises(ResolutionError, match=r"s3\.bukcet: unknown field"):
        resolver(source).resolve(RepositoryRef(key="k"), W)


@pytest.mark.parametrize("value", ["", "  \n", "# nothing\n", "null"])
def test_empty_value_is_an_empty_repository(value: str) -> None:
    assert parse_repository_value(value) == ArtifactRepository()


def test_get_returns_a_frozen_repository_and_rereads_an_old_status(source: MemorySource) -> None:
    frozen = RefStatus(W, "artifact-repositories", "k", False, DEFAULT)
    assert resolver(source).get(frozen).repository == DEFAULT
    assert source.calls == []
    source.add(W, {"k": BAR})
    again = resolver(source).get(RefStatus(W, "artifact-repositories", "k"))
    assert again.repository == parse_repository(BAR)
    assert again.decisions[0].outcome == "re-read"


def test_status_strings_and_parsing() -> None:
    assert str(RefStatus(default=True)) == "default-artifact-repository"
    assert str(RefStatus("ns", "cm", "k")) == "ns/cm#k"
    assert str(RepositoryRef()) == "#"
    data = {"namespace": "ns", "configMap": "cm", "key": "k", "artifactRepository": {}}
    assert RefStatus.parse(data).to_dict() == data
    with pytest.raises(BadRequest, match="unknown field"):
        RefStatus.parse({"namespce": "x"})


# --- ref merge ----------------------------------------------------------------------------------


def test_effective_ref_merges_field_by_field() -> None:
    ref, origin = effective_ref(
        [
            ("Workflow", {"artifactRepositoryRef": {"key": "wf"}}),
            ("WorkflowTemplate t", {"artifactRepositoryRef": {"configMap": "t", "key": "t"}}),
            ("defaults", {"artifactRepositoryRef": {"configMap": "d"}}),
        ]
    )
    assert ref == RepositoryRef("t", "wf")
    assert origin == {"ref": "Workflow", "key": "Workflow", "configMap": "WorkflowTemplate t"}
    assert effective_ref([("Workflow", {"artifactRepositoryRef": {}})])[0] == RepositoryRef()
    assert effective_ref([("Workflow", {}), ("defaults", None)])[0] is None
    with pytest.raises(BadRequest, match="unknown field"):
        effective_ref([("Workflow", {"artifactRepositoryRef": {"confgMap": "x"}})])


# --- manifests -----------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_manifests_multi_document_list_and_secrets(tmp_path: Path) -> None:
    write(
        tmp_path / "a.yaml",
        """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: one}
        data: {k: v}
        ---
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Secret
          metadata: {name: s, namespace: other}
          data: {a: ALPHA, b: BETA}
          stringData: {b: plain}
        - apiVersion: apps/v1
          kind: Deployment
          metadata: {name: ignored}
        """.replace("ALPHA", base64.b64encode(b"alpha").decode()).replace(
            "BETA", base64.b64encode(b"beta").decode()
        ),
    )
    source = ManifestSource(tmp_path, namespace="team")
    assert source.get_config_map("team", "one")["data"] == {"k": "v"}  # no namespace: --namespace
    secret = source.get_secret("other", "s")
    assert secret["data"] == {"a": b"alpha", "b": b"plain"}  # stringData wins
    assert any("Deployment" in note for note in source.notes)
    with pytest.raises(KubeError) as caught:
        source.get_config_map("default", "one")
    assert caught.value.not_found


def test_manifests_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\ndata: {}\n"
    )
    with pytest.raises(ManifestError) as caught:
        ManifestSource(tmp_path)
    assert str(bad) in str(caught.value) and "line 4" in str(caught.value)


def test_manifests_unknown_field_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndat: {k: v}\n"
    )
    with pytest.raises(ManifestError, match=r"cm\.yaml.*unknown field\(s\) dat"):
        ManifestSource(tmp_path)
    write(tmp_path / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, labls: {}}\n")
    with pytest.raises(ManifestError, match="unknown metadata field"):
        ManifestSource(tmp_path)
    write(
        tmp_path / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {k: 1}\n"
    )
    with pytest.raises(ManifestError, match="must be strings"):
        ManifestSource(tmp_path)


def test_missing_referenced_secret_names_secret_and_key(tmp_path: Path) -> None:
    write(
        tmp_path / "s.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: team}\n"
        "stringData: {accessKey: a}\n",
    )
    secrets = KubeSecretSource(ManifestSource(tmp_path), "team")
    assert secrets.get("creds", "accessKey") == "a"
    with pytest.raises(BadRequest) as caught:
        secrets.get("creds", "secretKey")
    assert "'creds'" in str(caught.value) and "'secretKey'" in str(caught.value)
    with pytest.raises(BadRequest) as caught:
        secrets.get("gone", "accessKey")
    assert "'gone'" in str(caught.value) and "'accessKey'" in str(caught.value)
    assert "team" in str(caught.value)


# --- controller configuration -----------------------------------------------------------------


def test_controller_config_both_forms() -> None:
    one = parse_controller_config({"data": {"config": "artifactRepository:\n  s3: {bucket: b}\n"}})
    per_key = parse_controller_config(
        {"data": {"artifactRepository": "s3:\n  bucket: b\n", "parallelism": "3"}}
    )
    assert one.artifact_repository == per_key.artifact_repository
    assert (one.form, per_key.form) == ("config", "keys")
    with pytest.raises(BadRequest, match="you must only have one item"):
        parse_controller_config({"data": {"config": "{}", "parallelism": "3"}})


def test_controller_config_unknown_setting_warns_and_bad_repository_fails() -> None:
    config = parse_controller_config({"data": {"config": "artifactRepositry: {}\n"}})
    assert any("artifactRepositry" in w for w in config.warnings)
    with pytest.raises(BadRequest, match="key artifactRepository: invalid YAML at line 3"):
        parse_controller_config({"data": {"artifactRepository": "s3:\n  bucket: [\n"}})


def test_missing_controller_config_is_an_empty_default(source: MemorySource) -> None:
    config = load_controller_config(source, "argo")
    assert isinstance(config, ControllerConfig) and not config.found
    assert config.artifact_repository == ArtifactRepository()
    result = resolve_workflow(
        {"kind": "Workflow", "metadata": {"name": "w"}, "spec": {}}, source, config
    )
    assert result.status.to_dict() == {"default": True, "artifactRepository": {}}
    assert "which is empty" in result.decisions[-1].reason


# --- sample pods ---------------------------------------------------------------------------------


def test_sample_pod_names() -> None:
    single = {
        "metadata": {"name": "wf"},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {}}]},
    }
    assert sample_pod(single).pod_name == "wf"
    steps = {
        "metadata": {"generateName": "hello-"},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {"name": "main", "steps": [[{"name": "a", "template": "echo"}]]},
                {"name": "echo", "container": {}},
            ],
        },
    }
    pod = sample_pod(steps)
    assert pod.workflow_name == "hello-xxxxx"
    assert pod.pod_name.startswith("hello-xxxxx-echo-")
    assert any("generateName" in note for note in pod.notes)
