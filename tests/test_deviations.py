"""drivers.core.deviations: the registry loads, validates and says what it must."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.core.deviations import (
    DEFAULT_PATH,
    Deviation,
    deviations,
    get_deviation,
    load_deviations,
    parse_deviations,
)
from drivers.core.errors import BadRequest

REQUIRED_IDS = {
    "s3-directory-delete-without-trailing-slash",
    "gcs-raw-prefix-siblings",
    "azure-raw-prefix-siblings",
    "gcs-is-directory-implemented",
    "gcs-delete-missing-idempotent",
    "gcs-directory-delete-tree",
    "azure-empty-blob-is-file",
    "zip-single-file-base-name",
    "ca-secret-invalid-pem",
    "s3-missing-secret-key-secret",
    "compression-level-always-honoured",
    "s3-no-such-bucket-not-found",
    "relocate-partial-location",
    "s3-untrimmed-credentials",
    "sse-c-requires-enable-encryption",
    "gcs-service-account-optional",
}

ROW = {
    "id": "some-row",
    "section": "1.3, 7.3",
    "argo_reference": "workflow/artifacts/s3/s3.go; #1",
    "argo_behaviour": "does X",
    "ours": "does Y",
}


def test_registry_loads_with_the_required_rows() -> None:
    rows = deviations()
    assert {row.id for row in rows} >= REQUIRED_IDS
    assert len({row.id for row in rows}) == len(rows)
    assert DEFAULT_PATH.name == "deviations.yaml"


def test_references_match_the_spec() -> None:
    assert {14387, 12857} <= set(get_deviation("s3-directory-delete-without-trailing-slash").issues)
    assert get_deviation("relocate-partial-location").issues == [12564]
    assert 9108 in get_deviation("gcs-service-account-optional").issues
    assert 10394 in get_deviation("compression-level-always-honoured").issues
    assert get_deviation("ca-secret-invalid-pem").section == "6.1"
    assert get_deviation("s3-untrimmed-credentials").section == "6.3"
    assert get_deviation("zip-single-file-base-name").section == "5.3"


def test_every_row_is_non_trivial() -> None:
    for row in deviations():
        assert row.argo_behaviour != row.ours
        assert "/" in row.argo_reference or "#" in row.argo_reference


def test_unknown_id() -> None:
    with pytest.raises(KeyError, match="unknown deviation 'nope'; known: "):
        get_deviation("nope")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"id": "Not_Kebab"}, "id"),
        ({"section": "section 1"}, "section"),
        ({"ours": ""}, "ours"),
        ({"extra": "x"}, "extra"),
        ({"argo_behaviour": 3}, "argo_behaviour"),
    ],
)
def test_invalid_rows_are_named(change: dict[str, object], fragment: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_deviations([{**ROW, **change}])
    assert fragment in str(info.value)


def test_missing_field_and_duplicates_and_shape() -> None:
    row = dict(ROW)
    del row["ours"]
    with pytest.raises(BadRequest, match="deviation some-row: ours"):
        parse_deviations([row])
    with pytest.raises(BadRequest, match="used twice"):
        parse_deviations([ROW, ROW])
    with pytest.raises(BadRequest, match="expected a list"):
        parse_deviations({"id": "x"})
    with pytest.raises(BadRequest, match="deviation #0"):
        parse_deviations(["just a string"])


def test_load_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(
        "- id: a-b\n  section: '2'\n  argo_reference: x/y.go\n  argo_behaviour: b\n  ours: c\n"
    )
    assert load_deviations(path) == (
        Deviation(id="a-b", section="2", argo_reference="x/y.go", argo_behaviour="b", ours="c"),
    )
    path.write_text("- id: [")
    with pytest.raises(BadRequest, match="invalid YAML"):
        load_deviations(path)
