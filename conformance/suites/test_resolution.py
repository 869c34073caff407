"""Artifact repository resolution (spec 3): Argo's ``TestArtifactRepositories`` and what it misses.

Each case seeds Kubernetes objects through its source (an API server, read with the official
client, or a directory of YAML files), resolves a Workflow with
``drivers.controller.resolution.resolve_workflow`` and checks the recorded status, the
repository and the decision trace. Namespaces play Argo's ``my-wf-ns`` (W) and ``my-ctrl-ns``
(C); the controller default is a repository of key format ``foo`` as in Argo's test, unless a
case says otherwise (the sample repositories: ``conformance.resolution_samples``).
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance import resolution_samples as samples
from conformance.cases import verifies
from conformance.sources import FaultsUnsupported, Scenario
from drivers.controller.resolution import (
    ARTIFACT_REPOSITORIES,
    DEFAULT_REPOSITORY_ANNOTATION,
    ResolutionError,
    WorkflowResolution,
    archive_location,
    relocate,
    resolve_workflow,
    sample_archive_key,
)
from drivers.core.errors import Code
from drivers.core.model import NOT_CONFIGURED_ERROR, parse_artifact

CM = ARTIFACT_REPOSITORIES
BAR = samples.repository_yaml("bar")
DEFAULT_REPO = samples.repository("foo")
REPO_BUCKET = samples.repository_yaml(bucket="repo", endpoint="e:9000")


@pytest.fixture
def artconf_source(request: pytest.FixtureRequest, tmp_path) -> Scenario:
    """The case's source (parametrized by the session over the resolution backends)."""
    scenario = samples.scenario(request, tmp_path)
    yield scenario
    scenario.close()


def workflow(
    scenario: Scenario,
    ref: dict[str, str] | None = None,
    *,
    status: dict[str, Any] | None = None,
    spec: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"entrypoint": "main", "templates": [{"name": "main", "container": {}}]}
    if ref is not None:
        body["artifactRepositoryRef"] = ref
    body.update(spec or {})
    wf: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "my-wf", "namespace": scenario.wf_ns},
        "spec": body,
    }
    if status is not None:
        wf["status"] = {"artifactRepositoryRef": status}
    return wf


def resolve(
    scenario: Scenario,
    wf: dict[str, Any],
    *,
    controller: bool = True,
    sleeps: list[float] | None = None,
) -> WorkflowResolution:
    if controller:
        scenario.controller(artifact_repository=DEFAULT_REPO)
    return resolve_workflow(
        wf,
        scenario.source(),
        scenario.controller_config(),
        sleep=(sleeps if sleeps is not None else []).append,
    )


def outcomes(result: WorkflowResolution | ResolutionError) -> list[str]:
    return [d.outcome for d in result.decisions]


def inject(action) -> None:
    try:
        action()
    except FaultsUnsupported as exc:
        pytest.skip(f"unsupported-by-backend: {exc}")


# --- Argo's TestArtifactRepositories ---------------------------------------------------------


@verifies("resolution_explicit_ref")
def test_explicit_ref_workflow_namespace(artconf_source: Scenario) -> None:
    """An explicit ref whose key exists in the workflow's namespace resolves there, with the
    ConfigMap name defaulted to `artifact-repositories`, and the status records it (spec 3.1, 3.2,
    3.3).
    """
    s = artconf_source
    s.config_map(s.wf_ns, CM, {"my-key": BAR})
    result = resolve(s, workflow(s, {"key": "my-key"}))
    assert result.status.to_dict() == {
        "namespace": s.wf_ns,
        "configMap": CM,
        "key": "my-key",
        "artifactRepository": samples.repository("bar"),
    }
    assert outcomes(result) == ["chosen", "not-tried"]


@verifies("resolution_explicit_ref")
def test_explicit_ref_controller_namespace(artconf_source: Scenario) -> None:
    """An explicit ref whose ConfigMap exists only in the controller's namespace falls through to
    it: W first, then C (spec 3.1, 3.3).
    """
    s = artconf_source
    s.config_map(s.ctrl_ns, CM, {"my-key": BAR})
    result = resolve(s, workflow(s, {"key": "my-key"}))
    assert (result.status.namespace, result.status.config_map, result.status.key) == (
        s.ctrl_ns,
        CM,
        "my-key",
    )
    assert not result.status.default
    assert samples.key_format_of(result.repository) == "bar"
    assert outcomes(result) == ["skipped", "chosen"]


@verifies("resolution_explicit_ref")
def test_explicit_ref_config_map_not_found_never_uses_the_default(
    artconf_source: Scenario,
) -> None:
    """An explicit ref (even `{}`) whose ConfigMap exists in neither namespace fails with "failed to
    find any artifact repository" and never falls back to the controller default (spec 3.1, 3.3).
    """
    s = artconf_source
    with pytest.raises(ResolutionError) as caught:
        resolve(s, workflow(s, {}))
    assert str(caught.value) == (
        'failed to find any artifact repository for artifact repository ref "#"'
    )
    assert outcomes(caught.value) == ["skipped", "skipped"]


@verifies("resolution_explicit_ref")
def test_explicit_ref_config_map_only_in_another_namespace(artconf_source: Scenario) -> None:
    """A ConfigMap in a third namespace is never consulted: an explicit ref looks in W and C only
    (spec 3.1, 3.3).
    """
    s = artconf_source
    s.config_map(s.unique("my-ns"), CM, {})
    with pytest.raises(ResolutionError, match="failed to find any artifact repository"):
        resolve(s, workflow(s, {}))


@verifies("resolution_namespace_default")
def test_workflow_namespace_default_annotation(artconf_source: Scenario) -> None:
    """Without a ref, the workflow namespace's ConfigMap with the default annotation resolves, and
    the annotation's key is copied into the status (spec 3.1, 3.2, 3.3).
    """
    s = artconf_source
    s.config_map(s.wf_ns, CM, {"default-v1": BAR}, {DEFAULT_REPOSITORY_ANNOTATION: "default-v1"})
    result = resolve(s, workflow(s))
    assert result.status.key == "default-v1"  # the annotation's key is copied in
    assert (result.status.namespace, result.status.config_map) == (s.wf_ns, CM)
    assert not result.status.default
    assert samples.key_format_of(result.repository) == "bar"


@verifies("resolution_fallthrough")
def test_namespace_config_map_without_annotation_falls_through(artconf_source: Scenario) -> None:
    """Without a ref, the workflow namespace's ConfigMap without the annotation is a missing key
    ("config map missing key"): resolution falls through to the controller default (spec 3.1, 3.3).
    """
    s = artconf_source
    s.config_map(s.wf_ns, CM, {})
    result = resolve(s, workflow(s))
    assert result.status.to_dict() == {"default": True, "artifactRepository": DEFAULT_REPO}
    assert outcomes(result) == ["skipped", "chosen"]
    assert "config map missing key" in result.decisions[0].reason


@verifies("resolution_controller_default")
def test_default(artconf_source: Scenario) -> None:
    """With no ref and no ConfigMap the controller default resolves, recorded as `{default: true,
    artifactRepository}` and shown as `default-artifact-repository` (spec 3.1, 3.2, 3.3).
    """
    s = artconf_source
    result = resolve(s, workflow(s))
    assert result.status.to_dict() == {"default": True, "artifactRepository": DEFAULT_REPO}
    assert str(result.status) == "default-artifact-repository"


# --- what Argo's test misses -----------------------------------------------------------------


@verifies("resolution_explicit_ref")
def test_both_namespaces_present_workflow_namespace_wins(artconf_source: Scenario) -> None:
    """With the ref's ConfigMap in both namespaces, the workflow's namespace wins (spec 3.1)."""
    s = artconf_source
    s.config_map(s.wf_ns, CM, {"my-key": BAR})
    s.config_map(s.ctrl_ns, CM, {"my-key": samples.repository_yaml("ctrl")})
    result = resolve(s, workflow(s, {"key": "my-key"}))
    assert result.status.namespace == s.wf_ns
    assert samples.key_format_of(result.repository) == "bar"


@verifies("resolution_explicit_ref")
def test_empty_ref_is_still_a_ref(artconf_source: Scenario) -> None:
    """`{}` is a ref: it searches both namespaces (the annotation gives the key) and never the
    default, while no ref at all skips the controller namespace (spec 3.1, 3.4).
    """
    s = artconf_source
    s.config_map(s.ctrl_ns, CM, {"k": BAR}, {DEFAULT_REPOSITORY_ANNOTATION: "k"})
    with_ref = resolve(s, workflow(s, {}))
    assert (with_ref.status.namespace, with_ref.status.key) == (s.ctrl_ns, "k")
    without = resolve_workflow(workflow(s), s.source(), s.controller_config(), sleep=[].append)
    assert without.status.default


@verifies("resolution_fallthrough")
def test_ref_key_missing_in_workflow_namespace_found_in_controller_namespace(
    artconf_source: Scenario,
) -> None:
    """A ref key missing from the workflow namespace's ConfigMap falls through to the controller
    namespace, the skip explained as `config map missing key` (spec 3.1).
    """
    s = artconf_source
    s.config_map(s.wf_ns, CM, {"other": BAR})
    s.config_map(s.ctrl_ns, CM, {"my-key": BAR})
    result = resolve(s, workflow(s, {"key": "my-key"}))
    assert result.status.namespace == s.ctrl_ns
    assert outcomes(result) == ["skipped", "chosen"]
    assert result.decisions[0].reason.startswith('config map missing key "my-key"')


@verifies("resolution_controller_default")
def test_no_ref_annotated_config_map_only_in_controller_namespace_is_ignored(
    artconf_source: Scenario,
) -> None:
    """Without a ref, an annotated ConfigMap in the controller's namespace is never consulted: the
    controller default resolves (spec 3.1, 3.4).
    """
    s = artconf_source
    s.config_map(s.ctrl_ns, CM, {"k": BAR}, {DEFAULT_REPOSITORY_ANNOTATION: "k"})
    result = resolve(s, workflow(s))
    assert result.status.default
    assert samples.key_format_of(result.repository) == "foo"


@verifies("resolution_fallthrough")
def test_annotation_naming_a_missing_key_falls_through(artconf_source: Scenario) -> None:
    """A default annotation naming a key the ConfigMap lacks falls through to the controller
    default, the trace naming that key (spec 3.1).
    """
    s = artconf_source
    s.config_map(s.wf_ns, CM, {"other": BAR}, {DEFAULT_REPOSITORY_ANNOTATION: "gone"})
    result = resolve(s, workflow(s))
    assert result.status.default
    assert result.decisions[0].key == "gone"
    assert 'config map missing key "gone"' in result.decisions[0].reason


@verifies("resolution_explicit_ref")
def test_key_with_empty_value_is_an_empty_repository(artconf_source: Scenario) -> None:
    """A key whose value is empty resolves to an empty repository, and any artifact needing it later
    fails as "artifact storage is not configured" (spec 3.2, 0).
    """
    s = artconf_source
    s.config_map(s.wf_ns, CM, {"my-key": ""})
    wf = workflow(s, {"key": "my-key"})
    result = resolve(s, wf)
    assert result.status.to_dict() == {
        "namespace": s.wf_ns,
        "configMap": CM,
        "key": "my-key",
        "artifactRepository": {},
    }
    assert sample_archive_key(wf, result)["error"] == NOT_CONFIGURED_ERROR


@verifies("resolution_controller_default")
def test_empty_controller_repository_fails_later(artconf_source: Scenario) -> None:
    """A controller ConfigMap without artifactRepository still resolves, to an empty repository
    recorded as the default, which fails only when an artifact needs it (spec 3.2).
    """
    s = artconf_source
    s.controller()  # a controller ConfigMap without artifactRepository
    wf = workflow(s)
    result = resolve(s, wf, controller=False)
    assert result.status.to_dict() == {"default": True, "artifactRepository": {}}
    assert "which is empty" in result.decisions[-1].reason
    assert sample_archive_key(wf, result)["error"] == NOT_CONFIGURED_ERROR


@verifies("resolution_controller_default")
def test_controller_config_one_key_per_setting(artconf_source: Scenario) -> None:
    """The controller ConfigMap may hold one key per setting instead of one `config` key; its
    artifactRepository resolves the same (spec 2.11, 3.1).
    """
    s = artconf_source
    s.controller(artifact_repository=DEFAULT_REPO, form="keys")
    result = resolve(s, workflow(s), controller=False)
    assert samples.key_format_of(result.repository) == "foo"


@verifies("resolution_abort")
def test_unparsable_yaml_aborts(artconf_source: Scenario) -> None:
    """A value that is not YAML aborts resolution at once with "failed to unmarshall config map
    key", never trying the next candidate (spec 3.1).
    """
    s = artconf_source
    s.config_map(s.wf_ns, CM, {"my-key": samples.UNPARSABLE})
    s.config_map(s.ctrl_ns, CM, {"my-key": BAR})  # never reached
    with pytest.raises(ResolutionError) as caught:
        resolve(s, workflow(s, {"key": "my-key"}))
    assert str(caught.value).startswith(
        f'error getting config map for artifact repository ref "{s.wf_ns}/#my-key": '
        f'failed to unmarshall config map key "my-key" for artifact repository ref '
        f'"{s.wf_ns}/#my-key": '
    )
    assert outcomes(caught.value) == ["aborted"]


@verifies("resolution_forbidden")
def test_forbidden_aborts_instead_of_falling_through(artconf_source: Scenario) -> None:
    """A 403 reading the workflow namespace's ConfigMap aborts resolution as ERR_FORBIDDEN instead
    of falling through to the controller namespace (spec 3.1).
    """
    s = artconf_source
    s.config_map(s.ctrl_ns, CM, {"my-key": BAR})
    inject(lambda: s.forbid("configmaps", s.wf_ns, CM))
    with pytest.raises(ResolutionError) as caught:
        resolve(s, workflow(s, {"key": "my-key"}))
    assert caught.value.code is Code.FORBIDDEN
    assert str(caught.value).startswith(
        f'error getting config map for artifact repository ref "{s.wf_ns}/#my-key": '
        f'configmaps "{CM}" is forbidden'
    )
    assert outcomes(caught.value) == ["aborted"]


@verifies("resolution_retry")
def test_unavailable_once_is_retried(artconf_source: Scenario) -> None:
    """A ConfigMap read that fails once as unavailable is retried by DefaultRetry (10 ms first
    delay) and then resolves (spec 3.1, 6.4).
    """
    s = artconf_source
    s.config_map(s.wf_ns, CM, {"my-key": BAR})
    s.controller(artifact_repository=DEFAULT_REPO)
    inject(lambda: s.unavailable(1, s.wf_ns))
    sleeps: list[float] = []
    result = resolve(s, workflow(s, {"key": "my-key"}), controller=False, sleeps=sleeps)
    assert result.status.namespace == s.wf_ns
    assert result.decisions[0].attempts == 2
    assert len(sleeps) == 1 and 0.01 <= sleeps[0] <= 0.011


@verifies("resolution_retry")
def test_unavailable_past_the_retries_aborts(artconf_source: Scenario) -> None:
    """A ConfigMap read unavailable for all 5 steps of DefaultRetry aborts with "timed out waiting
    for the condition" after 4 delays (spec 3.1, 6.4).
    """
    s = artconf_source
    s.config_map(s.wf_ns, CM, {"my-key": BAR})
    s.controller(artifact_repository=DEFAULT_REPO)
    inject(lambda: s.unavailable(5, s.wf_ns))
    sleeps: list[float] = []
    with pytest.raises(ResolutionError) as caught:
        resolve(s, workflow(s, {"key": "my-key"}), controller=False, sleeps=sleeps)
    assert str(caught.value).startswith(
        f'error getting config map for artifact repository ref "{s.wf_ns}/#my-key": '
        "timed out waiting for the condition: "
    )
    assert caught.value.decisions[0].attempts == 5
    assert len(sleeps) == 4  # DefaultRetry: 5 steps, 10 ms x2, slept through the injected sleep


@verifies("resolution_frozen_status")
def test_frozen_status_is_not_resolved_again(artconf_source: Scenario) -> None:
    """A workflow whose status already records a repository keeps it: no resolution again, even if
    the ConfigMap changed (spec 3.1).
    """
    s = artconf_source
    s.config_map(s.wf_ns, CM, {"my-key": samples.repository_yaml("changed")})
    frozen = {
        "namespace": s.wf_ns,
        "configMap": CM,
        "key": "my-key",
        "artifactRepository": samples.repository("bar"),
    }
    result = resolve(s, workflow(s, {"key": "my-key"}, status=frozen))
    assert result.frozen
    assert samples.key_format_of(result.repository) == "bar"
    assert outcomes(result) == ["frozen"]


@verifies("resolution_frozen_status")
def test_status_from_before_v3_1_is_read_again(artconf_source: Scenario) -> None:
    """A status without artifactRepository (written before v3.1) has its recorded ConfigMap key read
    again, not the spec's ref (spec 3.2).
    """
    s = artconf_source
    s.config_map(s.wf_ns, CM, {"my-key": samples.repository_yaml("now")})
    old = {"namespace": s.wf_ns, "configMap": CM, "key": "my-key"}
    result = resolve(s, workflow(s, {"key": "other"}, status=old))
    assert samples.key_format_of(result.repository) == "now"
    assert result.status.key == "my-key"  # the recorded key, not the spec's
    assert outcomes(result) == ["re-read"]


@verifies("resolution_ref_merge")
def test_ref_from_workflow_template_ref(artconf_source: Scenario) -> None:
    """A ref given only by the workflowTemplateRef's spec is used, and the trace says where it came
    from (spec 3.1).
    """
    s = artconf_source
    name = s.unique("wft")
    s.workflow_template(name, {"artifactRepositoryRef": {"key": "my-key"}})
    s.config_map(s.wf_ns, CM, {"my-key": BAR})
    wf = workflow(s, spec={"workflowTemplateRef": {"name": name}})
    result = resolve(s, wf)
    assert result.status.key == "my-key"
    assert result.ref_origin["key"] == f"WorkflowTemplate {s.wf_ns}/{name}"


@verifies("resolution_ref_merge")
def test_ref_from_cluster_workflow_template_ref(artconf_source: Scenario) -> None:
    """A ref given only by a ClusterWorkflowTemplate (workflowTemplateRef with clusterScope) is used
    (spec 3.1).
    """
    s = artconf_source
    name = s.unique("cwft")
    s.cluster_workflow_template(name, {"artifactRepositoryRef": {"key": "my-key"}})
    s.config_map(s.ctrl_ns, CM, {"my-key": BAR})
    wf = workflow(s, spec={"workflowTemplateRef": {"name": name, "clusterScope": True}})
    result = resolve(s, wf)
    assert (result.status.namespace, result.status.key) == (s.ctrl_ns, "my-key")


@verifies("resolution_ref_merge")
def test_ref_from_workflow_defaults(artconf_source: Scenario) -> None:
    """A ref given only by the controller's workflowDefaults is used: the repository is the ref's,
    not the default (spec 3.1).
    """
    s = artconf_source
    s.controller(
        artifact_repository=DEFAULT_REPO,
        workflow_defaults={"spec": {"artifactRepositoryRef": {"configMap": "team", "key": "k"}}},
    )
    s.config_map(s.wf_ns, "team", {"k": BAR})
    result = resolve(s, workflow(s), controller=False)
    assert (result.status.config_map, result.status.key) == ("team", "k")
    assert not result.status.default


@verifies("resolution_ref_merge")
def test_ref_merged_field_by_field(artconf_source: Scenario) -> None:
    """The ref is merged field by field: Workflow over workflowTemplateRef over workflowDefaults
    (spec 3.1).
    """
    s = artconf_source
    name = s.unique("wft")
    s.workflow_template(name, {"artifactRepositoryRef": {"configMap": "from-wft", "key": "wft"}})
    s.controller(
        artifact_repository=DEFAULT_REPO,
        workflow_defaults={"spec": {"artifactRepositoryRef": {"configMap": "from-defaults"}}},
    )
    s.config_map(s.wf_ns, "from-wft", {"wf": BAR})
    wf = workflow(s, {"key": "wf"}, spec={"workflowTemplateRef": {"name": name}})
    result = resolve(s, wf, controller=False)
    assert (result.status.config_map, result.status.key) == ("from-wft", "wf")
    assert result.ref_origin["key"] == "Workflow"
    assert result.ref_origin["configMap"].startswith("WorkflowTemplate")


@verifies("resolution_archive_location")
def test_template_archive_location_overrides_the_repository(artconf_source: Scenario) -> None:
    """A template's complete archiveLocation overrides the resolved repository, while a partial one
    (only archiveLogs) keeps the repository's location (spec 2.11, 4.2).
    """
    s = artconf_source
    s.config_map(s.wf_ns, CM, {"my-key": REPO_BUCKET})
    own = samples.location("own", "o:9000", "{{workflow.name}}/own")
    template = {"name": "main", "container": {}, "archiveLocation": own}
    wf = workflow(s, {"key": "my-key"}, spec={"templates": [template]})
    result = resolve(s, wf)
    location, where = archive_location(template, result.repository)
    assert samples.bucket_of(location) == "own" and "archiveLocation" in where
    assert sample_archive_key(wf, result)["key"] == "my-wf/own"
    partial = {"name": "main", "archiveLocation": {"archiveLogs": True}}
    location, _ = archive_location(partial, result.repository)
    assert samples.bucket_of(location) == "repo" and location.archive_logs is True


@verifies("resolution_archive_location")
def test_key_only_artifact_takes_the_resolved_repository(artconf_source: Scenario) -> None:
    """A key-only artifact relocated onto the resolved repository's location gets its bucket and
    endpoint and keeps its key (spec 0, 4.5).
    """
    s = artconf_source
    s.config_map(s.wf_ns, CM, {"my-key": REPO_BUCKET})
    result = resolve(s, workflow(s, {"key": "my-key"}))
    location, _ = archive_location(None, result.repository)
    artifact = parse_artifact({"name": "out", **samples.key_only("my-wf/out.tgz")})
    moved = relocate(artifact, location)
    found = (samples.bucket_of(moved), samples.endpoint_of(moved), moved.get_key())
    assert found == ("repo", "e:9000", "my-wf/out.tgz")
