"""Where a resolution case's Kubernetes objects live: the local API stand-in, a real cluster, or
a directory of manifests. A :class:`Scenario` seeds ConfigMaps, Secrets, (Cluster)WorkflowTemplates
and the controller ConfigMap, injects faults where the source can, and hands the resolver an
:class:`~drivers.controller.kube.base.ObjectSource` over what it seeded.

    scenario.config_map(scenario.wf_ns, "artifact-repositories", {"my-key": "s3: ..."})
    scenario.controller(artifact_repository={"s3": {"keyFormat": "foo"}})
    result = resolve_workflow(workflow, scenario.source(), scenario.controller_config())

Local API: every case gets its own namespaces (``w-<hex>``, ``c-<hex>``), so cases can run in
parallel against one server. Real cluster (``--artconf-kube=real``): the two namespaces
``artconf-<run-id>`` and ``artconf-<run-id>-ctrl`` are created once per session, labelled
``app.kubernetes.io/managed-by=artifact-conformance``, refused if they already exist, and deleted
at the end; each case deletes what it created. Run real-cluster cases serially (``-n 0``).
"""

from __future__ import annotations

import base64
import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s

from drivers.controller.kube import (
    CONTROLLER_CONFIG_MAP,
    ControllerConfig,
    KubeApiSource,
    KubeError,
    ManifestSource,
    ObjectSource,
    load_controller_config,
)
from drivers.controller.kube.api import api_error
from emulators.endpoint import Endpoint

MANAGED_BY = {"app.kubernetes.io/managed-by": "artifact-conformance"}
ARGO = ("argoproj.io", "v1alpha1")


class FaultsUnsupported(RuntimeError):
    """This source cannot inject API faults (manifests, a real cluster)."""


class Scenario:
    """Base: the objects of one case, and its two namespaces."""

    name = ""
    can_inject_faults = False

    def __init__(self, wf_ns: str, ctrl_ns: str) -> None:
        self.wf_ns = wf_ns
        self.ctrl_ns = ctrl_ns
        self.suffix = uuid.uuid4().hex[:8]

    # --- seeding (subclasses implement _put) -------------------------------------------
    def config_map(
        self,
        namespace: str,
        name: str,
        data: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> None:
        meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)}
        if annotations:
            meta["annotations"] = dict(annotations)
        self._put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {}})

    def secret(self, namespace: str, name: str, values: dict[str, str]) -> None:
        meta = {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)}
        self._put({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": values})

    def workflow_template(self, name: str, spec: dict[str, Any]) -> None:
        meta = {"name": name, "namespace": self.wf_ns, "labels": dict(MANAGED_BY)}
        self._put(
            {
                "apiVersion": "/".join(ARGO),
                "kind": "WorkflowTemplate",
                "metadata": meta,
                "spec": spec,
            }
        )

    def cluster_workflow_template(self, name: str, spec: dict[str, Any]) -> None:
        meta = {"name": name, "labels": dict(MANAGED_BY)}
        self._put(
            {
                "apiVersion": "/".join(ARGO),
                "kind": "ClusterWorkflowTemplate",
                "metadata": meta,
                "spec": spec,
            }
        )

    def controller(
        self,
        artifact_repository: dict[str, Any] | None = None,
        workflow_defaults: dict[str, Any] | None = None,
        *,
        form: str = "config",
    ) -> None:
        """Write ``workflow-controller-configmap`` in the controller namespace, in either form."""
        settings: dict[str, Any] = {}
        if artifact_repository is not None:
            settings["artifactRepository"] = artifact_repository
        if workflow_defaults is not None:
            settings["workflowDefaults"] = workflow_defaults
        if form == "config":
            data = {"config": yaml.safe_dump(settings)}
        else:
            data = {k: yaml.safe_dump(v) for k, v in settings.items()}
        self.config_map(self.ctrl_ns, CONTROLLER_CONFIG_MAP, data)

    def unique(self, name: str) -> str:
        return f"{name}-{self.suffix}"

    # --- faults ------------------------------------------------------------------------
    def forbid(self, resource: str, namespace: str, name: str) -> None:
        raise FaultsUnsupported(f"{self.name}: cannot inject a 403")

    def unavailable(self, count: int, namespace: str) -> None:
        raise FaultsUnsupported(f"{self.name}: cannot inject a 503")

    # --- reading -----------------------------------------------------------------------
    def source(self) -> ObjectSource:
        raise NotImplementedError

    def controller_config(self) -> ControllerConfig:
        return load_controller_config(self.source(), self.ctrl_ns)

    def _put(self, obj: dict[str, Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Remove what the case created (where that matters)."""


class ApiScenario(Scenario):
    """Objects on an API server (the local stand-in or a real cluster)."""

    name = "kube"

    def __init__(
        self,
        wf_ns: str,
        ctrl_ns: str,
        *,
        url: str,
        token: str | None,
        ca_file: str | None,
        endpoint: Endpoint | None = None,
        source: KubeApiSource | None = None,
    ) -> None:
        super().__init__(wf_ns, ctrl_ns)
        self.endpoint = endpoint
        self._source = source or KubeApiSource.for_server(url, token, ca_file)
        self.can_inject_faults = endpoint is not None
        self.created: list[tuple[str, str, str]] = []  # (kind, namespace, name)

    def _put(self, obj: dict[str, Any]) -> None:
        kind, meta = obj["kind"], obj["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        try:
            if kind == "ConfigMap":
                self._source.core.create_namespaced_config_map(namespace, obj)
            elif kind == "Secret":
                self._source.core.create_namespaced_secret(namespace, obj)
            elif kind == "WorkflowTemplate":
                self._source.custom.create_namespaced_custom_object(
                    *ARGO, namespace, "workflowtemplates", obj
                )
            else:
                self._source.custom.create_cluster_custom_object(
                    *ARGO, "clusterworkflowtemplates", obj
                )
        except k8s.ApiException as exc:
            raise api_error(exc) from None
        self.created.append((kind, namespace, name))

    def forbid(self, resource: str, namespace: str, name: str) -> None:
        self._admin({"forbid": [{"resource": resource, "namespace": namespace, "name": name}]})

    def unavailable(self, count: int, namespace: str) -> None:
        self._admin({"unavailable": count, "namespace": namespace})

    def _admin(self, body: dict[str, Any]) -> None:
        if self.endpoint is None:
            raise FaultsUnsupported("a real cluster: faults cannot be injected")
        from emulators.kube import admin

        admin(self.endpoint, "faults", body)

    def source(self) -> ObjectSource:
        return self._source

    def close(self) -> None:
        for kind, namespace, name in reversed(self.created):
            try:
                if kind == "ConfigMap":
                    self._source.core.delete_namespaced_config_map(name, namespace)
                elif kind == "Secret":
                    self._source.core.delete_namespaced_secret(name, namespace)
                elif kind == "WorkflowTemplate":
                    self._source.custom.delete_namespaced_custom_object(
                        *ARGO, namespace, "workflowtemplates", name
                    )
                else:
                    self._source.custom.delete_cluster_custom_object(
                        *ARGO, "clusterworkflowtemplates", name
                    )
            except (k8s.ApiException, KubeError):
                pass  # a case that deleted its own object, or a namespace already gone
        self.created.clear()


class ManifestScenario(Scenario):
    """Objects written as manifests: ConfigMaps in one multi-document file, Secrets in a
    ``kind: List`` (base64 ``data``), templates in their own files."""

    name = "manifests"

    def __init__(self, wf_ns: str, ctrl_ns: str, directory: Path) -> None:
        super().__init__(wf_ns, ctrl_ns)
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.objects: list[dict[str, Any]] = []

    def _put(self, obj: dict[str, Any]) -> None:
        if obj["kind"] == "Secret":
            obj = dict(obj)
            values = obj.pop("stringData")
            obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
        self.objects.append(obj)

    def write(self) -> None:
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for obj in self.objects:
            by_kind.setdefault(obj["kind"], []).append(obj)
        (self.directory / "configmaps.yaml").write_text(
            yaml.safe_dump_all(by_kind.get("ConfigMap", []) or [None])
        )
        secrets = {"apiVersion": "v1", "kind": "List", "items": by_kind.get("Secret", [])}
        (self.directory / "secrets.yaml").write_text(yaml.safe_dump(secrets))
        templates = by_kind.get("WorkflowTemplate", []) + by_kind.get("ClusterWorkflowTemplate", [])
        sub = self.directory / "templates"
        sub.mkdir(exist_ok=True)
        for index, obj in enumerate(templates):
            (sub / f"{index:02d}.yml").write_text(yaml.safe_dump(obj))

    def source(self) -> ObjectSource:
        self.write()
        return ManifestSource(self.directory, namespace=self.wf_ns)


def local_scenario(endpoint: Endpoint) -> ApiScenario:
    """A case on the local stand-in: fresh namespaces, faults available."""
    suffix = uuid.uuid4().hex[:8]
    return ApiScenario(
        f"w-{suffix}",
        f"c-{suffix}",
        url=endpoint.url,
        token=endpoint.credentials["secret_key"],
        ca_file=endpoint.ca_bundle,
        endpoint=endpoint,
    )


class RealCluster:
    """The throwaway namespaces of a session on the kubeconfig's cluster (not run here)."""

    def __init__(self, run_id: str, source: KubeApiSource | None = None) -> None:
        ident = "".join(c for c in run_id.lower() if c.isalnum() or c == "-").strip("-")[:40]
        self.wf_ns = f"artconf-{ident}"
        self.ctrl_ns = f"artconf-{ident}-ctrl"
        self.run_id = run_id
        self.source = source or KubeApiSource.connect()
        self.created: list[str] = []

    def create(self) -> None:
        for name in (self.wf_ns, self.ctrl_ns):
            labels = {
                **MANAGED_BY,
                "artifact-conformance/run-id": self.wf_ns.removeprefix("artconf-"),
            }
            body = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name, "labels": labels},
            }
            try:
                self.source.core.create_namespace(body)
            except k8s.ApiException as exc:
                error = api_error(exc)
                if error.status == 409:
                    raise RuntimeError(
                        f"namespace {name} already exists on the cluster: refusing to use it; "
                        "pick another run id"
                    ) from None
                raise error from None
            self.created.append(name)

    def scenario(self) -> ApiScenario:
        return ApiScenario(
            self.wf_ns, self.ctrl_ns, url="", token=None, ca_file=None, source=self.source
        )

    def delete(self) -> None:
        for name in reversed(self.created):
            with contextlib.suppress(k8s.ApiException):
                self.source.core.delete_namespace(name)
        self.created.clear()


def kube_mode(config: Any) -> str:
    """`local` (the stand-in API server) or `real` (--artconf-kube=real / ARTCONF_KUBE=real)."""
    try:
        value = config.getoption("artconf_kube")
    except ValueError:
        value = None
    return value or os.environ.get("ARTCONF_KUBE") or "local"
