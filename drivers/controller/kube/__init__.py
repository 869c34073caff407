"""Kubernetes objects for artifact repository resolution: the API server or manifests.

    source = KubeApiSource.connect()                   # kubeconfig or in-cluster
    source = KubeApiSource.for_server(url, token, ca)  # an explicit server (the local one)
    source = ManifestSource("manifests/", namespace="default")

Both satisfy :class:`ObjectSource`; :class:`KubeSecretSource` reads repository Secrets from
either; :func:`load_controller_config` reads ``workflow-controller-configmap``.
"""

from drivers.controller.kube.api import KubeApiSource
from drivers.controller.kube.base import KubeError, KubeSecretSource, ObjectSource, kube_transient
from drivers.controller.kube.controller import (
    CONTROLLER_CONFIG_MAP,
    DEFAULT_CONTROLLER_NAMESPACE,
    ControllerConfig,
    load_controller_config,
    parse_controller_config,
)
from drivers.controller.kube.manifests import ManifestError, ManifestSource, yaml_documents

__all__ = [
    "CONTROLLER_CONFIG_MAP",
    "DEFAULT_CONTROLLER_NAMESPACE",
    "ControllerConfig",
    "KubeApiSource",
    "KubeError",
    "KubeSecretSource",
    "ManifestError",
    "ManifestSource",
    "ObjectSource",
    "kube_transient",
    "load_controller_config",
    "parse_controller_config",
    "yaml_documents",
]
