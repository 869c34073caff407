"""The controller's ConfigMap ``workflow-controller-configmap``, in both of Argo's forms.

Argo (``config/controller.go`` ``parseConfigMap``) accepts either one key ``config`` holding the
whole configuration as YAML, or one YAML string per top-level key; ``config`` next to other keys
is an error. Of the configuration we use ``artifactRepository`` (the controller default, spec
2.11) and ``workflowDefaults`` (merged into every Workflow, so it may carry an
``artifactRepositoryRef``). Other known top-level keys are accepted unread; unknown ones are
reported in :attr:`ControllerConfig.warnings` (Argo's strict unmarshal would refuse them, but
this list may lag behind a newer Argo).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from drivers.controller.kube.base import KubeError, ObjectSource
from drivers.core.errors import BadRequest
from drivers.core.model import ArtifactRepository, parse_repository

CONTROLLER_CONFIG_MAP = "workflow-controller-configmap"
DEFAULT_CONTROLLER_NAMESPACE = "argo"
BOTH_FORMS_ERROR = (
    "if you have an item in your config map named 'config', you must only have one item"
)

#: Top-level keys of Argo's controller ``Config`` (``config/config.go``, v3.x-v4.x).
_KNOWN_KEYS_TEXT = """
    nodeEvents workflowEvents executor mainContainer kubeConfig artifactRepository namespace
    instanceID metricsConfig telemetryConfig parallelism namespaceParallelism resourceRateLimit
    persistence links columns workflowDefaults podSpecLogStrategy podGCGracePeriodSeconds
    podGCDeleteDelayDuration workflowRestrictions initialDelay images retentionPolicy navColor
    sso semaphoreLimitCacheSeconds synchronization artifactDrivers containerRuntimeExecutor
    containerRuntimeExecutors failedPodRestart managedNamespace
"""
KNOWN_KEYS = frozenset(_KNOWN_KEYS_TEXT.split())


@dataclass
class ControllerConfig:
    """What resolution needs from the controller configuration, and where it came from."""

    artifact_repository: ArtifactRepository = field(default_factory=ArtifactRepository)
    workflow_defaults: dict[str, Any] | None = None
    namespace: str = DEFAULT_CONTROLLER_NAMESPACE
    found: bool = False
    form: str = ""  # "config" (one key) or "keys" (one key per setting)
    warnings: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"ConfigMap {self.namespace}/{CONTROLLER_CONFIG_MAP}"


def parse_controller_config(
    config_map: dict[str, Any], namespace: str = DEFAULT_CONTROLLER_NAMESPACE
) -> ControllerConfig:
    """Parse the controller ConfigMap object (either form) into a :class:`ControllerConfig`."""
    where = f"ConfigMap {namespace}/{CONTROLLER_CONFIG_MAP}"
    data: dict[str, str] = config_map.get("data") or {}
    if "config" in data and len(data) != 1:
        raise BadRequest(f"{where}: {BOTH_FORMS_ERROR}")
    if "config" in data:
        settings = _load(data["config"], f"{where} key config")
        form = "config"
    else:
        settings = {}
        for name in sorted(data):
            value = data[name]
            settings[name] = _load(value, f"{where} key {name}") if value.strip() else None
        form = "keys"
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise BadRequest(f"{where}: the configuration must be a mapping of settings")
    result = ControllerConfig(namespace=namespace, found=True, form=form)
    for name in sorted(set(settings) - KNOWN_KEYS):
        result.warnings.append(
            f"{where}: unknown setting {name!r} (Argo's strict parse refuses it)"
        )
    repository = settings.get("artifactRepository")
    if repository is not None:
        try:
            result.artifact_repository = parse_repository(repository)
        except BadRequest as exc:
            raise BadRequest(f"{where}: {exc.message}") from exc
    defaults = settings.get("workflowDefaults")
    if defaults is not None and not isinstance(defaults, dict):
        raise BadRequest(f"{where}: workflowDefaults must be a Workflow (a mapping)")
    result.workflow_defaults = defaults
    return result


def load_controller_config(
    source: ObjectSource, namespace: str = DEFAULT_CONTROLLER_NAMESPACE
) -> ControllerConfig:
    """The controller configuration from ``source``; a missing ConfigMap is an empty one.

    Without its ConfigMap the controller runs with an empty configuration, so the default
    repository is empty (spec 3.2) and artifacts later fail with "artifact storage is not
    configured". Any other API error is raised.
    """
    try:
        config_map = source.get_config_map(namespace, CONTROLLER_CONFIG_MAP)
    except KubeError as exc:
        if exc.not_found:
            config = ControllerConfig(namespace=namespace)
            config.warnings.append(
                f"ConfigMap {namespace}/{CONTROLLER_CONFIG_MAP} not found "
                f"({source.describe()}): the controller default repository is empty"
            )
            return config
        raise
    return parse_controller_config(config_map, namespace)


def _load(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise BadRequest(f"{where}: invalid YAML{at}: {problem}") from None
