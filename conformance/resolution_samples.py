"""What the resolution suite builds its cases from: its source, and sample repositories.

The source of a case is its resolution backend (a profile whose `driver` is `resolution`): a
profile of kind `files` is a directory of manifests, any other the API server it names (or,
when the run asks for a real cluster, two throwaway namespaces there).

Resolution (spec 3) never looks inside a repository: it picks a ConfigMap key and parses its
value. So the samples are of one kind, the one Argo's own `TestArtifactRepositories` uses,
and the suite asks through the functions below ("which key format did it resolve to?") instead
of spelling that kind's fields.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import kinds
from conformance.sources import ManifestScenario, RealCluster, Scenario, local_scenario
from conformance.sources import kube_mode as cluster_mode  # "local" or "real"
from drivers.core.model import ArtifactLocation, ArtifactRepository

# The namespaces of Argo's test: the workflow's (W) and the controller's (C).
WORKFLOW_NAMESPACE = "my-wf-ns"
CONTROLLER_NAMESPACE = "my-ctrl-ns"

# --- sources ---------------------------------------------------------------------------------

_REAL_CLUSTER = pytest.StashKey[RealCluster]()


def scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Scenario:
    """The objects of one case, on the source `request.param` names (a backend)."""
    session = request.config.pluginmanager.get_plugin("artconf-session")
    profile = session.profiles[request.param]
    if profile.kind == "files":
        return ManifestScenario(WORKFLOW_NAMESPACE, CONTROLLER_NAMESPACE, tmp_path / "manifests")
    if cluster_mode(request.config) == "real":
        return _real_cluster(request.config).scenario()
    return local_scenario(request.getfixturevalue("artconf_server")(profile.server))


def _real_cluster(config: pytest.Config) -> RealCluster:
    """The run's throwaway namespaces on a real cluster: made once, deleted at the end."""
    if _REAL_CLUSTER not in config.stash:
        run_id = config.getoption("artconf_run_id", None) or time.strftime("%Y%m%dt%H%M%S")
        cluster = RealCluster(run_id)
        cluster.create()
        config.stash[_REAL_CLUSTER] = cluster
        config.add_cleanup(cluster.delete)
    return config.stash[_REAL_CLUSTER]


# --- repositories ----------------------------------------------------------------------------

SAMPLE = kinds.get("s3")  # as in Argo's TestArtifactRepositories


def repository(key_format: str | None = None, **fields: Any) -> dict[str, Any]:
    """A repository (as the ConfigMap value's YAML parses) with `key_format` and `fields`."""
    body = dict(fields)
    if key_format is not None:
        body[SAMPLE.key_format_field] = key_format
    return {SAMPLE.type: body}


def repository_yaml(key_format: str | None = None, **fields: Any) -> str:
    """`repository(...)` as a ConfigMap value: YAML text."""
    return yaml.safe_dump(repository(key_format, **fields), sort_keys=False)


#: A value that is not YAML at all (an unclosed flow sequence).
UNPARSABLE = f"{SAMPLE.type}: [unclosed\n"


def location(bucket: str, endpoint: str, key: str) -> dict[str, Any]:
    """A complete location (an archiveLocation of a template's own)."""
    fields = {SAMPLE.container_field: bucket, "endpoint": endpoint, SAMPLE.key_field: key}
    return {SAMPLE.type: fields}


def key_only(key: str) -> dict[str, Any]:
    """A key-only location, as Argo records outputs (spec 4.4)."""
    return SAMPLE.key_only(key)


def key_format_of(repository: ArtifactRepository) -> str:
    """The key format of the repository that resolved."""
    return getattr(repository.get(), _python_name(type(repository.get()), SAMPLE.key_format_field))


def bucket_of(location: ArtifactLocation) -> str:
    return getattr(location.get(), SAMPLE.container_field)


def endpoint_of(location: ArtifactLocation) -> str:
    return location.get().endpoint


def _python_name(model: type, alias: str) -> str:
    return next(n for n, info in model.model_fields.items() if (info.alias or n) == alias)
