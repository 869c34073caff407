"""Objects from a Kubernetes API server, through the official ``kubernetes`` client.

Three ways to connect: a kubeconfig (``KUBECONFIG`` or ``~/.kube/config``, optionally a
context), the in-cluster service account, or an explicit server URL, bearer token and CA (the
kit's local API server). The client never retries on its own: Argo's DefaultRetry in the
resolver decides (spec 6.4), so a 503 is seen and counted.
"""

from __future__ import annotations

import json
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from drivers.controller.kube.base import KubeError
from drivers.core.errors import is_cert_failure_message

#: (connect, read) seconds for every call.
REQUEST_TIMEOUT = (5.0, 15.0)
ARGO_GROUP, ARGO_VERSION = "argoproj.io", "v1alpha1"


def configuration_for(url: str, token: str | None, ca_file: str | None = None) -> k8s.Configuration:
    """A client configuration for ``url`` with a bearer token (kubernetes >= 36 format)."""
    configuration = k8s.Configuration()
    configuration.host = url.rstrip("/")
    if token:
        # kubernetes >= 36: the whole "Bearer TOKEN" goes in api_key["authorization"].
        configuration.api_key = {"authorization": f"Bearer {token}"}
    if ca_file:
        configuration.ssl_ca_cert = ca_file
    configuration.verify_ssl = True
    return configuration


class KubeApiSource:
    """An :class:`~drivers.controller.kube.base.ObjectSource` over a live API server."""

    def __init__(self, configuration: k8s.Configuration) -> None:
        configuration.retries = urllib3.Retry(total=0, connect=0, read=0, redirect=0)
        self.host = configuration.host
        self.api_client = k8s.ApiClient(configuration)
        self.core = k8s.CoreV1Api(self.api_client)
        self.custom = k8s.CustomObjectsApi(self.api_client)

    # --- constructors ----------------------------------------------------------------
    @classmethod
    def for_server(cls, url: str, token: str | None, ca_file: str | None = None) -> KubeApiSource:
        return cls(configuration_for(url, token, ca_file))

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, context: str | None = None) -> KubeApiSource:
        configuration = k8s.Configuration()
        try:
            k8s_config.load_kube_config(
                config_file=path, context=context, client_configuration=configuration
            )
        except (k8s_config.ConfigException, OSError) as exc:
            raise KubeError(f"cannot load kubeconfig: {exc}", transient=False) from None
        return cls(configuration)

    @classmethod
    def in_cluster(cls) -> KubeApiSource:
        configuration = k8s.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except k8s_config.ConfigException as exc:
            raise KubeError(f"not running in a cluster: {exc}", transient=False) from None
        return cls(configuration)

    @classmethod
    def connect(cls, kubeconfig: str | None = None, context: str | None = None) -> KubeApiSource:
        """In-cluster when running in a pod and no kubeconfig is named, else the kubeconfig."""
        import os

        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            return cls.in_cluster()
        return cls.from_kubeconfig(kubeconfig, context)

    # --- reads -----------------------------------------------------------------------
    def get_config_map(self, namespace: str, name: str) -> dict[str, Any]:
        return self._call(
            self.core.read_namespaced_config_map, name, namespace, _preload_content=False
        )

    def get_secret(self, namespace: str, name: str) -> dict[str, Any]:
        import base64

        secret = self._call(
            self.core.read_namespaced_secret, name, namespace, _preload_content=False
        )
        secret["data"] = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
        return secret

    def get_workflow_template(self, namespace: str, name: str) -> dict[str, Any]:
        return self._call(
            self.custom.get_namespaced_custom_object,
            ARGO_GROUP,
            ARGO_VERSION,
            namespace,
            "workflowtemplates",
            name,
            _preload_content=False,
        )

    def get_cluster_workflow_template(self, name: str) -> dict[str, Any]:
        return self._call(
            self.custom.get_cluster_custom_object,
            ARGO_GROUP,
            ARGO_VERSION,
            "clusterworkflowtemplates",
            name,
            _preload_content=False,
        )

    def describe(self) -> str:
        return f"Kubernetes API at {self.host}"

    def close(self) -> None:
        self.api_client.close()

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            response = method(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except k8s.ApiException as exc:
            raise api_error(exc) from None
        except urllib3.exceptions.HTTPError as exc:
            raise network_error(exc) from None
        return json.loads(response.data)


def api_error(exc: k8s.ApiException) -> KubeError:
    """An ``ApiException`` as a :class:`KubeError` carrying the server's ``Status``."""
    status = exc.status or None
    reason = str(exc.reason or "")
    message = ""
    try:
        body = json.loads(exc.body) if exc.body else {}
    except (TypeError, ValueError):
        body = {}
    if isinstance(body, dict) and body.get("kind") == "Status":
        message = str(body.get("message") or "")
        reason = str(body.get("reason") or reason)
    if not message:
        # client-go's text for a response without a Status body
        message = (
            f"the server responded with the status code {status} but did not return more "
            "information"
        )
        if status == 503:
            reason = reason or "ServiceUnavailable"
    return KubeError(message, status=status, reason=reason)


def network_error(exc: BaseException) -> KubeError:
    """A failure below HTTP (DNS, refused, TLS); certificate failures are never transient."""
    text = str(getattr(exc, "reason", None) or exc)
    return KubeError(text, transient=False if is_cert_failure_message(text) else None)
