"""Cells from records: the eight states, worst first; merge rules; profiles and targets."""

from __future__ import annotations

import pytest

from conformance.matrix import CELL_STATES, cells, render_failures, render_text
from conformance.profiles import ProfileError, load_profiles, parse_profile
from conformance.records import Record, merge_records, read_records, write_records
from conformance.targets import TargetError, parse_target
from drivers.core.capabilities import UnknownCapability


def rec(outcome: str, *, capability="load", backend="minio", mode="plain", case="c", **kw):
    fields = dict(
        run_id="r1", kit_sha="abc", target="reference", driver="s3", backend=backend,
        mode=mode, capability=capability, case=case, case_id=f"{case}[{backend}-{mode}]",
        outcome=outcome,
    )  # fmt: skip
    fields.update(kw)
    return Record(**fields)


def state_of(records, capability="load", column="minio"):
    table = cells(records)
    row = table[(table.capability == capability) & (table.column == column)]
    return row.iloc[0]["state"]


@pytest.mark.parametrize(
    "outcomes, expected",
    [
        (["pass"], "verified"),
        (["pass", "fail"], "failed"),
        (["pass", "infra-error", "fail"], "infra-error"),
        (["pass", "xpass"], "xpass"),
        (["pass", "xfail"], "known-deviation"),
        (["skip-driver", "pass"], "verified"),
        (["skip-driver", "skip-backend"], "unsupported-by-driver"),
        (["skip-backend"], "unsupported-by-backend"),
    ],
)
def test_a_cell_is_the_worst_of_its_cases(outcomes, expected):
    records = []
    for i, outcome in enumerate(outcomes):
        if outcome.startswith("skip-"):
            records.append(rec("skip", case=f"c{i}", skip_by=outcome.removeprefix("skip-")))
        else:
            records.append(rec(outcome, case=f"c{i}"))
    assert state_of(records) == expected


def test_a_capability_without_a_case_in_one_column_is_not_run():
    records = [rec("pass", capability="load"), rec("pass", capability="save", mode="tls")]
    assert state_of(records, "save", "minio") == "not-run"
    assert state_of(records, "load", "minio-tls") == "not-run"
    assert state_of(records, "save", "minio-tls") == "verified"


def test_text_matrix_has_the_legend_of_all_eight_states():
    text = render_text([rec("pass"), rec("fail", capability="save")])
    for state in CELL_STATES:
        assert state in text
    assert "load" in text and "save" in text


def test_records_round_trip_and_merge(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_records(a, [rec("pass", case="x")])
    write_records(b, [rec("fail", case="y")])
    assert [r.case for r in merge_records([a, b])] == ["x", "y"]
    assert read_records(a)[0].outcome == "pass"


def test_merge_refuses_mixed_runs_and_duplicates(tmp_path):
    a, b, c = (tmp_path / f"{n}.jsonl" for n in "abc")
    write_records(a, [rec("pass", case="x")])
    write_records(b, [rec("pass", case="x")])
    write_records(c, [rec("pass", case="z", run_id="r2")])
    with pytest.raises(ValueError, match="duplicate case"):
        list(merge_records([a, b]))
    with pytest.raises(ValueError, match="mixed run ids"):
        list(merge_records([a, c]))


def _lines(path, *records, tail: str = ""):
    path.write_text("".join(r.to_json() + "\n" for r in records) + tail)
    return path


def test_an_unknown_outcome_is_an_error_naming_the_line_and_the_valid_outcomes(tmp_path):
    path = _lines(tmp_path / "r.jsonl", rec("pass", case="a"), rec("passed", case="b"))
    with pytest.raises(ValueError) as caught:
        read_records(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: unknown outcome 'passed'; valid outcomes: pass, fail")
    assert "infra-error" in message


def test_a_truncated_last_line_is_left_out_with_a_warning_only_when_asked(tmp_path):
    cut = rec("fail", case="b").to_json()[:40]  # a writer killed mid-line: no newline
    path = _lines(tmp_path / "r.jsonl", rec("pass", case="a"), tail=cut)
    with pytest.raises(ValueError, match=f"^{path}:2: not a record"):
        read_records(path)  # strict by default: `artconf run` and merge keep refusing it
    warnings: list[str] = []
    assert [r.case for r in read_records(path, warnings=warnings)] == ["a"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{path}:2: the last line is cut short")


@pytest.mark.parametrize(
    ("tail", "line"),
    [
        ('{"run_id": "r1"\n', 2),  # bad JSON, but a whole line: not a killed writer
        ('{"run_id": "r1"}\n{"x"\n', 2),  # damage before the last line
        ("[1, 2]", 2),  # JSON, but not a record
        ('{"outcome": "pass"}', 2),  # a record without its fields
    ],
)
def test_other_damage_stays_an_error_naming_path_and_line(tmp_path, tail, line):
    path = _lines(tmp_path / "r.jsonl", rec("pass", case="a"), tail=tail)
    with pytest.raises(ValueError, match=f"^{path}:{line}: "):
        read_records(path, warnings=[])


def test_a_line_that_is_not_utf8_is_named(tmp_path):
    path = _lines(tmp_path / "r.jsonl", rec("pass", case="a"))
    with open(path, "ab") as handle:
        handle.write(b'{"run_id": "\xff"}\n')
    with pytest.raises(ValueError, match=f"^{path}:2: not a record"):
        read_records(path)


def test_a_complete_last_line_without_newline_is_a_record(tmp_path):
    path = _lines(tmp_path / "r.jsonl", rec("pass", case="a"), tail=rec("fail", case="b").to_json())
    warnings: list[str] = []
    assert [r.case for r in read_records(path, warnings=warnings)] == ["a", "b"]
    assert warnings == []


def test_every_shipped_profile_loads_and_every_gap_has_a_reason():
    profiles = load_profiles()
    assert set(profiles) == {
        *("minio", "moto", "azurite", "fake-gcs", "kube", "manifests"),
        *("nginx", "nginx-mtls", "nginx-artifactory", "raw"),
        *("git-http", "git-daemon", "git-ssh"),
        *("hdfs", "oss"),
    }
    for profile in profiles.values():
        for gaps in profile.gaps.values():
            assert all(gap.reason.strip() for gap in gaps.values())


def test_unknown_capability_in_a_profile_is_an_error():
    data = {"server": "x", "driver": "s3", "kind": "emulator", "description": "d",
            "gaps": {"teleport": {"reason": "no"}}}  # fmt: skip
    with pytest.raises(UnknownCapability, match="unknown capability 'teleport'"):
        parse_profile(data, "x.yaml")


def test_a_gap_without_a_reason_is_an_error():
    data = {"server": "x", "driver": "s3", "kind": "emulator", "description": "d",
            "gaps": {"load": {"reference": "r"}}}  # fmt: skip
    with pytest.raises(ProfileError, match="every gap needs a non-empty `reason`"):
        parse_profile(data, "x.yaml")


@pytest.mark.parametrize(
    "text, message",
    [
        ("python:nosuchmodule_xyz:f", "cannot import nosuchmodule_xyz"),
        ("python:json", "write python:package.module:callable"),
        ("python:json:nosuch", "has no callable 'nosuch'"),
        ("plugin:", "write plugin:SOCKET"),
        ("mystery", "expected `reference`"),
    ],
)
def test_bad_targets_say_what_to_write(text, message):
    with pytest.raises(TargetError, match=message):
        parse_target(text)


def test_a_target_that_declares_nothing_gets_argos_set():
    target = parse_target("python:tests.test_matrix:undeclared_factory")
    assert "is_directory" not in target.capabilities("gcs")  # Argo's GCS: NOT_IMPLEMENTED
    assert "is_directory" in target.capabilities("s3")


def undeclared_factory(artifact, secrets, context):  # a target for the test above
    raise AssertionError("never called")


def test_failures_name_the_contract_they_broke():
    failed = rec("fail", case="a")
    failed.contract = "delete of a file removes exactly that object (spec 1.1, 7.3)."
    failed.spec = "1.1, 7.3"
    failed.reason = "AssertionError: keys differ\nmore detail"
    text = render_failures([rec("pass", case="b"), failed])
    first = f"    first: {failed.case_id}: delete of a file removes exactly that object"
    assert text.splitlines() == [
        "failures: 1 cases in 1 groups (by capability and cause); first case of each:",
        "F load x1  AssertionError: keys differ",
        f"{first}  (spec 1.1, 7.3)",
    ]
    many = [rec("fail", capability=f"c{i}", case=str(i)) for i in range(5)]
    assert render_failures(many, limit=2).endswith(
        "... and 3 more groups (see records.jsonl or the report)"
    )


def test_backends_may_be_named_as_grid_columns():
    from conformance.columns import Column, chosen_columns
    from conformance.profiles import load_profiles
    from emulators.fleet import UsageError

    profiles = load_profiles()
    both = ["plain", "tls"]
    assert chosen_columns("minio-tls", profiles, both) == [Column("minio", "tls")]
    assert chosen_columns("minio,moto-tls", profiles, ["plain"]) == [
        Column("minio", "plain"),
        Column("moto", "tls"),
    ]
    assert chosen_columns("minio,minio-tls", profiles, both) == [
        Column("minio", "plain"),
        Column("minio", "tls"),
    ]
    with pytest.raises(UsageError, match=r"unknown minio-tlx; choose from .* grid column"):
        chosen_columns("minio-tlx", profiles, both)
