"""The differential lane (conformance/differential.py, conformance/suites/test_differential.py):
it finds a difference between a target and the reference where there is one, only there, and
says what each side did; its declarations are registry rows, one per kind per scenario."""

from __future__ import annotations

import re
from collections import Counter

from conformance import differential as lane
from drivers.core.deviations import deviations
from tests.matrix_runs import failing_cases, run_matrix

LANE = "test_differential"


def _lane_run(artconf_server, tmp_path, factory: str):
    return run_matrix(
        artconf_server,
        tmp_path,
        target=f"python:tests.broken.ops:{factory}",
        backends=("minio",),
        tls="off",
        k=LANE,
        shared_servers=True,
    )


def test_the_reference_agrees_with_itself_in_every_scenario(artconf_server, tmp_path):
    result, records = _lane_run(artconf_server, tmp_path, "unchanged_in_the_lane")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lane_records = [r for r in records if r.case.startswith(LANE)]
    expected = sum(len(lane.scenarios(op)) for op in lane.OPERATIONS)
    assert len(lane_records) == expected
    assert Counter(r.outcome for r in lane_records) == {"pass": expected}


def test_a_driver_listing_folder_markers_differs_exactly_there(artconf_server, tmp_path):
    result, records = _lane_run(
        artconf_server, tmp_path, "list_includes_folder_markers_in_the_lane"
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert failing_cases(records) == {f"{LANE}::test_list_objects_agrees_with_the_reference"}
    failed = {
        re.sub(r".*\[s3-minio-(.*)\]$", r"\1", r.case_id): r.reason
        for r in records
        if r.outcome == "fail"
    }
    # MinIO lists no marker for a prefix holding nothing but its marker: only the tree with
    # markers beside its files can show the bug there.
    assert set(failed) == {"marker-with-files/list_objects"}
    reason = failed["marker-with-files/list_objects"]
    target = "python:tests.broken.ops:list_includes_folder_markers_in_the_lane"
    assert f"{target}: ok, ['m/', 'm/a.txt', 'm/sub/', 'm/sub/b.txt']" in reason, reason
    assert "reference: ok, ['m/a.txt', 'm/sub/b.txt']" in reason, reason


def test_a_target_that_does_not_ask_for_the_lane_runs_none_of_it(artconf_server, tmp_path):
    result, records = _lane_run(artconf_server, tmp_path, "list_includes_folder_markers")
    assert not [r for r in records if r.case.startswith(LANE)]
    assert result.returncode != 0 and "no case" in (result.stdout + result.stderr).lower(), (
        result.stdout[-2000:] + result.stderr[-2000:]
    )


def test_each_explanation_is_a_registry_row_and_one_per_kind():
    rows = {d.id: d.driver for d in deviations()}
    names = {s.name for op in lane.OPERATIONS for s in lane.scenarios(op)}
    for scenario, ids in lane.EXPLAINED.items():
        assert scenario in names, f"EXPLAINED names no scenario {scenario!r}"
        unknown = [i for i in ids if i not in rows]
        assert not unknown, f"{scenario}: not in drivers/core/deviations.yaml: {unknown}"
        kinds = Counter(rows[i] for i in ids)
        assert max(kinds.values()) == 1, f"{scenario}: two rows for one kind: {ids}"


def test_outcomes_compare_codes_results_and_objects_never_messages():
    assert lane.Outcome(code="ERR_NOT_FOUND", message="a") == lane.Outcome(
        code="ERR_NOT_FOUND", message="b"
    )
    assert lane.Outcome(result=["a"]) != lane.Outcome(result=["a", "b"])
    same = lane.Outcome(result=True)
    assert lane.difference(same, lane.Outcome(result=True), "t") == ""
    text = lane.difference(lane.Outcome(result="nothing"), lane.Outcome(code="ERR_INTERNAL"), "t")
    assert "t: ok, 'nothing'" in text and "reference: ERR_INTERNAL" in text
