"""Keys: key-format rendering (spec 4.3), default formats (4.1), output keys (4.4), pod names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.core.archives import ArchiveKind
from drivers.core.errors import BadRequest
from drivers.core.keys import (
    ALLOWED_VARIABLES_TEXT,
    DEFAULT_KEY_FORMAT,
    KEY_UNSUPPORTED,
    STORAGE_NOT_CONFIGURED,
    STRFTIME_CHARS,
    KeyContext,
    find_tags,
    fnv32a,
    go_base,
    log_key,
    output_file_name,
    output_key,
    pod_name,
    render_key,
)
from drivers.core.model import go_path_join

WHEN = datetime(2024, 3, 5, 14, 7, 9, 123456, tzinfo=UTC)


@pytest.fixture
def ctx() -> KeyContext:
    return KeyContext(
        workflow_name="wf-abc",
        workflow_namespace="argo",
        workflow_uid="1234-uid",
        creation_timestamp=WHEN,
        pod_name="wf-abc-main-42",
        service_account_name="runner",
        main_entrypoint="main",
        priority=3,
        workflow_parameters={"bucket-dir": "nightly"},
        workflow_labels={"app.kubernetes.io/name": "etl"},
        workflow_annotations={"team": "data"},
        input_parameters={"shard": "7"},
    )


def test_default_key_format_renders_workflow_and_pod(ctx: KeyContext) -> None:
    assert DEFAULT_KEY_FORMAT == "{{workflow.name}}/{{pod.name}}"
    assert render_key(DEFAULT_KEY_FORMAT, ctx) == "wf-abc/wf-abc-main-42"


def test_the_argo_test_key_format(ctx: KeyContext) -> None:
    """TestWorkflowControllerArchiveConfig's format (spec 4.3)."""
    fmt = (
        "{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/"
        "{{workflow.creationTimestamp.d}}/{{workflow.name}}/{{pod.name}}"
    )
    assert render_key(fmt, ctx) == "2024/03/05/wf-abc/wf-abc-main-42"


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("workflow.name", "wf-abc"),
        ("workflow.namespace", "argo"),
        ("workflow.uid", "1234-uid"),
        ("workflow.serviceAccountName", "runner"),
        ("workflow.mainEntrypoint", "main"),
        ("workflow.priority", "3"),
        ("pod.name", "wf-abc-main-42"),
        ("workflow.creationTimestamp", "2024-03-05T14:07:09Z"),
        ("workflow.creationTimestamp.RFC3339", "2024-03-05T14:07:09Z"),
        ("workflow.creationTimestamp.s", "1709647629"),
        ("workflow.creationTimestamp.B", "March"),
        ("workflow.creationTimestamp.b", "Mar"),
        ("workflow.creationTimestamp.m", "03"),
        ("workflow.creationTimestamp.A", "Tuesday"),
        ("workflow.creationTimestamp.a", "Tue"),
        ("workflow.creationTimestamp.d", "05"),
        ("workflow.creationTimestamp.H", "14"),
        ("workflow.creationTimestamp.I", "02"),
        ("workflow.creationTimestamp.M", "07"),
        ("workflow.creationTimestamp.S", "09"),
        ("workflow.creationTimestamp.Y", "2024"),
        ("workflow.creationTimestamp.y", "24"),
        ("workflow.creationTimestamp.p", "PM"),
        ("workflow.creationTimestamp.Z", "UTC"),
        ("workflow.creationTimestamp.z", "+0000"),
        ("workflow.creationTimestamp.L", ".123"),
        ("workflow.parameters.bucket-dir", "nightly"),
        ("workflow.labels.app.kubernetes.io/name", "etl"),
        ("workflow.annotations.team", "data"),
        ("inputs.parameters.shard", "7"),
    ],
)
def test_each_variable(ctx: KeyContext, variable: str, expected: str) -> None:
    assert render_key("{{" + variable + "}}", ctx) == expected


def test_every_strftime_character_is_a_variable(ctx: KeyContext) -> None:
    assert STRFTIME_CHARS == "BbmAadHIMSYypZzL"
    for char in STRFTIME_CHARS:
        assert render_key(f"{{{{workflow.creationTimestamp.{char}}}}}", ctx)


def test_time_zones_and_morning_hours() -> None:
    plus_one = timezone(timedelta(hours=1, minutes=30))
    ctx = KeyContext(creation_timestamp=datetime(2001, 1, 2, 0, 5, 0, tzinfo=plus_one))
    fmt = (
        "{{workflow.creationTimestamp}} {{workflow.creationTimestamp.I}}"
        "{{workflow.creationTimestamp.p}} {{workflow.creationTimestamp.z}}"
        " {{workflow.creationTimestamp.Z}}"
    )
    assert render_key(fmt, ctx) == "2001-01-02T00:05:00+01:30 12AM +0130 +0130"
    minus = timezone(-timedelta(hours=5), "EST")
    est = KeyContext(creation_timestamp=datetime(2001, 1, 2, 13, 0, tzinfo=minus))
    assert render_key("{{workflow.creationTimestamp}}", est) == "2001-01-02T13:00:00-05:00"
    assert render_key("{{workflow.creationTimestamp.Z}}", est) == "EST"


def test_naive_creation_time_is_utc() -> None:
    ctx = KeyContext(creation_timestamp=datetime(1970, 1, 1, 0, 1, 0))
    assert render_key("{{workflow.creationTimestamp.s}}", ctx) == "60"


def test_whitespace_inside_tags_is_trimmed(ctx: KeyContext) -> None:
    assert render_key("{{ workflow.name }}/x", ctx) == "wf-abc/x"


def test_text_without_tags_is_kept(ctx: KeyContext) -> None:
    assert render_key("plain/key.tgz", ctx) == "plain/key.tgz"
    assert render_key("", ctx) == ""


@pytest.mark.parametrize(
    "tag",
    [
        "workflow.foo",
        "pod.namespace",
        "steps.x.outputs.result",
        "inputs.parameters.",
        "workflow.creationTimestamp.Q",
        "outputs.parameters.x",
        "",
    ],
)
def test_unknown_tag_is_bad_request_naming_it(ctx: KeyContext, tag: str) -> None:
    with pytest.raises(BadRequest) as info:
        render_key(f"a/{{{{{tag}}}}}/b", ctx)
    message = str(info.value)
    assert f"{{{{{tag}}}}}" in message
    assert "Allowed variables" in message
    assert ALLOWED_VARIABLES_TEXT in message


def test_expression_tag_is_rejected(ctx: KeyContext) -> None:
    with pytest.raises(BadRequest, match=r"\{\{=sprig\.date\(\)\}\}.*expression"):
        render_key("{{=sprig.date()}}/x", ctx)


def test_missing_value_names_the_variable() -> None:
    ctx = KeyContext(workflow_name="wf")
    for tag in ("pod.name", "workflow.uid", "workflow.creationTimestamp.Y"):
        with pytest.raises(BadRequest, match=rf"'{tag}' has no value"):
            render_key(f"{{{{workflow.name}}}}/{{{{{tag}}}}}", ctx)
    with pytest.raises(BadRequest, match=r"'inputs\.parameters\.nope' has no value"):
        render_key("{{inputs.parameters.nope}}", ctx)


def test_all_problems_are_reported_at_once(ctx: KeyContext) -> None:
    with pytest.raises(BadRequest) as info:
        render_key("{{a}}/{{workflow.name}}/{{b}}", ctx)
    assert "{{a}}" in str(info.value)
    assert "{{b}}" in str(info.value)


def test_unclosed_tag_is_rejected(ctx: KeyContext) -> None:
    with pytest.raises(BadRequest, match="no closing"):
        render_key("{{workflow.name}}/{{pod.name", ctx)
    assert find_tags("{{a}}x{{ b }}") == ["a", " b "]


def test_go_path_helpers() -> None:
    assert go_path_join("a/", "/b", "c") == "a/b/c"
    assert go_path_join("", "") == ""
    assert go_path_join("a", "../b") == "b"
    assert go_base("/tmp/out/") == "out"
    assert go_base("file.txt") == "file.txt"
    assert go_base("") == "."
    assert go_base("///") == "/"


@pytest.mark.parametrize(
    ("strategy", "path", "expected"),
    [
        (ArchiveKind.TAR, "/tmp/out", "wf/pod/result.tgz"),
        (ArchiveKind.ZIP, "/tmp/out", "wf/pod/result.zip"),
        (ArchiveKind.NONE, "/tmp/out/data.csv", "wf/pod/data.csv"),
        (ArchiveKind.NONE, "/tmp/out/", "wf/pod/out"),
    ],
)
def test_output_key_without_artifact_key(strategy: ArchiveKind, path: str, expected: str) -> None:
    key = output_key("wf/pod", "result", strategy, path.endswith("/"), source_path=path)
    assert key == expected


@pytest.mark.parametrize("strategy", list(ArchiveKind))
def test_output_key_with_a_key_is_verbatim(strategy: ArchiveKind) -> None:
    """Nothing is appended to an explicit key, not even .tgz (spec 4.4)."""
    key = output_key(
        "wf/pod", "result", strategy, True, source_path="/tmp/x", artifact_key="my/key"
    )
    assert key == "my/key"
    assert output_key(None, "r", strategy, False, artifact_key="k") == "k"


def test_output_key_errors_without_archive_location() -> None:
    with pytest.raises(BadRequest, match=KEY_UNSUPPORTED):
        output_key(None, "r", ArchiveKind.TAR, False)
    with pytest.raises(BadRequest, match="artifact storage is not configured"):
        output_key("", "r", ArchiveKind.TAR, False)
    assert STORAGE_NOT_CONFIGURED.startswith("artifact storage is not configured; see the docs")


def test_output_file_name_none_needs_path() -> None:
    with pytest.raises(ValueError, match="source path"):
        output_file_name("r", ArchiveKind.NONE)


def test_log_key() -> None:
    assert log_key("wf/pod", "main") == "wf/pod/main.log"


def test_fnv32a_known_values() -> None:
    assert fnv32a("") == 0x811C9DC5
    assert fnv32a("hello") == 1335831723
    assert fnv32a("world") == 933488787


def test_pod_names() -> None:
    assert pod_name("wf", "wf", "main", "wf") == "wf"
    assert pod_name("wf", "wf[0].step", "main", "wf-123") == f"wf-main-{fnv32a('wf[0].step')}"
    assert pod_name("wf", "wf[0].step", "main", "wf-123", version="v1") == "wf-123"
    long = pod_name("w" * 300, "node", "t", "id")
    assert len(long) <= 253
    assert long.startswith("w" * 242 + "-")
    with pytest.raises(BadRequest, match="POD_NAMES"):
        pod_name("wf", "n", "t", "id", version="v3")


@given(
    name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=40),
    pod=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=40),
)
def test_rendered_default_key_has_no_tags(name: str, pod: str) -> None:
    key = render_key(DEFAULT_KEY_FORMAT, KeyContext(workflow_name=name, pod_name=pod))
    assert key == f"{name}/{pod}"
    assert "{{" not in key
