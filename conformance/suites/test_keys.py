"""Keys: a repository's keyFormat, rendered and staged by the executor, is where the bytes land
(spec 4.1, 4.3, 4.4, 4.5, 11 item 3).

The case builds the repository a cluster admin would write for this backend, lets the
executor's staging layer (`drivers.core.executor`) derive the key and call the driver, and
checks the key on the server.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conformance import checks
from conformance.cases import requires, verifies
from drivers.core.executor import StagingContext, load_input, save_output
from drivers.core.keys import KeyContext, render_key
from drivers.core.model import parse_artifact, parse_repository

KEYS = KeyContext(
    workflow_name="wf-keys",
    workflow_namespace="argo",
    workflow_uid="0b7e1c2a-5f3d-4a4e-9c1e-2d3f4a5b6c7d",
    creation_timestamp=datetime(2026, 3, 7, 9, 5, 2, tzinfo=UTC),
    pod_name="wf-keys-main-1234567890",
    workflow_parameters={"team": "data team", "run": "r-7"},
    input_parameters={"shard": "03"},
)

# (keyFormat, the key it renders to with KEYS)
KEY_FORMATS = [
    pytest.param("{{workflow.name}}/{{pod.name}}", "wf-keys/wf-keys-main-1234567890", id="default"),
    pytest.param(
        "{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/"
        "{{workflow.creationTimestamp.d}}/{{workflow.name}}/{{pod.name}}",
        "2026/03/07/wf-keys/wf-keys-main-1234567890",
        id="dated",
    ),
    pytest.param(
        "teams/{{workflow.parameters.team}}/{{workflow.namespace}}/{{ inputs.parameters.shard }}",
        "teams/data team/argo/03",
        id="parameters",
    ),
    pytest.param("fixed/prefix", "fixed/prefix", id="no-variables"),
]


def staging(store, key_format: str) -> StagingContext:
    """The executor's staging for this case's bucket as the repository (ConfigMap value) a
    cluster admin would write, with `key_format`."""
    repository = parse_repository(store.kind.repository(store.location, key_format))
    return StagingContext(
        temp_dir=store.tmp / "staging",
        keys=KEYS,
        archive_location=repository.to_artifact_location(),
    )


def key_only(store, name: str, key: str, **extra) -> dict:
    """A key-only artifact (what Argo records in the node status, spec 4.4)."""
    return {"name": name, **store.kind.key_only(key, store.location), **extra}


@verifies("key_format")
@requires("save", "archive_none")
@pytest.mark.parametrize(("key_format", "rendered"), KEY_FORMATS)
def test_output_lands_at_rendered_key_format(store, key_format, rendered):
    """An output without a key is saved at `<rendered keyFormat>/<file name>` (spec 4.3, 4.4)."""
    assert render_key(key_format, KEYS) == rendered  # the table's own expectation
    path = store.local_file("work/result.txt", b"result")
    artifact = parse_artifact({"name": "result", "archive": {"none": {}}})
    recorded = save_output(store.driver, path, artifact, staging(store, key_format))
    assert recorded is not None
    assert store.kind.object_key(recorded) == f"{rendered}/result.txt"
    checks.same_keys(store.objects.keys(), [f"{rendered}/result.txt"])
    checks.same_bytes(store.objects.get(f"{rendered}/result.txt"), b"result")


# (archive strategy, local source, expected last key segment(s))
DERIVATIONS = [
    pytest.param(None, "file", ["main-out.tgz"], marks=requires("archive_tar"), id="default-tar"),
    pytest.param({"tar": {}}, "dir", ["main-out.tgz"], marks=requires("archive_tar"), id="tar"),
    pytest.param({"zip": {}}, "dir", ["main-out.zip"], marks=requires("archive_zip"), id="zip"),
    pytest.param(
        {"none": {}}, "file", ["report.csv"], marks=requires("archive_none"), id="none-file"
    ),
    pytest.param(
        {"none": {}},
        "dir",
        ["reports/a.csv", "reports/sub/b.csv"],
        marks=requires("archive_none", "save_directory"),
        id="none-directory",
    ),
]


@verifies("save")
@requires("key_format")
@pytest.mark.parametrize(("archive", "source", "expected"), DERIVATIONS)
def test_output_key_derivation(store, archive, source, expected):
    """Output keys are `<key>/<name>.tgz`, `.zip`, or the path's base name (spec 4.4, 11.3)."""
    if source == "file":
        path = store.local_file("work/report.csv", b"a,b\n1,2\n")
    else:
        path = store.local_tree("work/reports", {"a.csv": b"a", "sub/b.csv": b"b"})
    fields = {"name": "main-out", **({"archive": archive} if archive else {})}
    recorded = save_output(store.driver, path, parse_artifact(fields), staging(store, "wf/pod"))
    assert recorded is not None
    assert store.kind.object_key(recorded) == f"wf/pod/{expected[0].split('/')[0]}"
    checks.same_keys(store.objects.keys(), [f"wf/pod/{e}" for e in expected])


@verifies("save")
@requires("archive_tar", "key_format")
def test_explicit_key_is_used_verbatim(store):
    """A key-only output's own key is used as is: nothing appended, no `.tgz` (spec 4.4)."""
    path = store.local_tree("work/out", {"a.txt": b"a"})
    artifact = parse_artifact(key_only(store, "out", "explicit/name-without-suffix"))
    recorded = save_output(store.driver, path, artifact, staging(store, "wf/pod"))
    assert recorded is not None
    assert store.kind.object_key(recorded) == "explicit/name-without-suffix"
    checks.same_keys(store.objects.keys(), ["explicit/name-without-suffix"])


@verifies("load")
@requires("archive_none", "key_format")
def test_key_only_input_loads_from_the_repository(store):
    """A key-only input is relocated into the repository's bucket and loaded (spec 4.5)."""
    store.objects.put("wf-keys/wf-keys-main-1234567890/in.txt", b"input")
    artifact = parse_artifact(
        key_only(store, "in", "wf-keys/wf-keys-main-1234567890/in.txt", archive={"none": {}})
    )
    dest = load_input(
        store.driver, artifact, store.tmp / "inputs" / "in.txt", staging(store, "unused")
    )
    assert dest is not None
    checks.same_file(dest, b"input")
