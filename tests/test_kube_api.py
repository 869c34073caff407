"""The local Kubernetes API stand-in (emulators/kube_api.py), driven by the official client.

The server runs as a real process through the fleet (`artconf_server("kube")`); the
`kubernetes` client talks to it with a bearer token, over plain HTTP and over TLS.
"""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client as k8s

from conformance.sources import local_scenario
from drivers.controller.kube import KubeApiSource, KubeError, load_controller_config
from drivers.controller.kube.api import configuration_for
from drivers.controller.resolution import RepositoryRef, ResolutionError, Resolver, resolve_workflow
from drivers.core.errors import Code
from emulators.kube import admin

BAR = "s3:\n  keyFormat: bar\n"


@pytest.fixture(params=["kube", "kube-tls"])
def endpoint(request: pytest.FixtureRequest, artconf_server):
    return artconf_server(request.param)


def api(endpoint, token: str | None = None) -> KubeApiSource:
    return KubeApiSource.for_server(
        endpoint.url, token or endpoint.credentials["secret_key"], endpoint.ca_bundle
    )


def ns() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def test_config_maps_crud_with_status_errors(endpoint) -> None:
    source, namespace = api(endpoint), ns()
    body = {"metadata": {"name": "cm"}, "data": {"k": "v"}}
    created = source.core.create_namespaced_config_map(namespace, body)
    assert created.metadata.resource_version
    with pytest.raises(k8s.ApiException) as caught:
        source.core.create_namespaced_config_map(namespace, body)
    assert caught.value.status == 409 and '"AlreadyExists"' in caught.value.body
    listed = source.core.list_namespaced_config_map(namespace)
    assert [i.metadata.name for i in listed.items] == ["cm"]
    current = source.core.read_namespaced_config_map("cm", namespace)
    current.data = {"k": "w"}
    source.core.replace_namespaced_config_map("cm", namespace, current)
    stale = {"metadata": {"name": "cm", "resourceVersion": created.metadata.resource_version}}
    with pytest.raises(k8s.ApiException) as caught:
        source.core.replace_namespaced_config_map("cm", namespace, stale)
    assert caught.value.status == 409 and "Operation cannot be fulfilled" in caught.value.body
    assert source.get_config_map(namespace, "cm")["data"] == {"k": "w"}
    source.core.delete_namespaced_config_map("cm", namespace)
    with pytest.raises(KubeError) as missing:
        source.get_config_map(namespace, "cm")
    assert missing.value.not_found and str(missing.value) == 'configmaps "cm" not found'


def test_secrets_string_data_is_stored_as_data(endpoint) -> None:
    source, namespace = api(endpoint), ns()
    source.core.create_namespaced_secret(
        namespace, {"metadata": {"name": "s"}, "stringData": {"token": "abc"}}
    )
    assert source.get_secret(namespace, "s")["data"] == {"token": b"abc"}
    assert [s.metadata.name for s in source.core.list_namespaced_secret(namespace).items] == ["s"]


def test_workflow_templates(endpoint) -> None:
    source, namespace = api(endpoint), ns()
    name = f"cwft-{uuid.uuid4().hex[:6]}"
    wft = {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate"}
    source.custom.create_namespaced_custom_object(
        "argoproj.io", "v1alpha1", namespace, "workflowtemplates",
        {**wft, "metadata": {"name": "t"}, "spec": {"entrypoint": "main"}},
    )  # fmt: skip
    source.custom.create_cluster_custom_object(
        "argoproj.io", "v1alpha1", "clusterworkflowtemplates",
        {**wft, "kind": "ClusterWorkflowTemplate", "metadata": {"name": name}, "spec": {}},
    )  # fmt: skip
    assert source.get_workflow_template(namespace, "t")["spec"] == {"entrypoint": "main"}
    assert source.get_cluster_workflow_template(name)["metadata"]["name"] == name
    listed = source.custom.list_namespaced_custom_object(
        "argoproj.io", "v1alpha1", namespace, "workflowtemplates"
    )
    assert [i["metadata"]["name"] for i in listed["items"]] == ["t"]


def test_wrong_token_is_401(endpoint) -> None:
    with pytest.raises(KubeError) as caught:
        api(endpoint, token="wrong").get_config_map("default", "x")
    assert (caught.value.status, caught.value.reason) == (401, "Unauthorized")
    assert not caught.value.transient


def test_tls_needs_the_ca(artconf_server, tmp_path) -> None:
    from emulators.tls import make_tls_material

    endpoint = artconf_server("kube-tls")
    other = make_tls_material(tmp_path / "other")
    source = KubeApiSource(
        configuration_for(endpoint.url, endpoint.credentials["secret_key"], str(other.ca_cert))
    )
    with pytest.raises(KubeError) as caught:
        source.get_config_map("default", "x")
    assert "certificate verify failed" in str(caught.value).lower()
    assert not caught.value.transient


def test_forbidden_takes_the_abort_path_not_the_fall_through(artconf_server) -> None:
    """A 403 on the workflow namespace's ConfigMap aborts, though C holds the key."""
    scenario = local_scenario(artconf_server("kube"))
    scenario.config_map(scenario.ctrl_ns, "artifact-repositories", {"my-key": BAR})
    scenario.forbid("configmaps", scenario.wf_ns, "artifact-repositories")
    resolver = Resolver(scenario.source(), scenario.ctrl_ns, sleep=[].append)
    with pytest.raises(ResolutionError) as caught:
        resolver.resolve(RepositoryRef(key="my-key"), scenario.wf_ns)
    assert caught.value.code is Code.FORBIDDEN
    assert str(caught.value).startswith(
        f'error getting config map for artifact repository ref "{scenario.wf_ns}/#my-key": '
        'configmaps "artifact-repositories" is forbidden: User '
    )
    assert [d.outcome for d in caught.value.decisions] == ["aborted"]
    assert caught.value.decisions[0].attempts == 1  # Forbidden is not transient: no retry


def test_unavailable_is_retried_then_resolves(artconf_server) -> None:
    endpoint = artconf_server("kube")
    scenario = local_scenario(endpoint)
    scenario.config_map(scenario.wf_ns, "artifact-repositories", {"my-key": BAR})
    scenario.unavailable(2, scenario.wf_ns)
    before = admin(endpoint, "requests")["requests"]
    sleeps: list[float] = []
    result = Resolver(scenario.source(), scenario.ctrl_ns, sleep=sleeps.append).resolve(
        RepositoryRef(key="my-key"), scenario.wf_ns
    )
    assert result.decisions[0].attempts == 3 and len(sleeps) == 2
    assert admin(endpoint, "requests")["requests"] - before >= 3


def test_workflow_through_the_api_with_controller_config(artconf_server) -> None:
    scenario = local_scenario(artconf_server("kube"))
    scenario.controller(artifact_repository={"s3": {"keyFormat": "foo"}}, form="keys")
    wf = {"kind": "Workflow", "metadata": {"name": "w", "namespace": scenario.wf_ns}, "spec": {}}
    config = load_controller_config(scenario.source(), scenario.ctrl_ns)
    result = resolve_workflow(wf, scenario.source(), config, sleep=[].append)
    assert result.status.default and result.repository.s3.key_format == "foo"
