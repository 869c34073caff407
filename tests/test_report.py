"""The matrix report (issue 7): seeded runs, loading, diff, trend, the notebook and the HTML."""

from __future__ import annotations

import dataclasses
import filecmp
import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from conformance import report, rundir
from conformance.cli import main
from conformance.matrix import CELL_STATES
from conformance.records import write_records

REPO = Path(__file__).resolve().parent.parent
RUNS = REPO / "tests" / "fixtures" / "runs"
RUN_IDS = sorted(p.name for p in RUNS.iterdir())
LATEST = RUNS / RUN_IDS[-1]


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_committed_notebook_is_what_the_build_script_builds():
    build = _module(REPO / "notebooks" / "build_matrix_report.py", "build_matrix_report")
    committed = (REPO / "notebooks" / "matrix_report.ipynb").read_text()
    assert committed == build.text(), "rerun: .venv/bin/python notebooks/build_matrix_report.py"
    nbformat.validate(nbformat.reads(committed, as_version=4))


def test_committed_fixture_runs_are_what_make_runs_writes(tmp_path):
    make_runs = _module(REPO / "tests" / "fixtures" / "make_runs.py", "make_runs")
    make_runs.main(tmp_path / "runs")
    compared = filecmp.dircmp(tmp_path / "runs", RUNS)
    stack, differ = [compared], []
    while stack:
        node = stack.pop()
        differ += node.left_only + node.right_only + node.diff_files + node.funny_files
        stack += node.subdirs.values()
    assert not differ, "rerun: .venv/bin/python tests/fixtures/make_runs.py"


def test_seeded_history_covers_every_state_an_infra_error_an_xpass_and_a_flip():
    assert len(RUN_IDS) >= 4
    states = set()
    for run_id in RUN_IDS:
        run = report.load_run(RUNS / run_id)
        for name in ("records.jsonl", "run.json", "deviations.yaml"):
            assert (RUNS / run_id / name).is_file()
        assert list((RUNS / run_id / "profiles").glob("*.yaml"))
        states |= set(run.cells["state"])
    assert states == set(CELL_STATES)
    latest = report.load_run(LATEST)
    infra = [r for r in latest.records if r.outcome == "infra-error"]
    assert infra and all((LATEST / r.log).is_file() for r in infra)
    assert any(r.outcome == "xpass" for r in latest.records)
    flips = report.trend(report.trend_runs(latest))
    assert flips.loc[("s3", "load", "minio-tls"), "flaky"]


def test_load_run_reads_meta_profiles_and_deviations_and_resolves_symlinks(tmp_path):
    (tmp_path / "latest").symlink_to(LATEST)
    run = report.load_run(tmp_path / "latest")
    assert run.dirs == [LATEST]
    assert run.run_id == RUN_IDS[-1]
    assert run.meta["kit_sha"] and run.meta["servers"]["moto"]
    assert set(run.profiles) == {"minio", "moto", "fake-gcs", "azurite"}
    assert {d.id for d in run.deviations} >= {"gcs-delete-missing-idempotent"}
    cell = run.cells.set_index(report.KEY).loc[("s3", "load", "minio-tls")]
    assert (cell["backend"], cell["mode"], cell["state"]) == ("minio", "tls", "failed")


def test_not_a_run_directory_is_one_clear_error(tmp_path):
    with pytest.raises(rundir.RunDirError, match="not a run directory"):
        report.load_run(tmp_path)


def test_previous_run_is_the_newest_earlier_one_and_none_for_the_first():
    run = report.load_run(LATEST)
    assert report.previous_run(run).run_id == RUN_IDS[-2]
    assert report.previous_run(report.load_run(RUNS / RUN_IDS[0])) is None
    assert report.previous_run(run, RUNS / RUN_IDS[0]).run_id == RUN_IDS[0]
    _, before, runs = report.load_all([LATEST], None, 3)
    assert before.run_id == RUN_IDS[-2]
    assert [r.run_id for r in runs] == RUN_IDS[-3:]


def test_natural_order_of_run_ids():
    ids = ["nightly-10", "nightly-9", "20260101T000000", "nightly-100"]
    assert sorted(ids, key=report.natural_key) == [
        "20260101T000000",
        "nightly-9",
        "nightly-10",
        "nightly-100",
    ]


def _cells(table):
    return {tuple(k) for k in table[["driver", "capability", "column"]].itertuples(index=False)}


def test_diff_finds_new_failures_fixes_and_unexpected_passes():
    run = report.load_run(LATEST)
    changes = report.diff(run, report.previous_run(run))
    assert _cells(changes["new failures"]) == {
        ("s3", "load", "minio-tls"),
        ("s3", "list_objects", "moto"),
        ("azure", "save", "azurite-tls"),
    }
    assert _cells(changes["fixes"]) == {("azure", "delete", "azurite")}
    assert _cells(changes["unexpected passes"]) == {("gcs", "delete", "fake-gcs")}
    assert report.diff(run, None) is None


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["verified", "failed", "verified"], True),
        (["verified", "failed", "verified", "failed"], True),
        (["verified", "failed", "failed", "verified"], False),  # broken, then fixed
        (["failed", "verified", "verified"], False),
        (["verified", None, "failed", None, "verified"], True),  # absent runs are skipped
        (["verified"], False),
    ],
)
def test_flaky_is_one_run_that_differs_from_both_neighbours(states, expected):
    assert report.flaky(states) is expected


def test_trend_lists_only_cells_that_changed_flaky_first():
    table = report.trend(report.trend_runs(report.load_run(LATEST)))
    assert table.index[0] == ("s3", "load", "minio-tls")
    assert table.loc[("s3", "load", "minio-tls"), "flips"] == 2  # run 0 had no minio-tls
    assert not table.loc[("azure", "delete", "azurite"), "flaky"]
    assert ("s3", "save", "minio") not in table.index


def test_log_tail_reads_the_end_of_a_large_log(tmp_path):
    log = tmp_path / "big.log"
    log.write_text("".join(f"line {n} " + "x" * 500 + "\n" for n in range(5000)))
    tail = report.log_tail(log, lines=3, width=20).splitlines()
    assert [t.split()[1] for t in tail] == ["4997", "4998", "4999"]
    assert all(len(t) <= 22 for t in tail)


def test_injected_parameters_follow_the_parameters_cell():
    nb = nbformat.read(report.NOTEBOOK, as_version=4)
    injected = report.inject_parameters(nb, {"run_dirs": ["/x"], "kit_prefix": "/p"})
    tags = [c.metadata.get("tags", []) for c in injected.cells]
    at = tags.index(["parameters"])
    assert tags[at + 1] == ["injected-parameters"]
    assert "run_dirs = ['/x']" in injected.cells[at + 1].source
    assert len(nb.cells) + 1 == len(injected.cells)


EXTERNAL = re.compile(
    r"<(?:script|link|style|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out" / "report.html"
    code = main(["report", str(LATEST), "--out", str(out)])
    assert code == 0
    return out


def test_report_writes_html_and_the_executed_notebook(built):
    text = built.read_text()
    executed = nbformat.read(built.with_suffix(".ipynb"), as_version=4)
    assert all(c.get("outputs") is not None for c in executed.cells if c.cell_type == "code")
    assert not [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    for anchor in ("headline", "grid", "failures", "diff", "trend", "fidelity", "deviations"):
        assert f'id="{anchor}"' in text
    for state in CELL_STATES:
        assert f'data-state="{state}"' in text
    assert "gcs-delete-missing-idempotent" in text
    assert RUN_IDS[-2] in text  # the previous run


def test_report_is_self_contained(built):
    text = built.read_text()
    assert not EXTERNAL.findall(text)
    for tag in re.findall(r"<(?:script|link)\b[^>]*>", text, re.IGNORECASE):
        assert not re.search(r"\b(?:src|href)\s*=", tag), tag
    assert "require.js" not in text and "MathJax" not in text and "mermaid" not in text.lower()


def test_log_links_are_relative_to_the_report(built):
    text = built.read_text()
    links = re.findall(r'<a class="log" href="([^"]+)"', text)
    assert links
    for link in links:
        assert not link.startswith(("/", "http")), link
        assert (built.parent / link).resolve().is_file(), link


def test_kernel_is_installed_in_the_kit_environment(built):
    spec = Path(sys.prefix) / "share" / "jupyter" / "kernels" / report.KERNEL_NAME
    assert (spec / "kernel.json").is_file()
    assert report.ensure_kernel() == spec  # idempotent


def test_a_kernel_outside_the_kit_environment_fails_in_one_line(tmp_path):
    with pytest.raises(report.ReportError) as info:
        report.build_report([LATEST], out=tmp_path / "r.html", kit_prefix="/not/the/kit")
    message = str(info.value)
    assert "\n" not in message
    assert "not the kit's environment /not/the/kit" in message


def test_report_of_the_first_run_says_no_previous_run(tmp_path):
    result = report.build_report([RUNS / RUN_IDS[0]], out=tmp_path / "first.html", trend=5)
    text = Path(result["html"]).read_text()
    assert "no previous run" in text


def test_report_command_rejects_a_missing_run_directory(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a run directory" in err[0]


def test_makefile_report_writes_the_report_and_keeps_the_run_status():
    text = (REPO / "Makefile").read_text()
    recipe = text.split("\nreport: bootstrap\n", 1)[1].split("\n\n", 1)[0]
    lines = recipe.splitlines()
    assert lines[0] == "\t$(BIN)/artconf emulators probe --tls both"
    # `artconf run --report` renders the report also when cells failed, and exits with the
    # run's status: no shell in between, so Ctrl-C and SIGTERM reach the run itself.
    assert lines[1:] == ["\t$(BIN)/artconf run --target reference --report $(RUN_ARGS)"]
    assert re.search(r"^bootstrap:.*\bbrowser\b", text, re.MULTILINE)


# --- damaged and partial runs -----------------------------------------------------------------
def _history(tmp_path: Path) -> Path:
    """A copy of the seeded runs to damage: tmp_path/reports/<run-id>/."""
    reports = tmp_path / "reports"
    for run_id in RUN_IDS:
        shutil.copytree(RUNS / run_id, reports / run_id)
    return reports


def _append(path: Path, text: str) -> None:
    with open(path, "a") as handle:
        handle.write(text)


def _unknown_outcome(run_dir: Path) -> None:
    line = (run_dir / "records.jsonl").read_text().splitlines()[0]
    _append(run_dir / "records.jsonl", line.replace('"outcome": "', '"outcome": "maybe-', 1))


DAMAGE = {
    "bad JSON line": lambda d: _append(d / "records.jsonl", "{not json\n"),
    "unknown outcome": _unknown_outcome,
    "truncated last line": lambda d: _append(d / "records.jsonl", '{"run_id": "202603'),
    "bad run.json": lambda d: (d / "run.json").write_text("{"),
    "no records.jsonl": lambda d: (d / "records.jsonl").unlink(),
    "bad profile": lambda d: (d / "profiles" / "minio.yaml").write_text("a: [\n"),
    "partial": lambda d: (d / "run.json").write_text(
        json.dumps({**json.loads((d / "run.json").read_text()), "partial": True})
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_earlier_run_is_skipped_with_a_note_naming_it(tmp_path, damage):
    reports = _history(tmp_path)
    damaged = reports / RUN_IDS[-2]
    DAMAGE[damage](damaged)
    run, before, runs = report.load_all([reports / RUN_IDS[-1]], None, 10)
    assert before.run_id == RUN_IDS[-3]  # the newest earlier run that can be read whole
    assert [r.run_id for r in runs] == [*RUN_IDS[:-2], RUN_IDS[-1]]
    assert len(run.skipped) == 1, run.skipped
    assert run.skipped[0].startswith(f"skipped earlier run {damaged}: ")
    assert "\n" not in run.skipped[0]
    assert not run.warnings
    assert report.previous_run(run).run_id == RUN_IDS[-3]


def test_an_unreadable_earlier_run_is_skipped(tmp_path, monkeypatch):
    reports = _history(tmp_path)
    damaged = reports / RUN_IDS[-2] / "records.jsonl"
    read = rundir.read_records

    def refuse(path, **kw):  # chmod 0 would not stop root
        if path == damaged:
            raise PermissionError(13, "Permission denied", str(path))
        return read(path, **kw)

    monkeypatch.setattr(rundir, "read_records", refuse)
    run, before, _ = report.load_all([reports / RUN_IDS[-1]], None, 10)
    assert before.run_id == RUN_IDS[-3]
    assert run.skipped == [
        f"skipped earlier run {damaged.parent}: {damaged}: cannot read: Permission denied"
    ]


def test_history_ignores_directories_that_are_not_runs(tmp_path):
    reports = _history(tmp_path)
    (reports / "bench").mkdir()  # e.g. reports/bench: no run.json, no records
    run = report.load_run(reports / RUN_IDS[-1])
    assert report.history(run) == [reports / r for r in RUN_IDS[:-1]]
    assert run.skipped == []


def test_a_damaged_current_run_is_one_error_naming_file_and_line(tmp_path, capsys):
    reports = _history(tmp_path)
    current = reports / RUN_IDS[-1]
    _unknown_outcome(current)
    lines = len((current / "records.jsonl").read_text().splitlines())
    assert main(["report", str(current), "--out", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(
        f"artconf: error: {current / 'records.jsonl'}:{lines}: unknown outcome"
    )
    assert not (tmp_path / "r.html").exists()


def test_a_partial_run_and_a_truncated_records_file_are_warnings_on_the_page(tmp_path):
    reports = _history(tmp_path)
    current = reports / RUN_IDS[-1]
    meta = json.loads((current / "run.json").read_text())
    (current / "run.json").write_text(
        json.dumps({**meta, "partial": True, "interrupted_by": "SIGINT"})
    )
    _append(current / "records.jsonl", '{"backend": "mi')
    run = report.load_run(current)
    assert run.partial
    assert run.warnings[0] == (
        "partial run (interrupted by SIGINT): cases that did not run are missing from the matrix"
    )
    assert run.warnings[1].startswith(f"{current / 'records.jsonl'}:")
    assert "cut short" in run.warnings[1]
    page = report.headline_html(run)
    assert 'id="warnings"' in page and "partial run (interrupted by SIGINT)" in page
    assert "cut short" in page
    assert "(partial run)" in page  # the verdict: the run has failing cells


def test_a_partial_run_that_passed_is_not_green(tmp_path):
    reports = _history(tmp_path)
    current = reports / RUN_IDS[-1]
    kept = [r for r in report.load_run(current).records if r.outcome in ("pass", "skip")]
    write_records(current / "records.jsonl", kept)
    assert report.verdict(report.load_run(current))[0] == "verified"
    (current / "run.json").write_text(json.dumps({"run_id": RUN_IDS[-1], "partial": True}))
    state, text = report.verdict(report.load_run(current))
    assert state != "verified" and "incomplete" in text
    assert "partial run (interrupted)" in report.headline_html(report.load_run(current))


def test_an_empty_run_says_it_ran_no_case_and_is_not_green(tmp_path):
    run_dir = tmp_path / "20260305T020000"
    run_dir.mkdir()
    (run_dir / "records.jsonl").write_text("")
    run = report.load_run(run_dir)
    state, text = report.verdict(run)
    assert state != "verified"
    assert report.STATE_STYLE["verified"][0] not in report.headline_html(run)  # no green
    assert "no case ran" in text


def test_report_command_warns_on_stderr_and_in_the_page(tmp_path, capsys):
    reports = _history(tmp_path)
    current = reports / RUN_IDS[-1]
    DAMAGE["bad JSON line"](reports / RUN_IDS[-2])
    DAMAGE["bad run.json"](reports / RUN_IDS[0])
    _append(current / "records.jsonl", '{"backend": "mi')
    out = tmp_path / "out" / "report.html"
    assert main(["report", str(current), "--out", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    warnings = [line for line in err if line.startswith("artconf: warning: ")]
    assert len(warnings) == 3, err
    assert "cut short" in warnings[0]  # this run's own warnings come first
    bad_records, bad_meta = sorted(warnings[1:], key=lambda line: RUN_IDS[0] in line)
    assert f"skipped earlier run {reports / RUN_IDS[-2]}: " in bad_records
    assert f"{reports / RUN_IDS[-2] / 'records.jsonl'}:" in bad_records
    assert f"skipped earlier run {reports / RUN_IDS[0]}: " in bad_meta
    assert not [line for line in err if "Traceback" in line]
    page = out.read_text()
    assert page.count('data-warning="skipped"') == 2
    assert page.count('data-warning="run"') == 1
    assert f"Against run <strong>{RUN_IDS[-3]}</strong>" in page


def test_report_of_an_empty_run_writes_the_page_and_fails(tmp_path, capsys):
    run_dir = tmp_path / "reports" / "20260305T020000"
    run_dir.mkdir(parents=True)
    (run_dir / "records.jsonl").write_text("")
    out = tmp_path / "empty.html"
    assert main(["report", str(run_dir), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert err == [f"artconf: error: the run has no records: no case ran; see {out}"]
    assert captured.out.strip() == str(out)
    assert "no case ran" in out.read_text()


def test_a_partial_run_given_as_previous_is_used_with_a_warning(tmp_path):
    reports = _history(tmp_path)
    DAMAGE["partial"](reports / RUN_IDS[0])
    run, before, _ = report.load_all([reports / RUN_IDS[-1]], reports / RUN_IDS[0], 3)
    assert before.run_id == RUN_IDS[0]
    assert run.warnings == [
        f"the run compared with, {reports / RUN_IDS[0]}: partial run (interrupted): cases that "
        "did not run are missing from the matrix",
        # The first run had no minio-tls server: named, since it was asked for explicitly.
        f"the run compared with, {reports / RUN_IDS[0]}, ran other backends (it lacks "
        "minio-tls): the changes below compare different drivers or servers",
    ]


# --- applicable capabilities, contracts, snapshots ----------------------------------------------
def _rows(page: str, driver: str) -> list[str]:
    """The capability rows of `driver`'s grid table, in page order."""
    table = re.search(rf'<table class="grid" data-driver="{driver}">(.*?)</table>', page, re.S)
    assert table, f"no grid table for {driver}"
    return re.findall(r'<th class="cap">([^<]*)</th>', table.group(1))


def _copy_latest(tmp_path: Path, **meta_changes) -> Path:
    """A copy of the newest seeded run with run.json keys changed (None: removed)."""
    run_dir = tmp_path / LATEST.name
    shutil.copytree(LATEST, run_dir)
    meta = json.loads((run_dir / "run.json").read_text())
    for key, value in meta_changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    (run_dir / "run.json").write_text(json.dumps(meta, indent=2) + "\n")
    return run_dir


def _vocabulary_order(names) -> list[str]:
    from drivers.core.capabilities import Capability

    return [c.value for c in Capability if c.value in set(names)]


def test_the_grid_shows_only_the_capabilities_applicable_to_each_driver():
    run = report.load_run(LATEST)
    assert any(r.driver == "s3" and r.capability == "auth_sas" for r in run.records)
    page = report.grid_html(run)
    for driver, names in json.loads((LATEST / "run.json").read_text())["applicable"].items():
        assert _rows(page, driver) == _vocabulary_order(names), driver
    assert "auth_sas" not in _rows(page, "s3")  # recorded, but it does not apply to s3
    assert "auth_sas" in _rows(page, "azure")
    assert not ((run.cells["driver"] == "s3") & (run.cells["capability"] == "auth_sas")).any()


def test_without_applicable_every_capability_with_records_has_a_row(tmp_path):
    run = report.load_run(_copy_latest(tmp_path, applicable=None))
    assert run.applicable is None and not run.warnings
    rows = _rows(report.grid_html(run), "s3")
    assert "auth_sas" in rows
    assert rows == sorted({r.capability for r in run.records if r.driver == "s3"})


def test_an_applicable_capability_without_cases_is_a_row_of_not_run_cells(tmp_path):
    applicable = json.loads((LATEST / "run.json").read_text())["applicable"]
    applicable["s3"] = [*applicable["s3"], "delete"]
    run = report.load_run(_copy_latest(tmp_path, applicable=applicable))
    assert _rows(report.grid_html(run), "s3") == _vocabulary_order(applicable["s3"])
    delete = run.cells[(run.cells["driver"] == "s3") & (run.cells["capability"] == "delete")]
    assert set(delete["column"]) == {"minio", "minio-tls", "moto"}
    assert set(delete["state"]) == {"not-run"} and set(delete["cases"]) == {0}


def test_a_malformed_applicable_is_a_warning_and_every_capability_is_shown(tmp_path):
    run_dir = _copy_latest(tmp_path, applicable=["load"])
    run = report.load_run(run_dir)
    assert run.applicable is None
    assert run.warnings == [
        f"{run_dir / 'run.json'}: applicable: not a mapping of driver -> capability names; "
        "ignored, the grid shows every capability with records"
    ]
    assert "auth_sas" in _rows(report.grid_html(run), "s3")


def _card(page: str, case_id: str) -> str:
    """The failure-group card whose first case is `case_id`."""
    start = page.rindex('<div class="failure-group', 0, page.index(f'data-case="{case_id}"'))
    end = page.find('<div class="failure-group', start + 1)
    return page[start : end if end != -1 else len(page)]


def test_failure_cards_show_the_contract_and_spec_above_the_message():
    run = report.load_run(LATEST)
    page = report.failures_html(run, LATEST)
    failing = [r for r in run.records if r.outcome in report.FAIL_OUTCOMES]
    assert failing and all(r.contract and r.spec for r in failing)
    for record in failing:
        card = _card(page, record.case_id)
        contract = card.index('<div class="contract"')
        assert contract < card.index('<div class="expected"')
        assert record.contract in card
        assert f'<span class="spec">spec {record.spec}</span>' in card


def _failing(n: int, **changes) -> list:
    """`n` copies of the seeded newest run's minio-tls load failure, as separate cases."""
    template = next(
        r for r in report.load_run(LATEST).records if r.outcome == "fail" and r.capability == "load"
    )
    out = []
    for i in range(n):
        record = dataclasses.replace(template, **changes)
        record.case_id = f"conformance/suites/test_tls.py::test_case_{i}[s3-minio-tls]"
        out.append(record)
    return out


TLS_REASON = (
    "drivers.core.errors.ArtifactError: ERR_INTERNAL: SSL: CERTIFICATE_VERIFY_FAILED "
    "certificate verify failed: self-signed certificate (_ssl.c:1006) for bucket '{bucket}' "
    "at 127.0.0.1:{port}"
)


def test_failures_sharing_a_cause_are_one_card_with_the_others_listed(tmp_path):
    run_dir = tmp_path / "20260305T020000"
    run_dir.mkdir()
    records = _failing(1, capability="save", reason="AssertionError: assert b'ab' == b'ac'")
    for i, record in enumerate(_failing(100)):
        record.case_id = record.case_id.replace("test_case", "test_tls_case")
        record.reason = TLS_REASON.format(bucket=f"artconf-{i:08x}a", port=40000 + i)
        records.append(record)
    write_records(run_dir / "records.jsonl", records)
    page = report.failures_html(report.load_run(run_dir), run_dir)
    assert page.count('<div class="failure-group') == 2
    assert "101 cases in 2 groups" in page
    tls = _card(page, records[1].case_id)
    assert page.index(tls) < page.index(_card(page, records[0].case_id))  # the largest first
    assert 'data-count="100"' in tls and "&times;100" in tls
    assert "for bucket &#39;&lt;bucket&gt;&#39; at 127.0.0.1:&lt;port&gt;" in tls  # the cause
    assert "hint: the CA arrives in the artifact&#39;s s3.caSecret" in tls
    assert "99 other cases of this group" in tls
    others = re.findall(r'<div class="failure other" data-case="([^"]+)"', tls)
    assert others == [r.case_id for r in records[2:]]
    # Expected vs actual of the first case, in one line, with its own values.
    expected = re.search(r"<div class=\"expected\" data-expected>([^<]*)</div>", tls).group(1)
    assert "artconf-00000000a" in expected and "\n" not in expected


def test_a_card_shows_expected_vs_actual_and_the_whole_message_in_whole_lines(tmp_path):
    run_dir = tmp_path / "20260305T020000"
    run_dir.mkdir()
    diff = "\n".join(f"  line {n}: {'x' * 30}" for n in range(100))
    reason = f"Failed: expected ERR_NOT_FOUND, got ERR_INTERNAL: boom\n{diff}"
    write_records(run_dir / "records.jsonl", _failing(1, reason=reason))
    page = report.failures_html(report.load_run(run_dir), run_dir)
    assert (
        '<div class="expected" data-expected>expected ERR_NOT_FOUND, got ERR_INTERNAL: boom</div>'
    ) in page
    message = re.search(r'<pre class="message">(.*?)</pre>', page, re.S).group(1)
    lines = message.splitlines()
    assert lines[-1] == f"({101 - report.MESSAGE_LINES} more lines cut)"
    assert all(
        line == "" or not line.startswith("  line") or line.endswith("x" * 30) for line in lines
    )
    assert len(lines) == report.MESSAGE_LINES + 1


def test_the_recorder_keeps_whole_lines_of_a_long_message():
    from conformance.recorder import whole_lines

    text = "expected X, got Y\n" + "\n".join(f"- {'y' * 40} {n}" for n in range(200))
    kept = whole_lines(text, 2000)
    assert len(kept) <= 2000 + 30
    lines = kept.splitlines()
    assert lines[0] == "expected X, got Y"
    assert all(re.fullmatch(r"- y{40} \d+", line) for line in lines[1:-1])  # none cut inside
    assert lines[-1] == f"({201 - len(lines) + 1} more lines cut)"
    assert whole_lines("short", 2000) == "short"


def test_a_card_shows_the_server_log_window_not_the_banner():
    run = report.load_run(LATEST)
    page = report.failures_html(run, LATEST)
    infra = next(r for r in run.records if r.outcome == "infra-error")
    card = _card(page, infra.case_id)
    assert "server log: lines written while the case ran (other cases may interleave)" in card
    assert "ERROR azurite exited with code 137" in card
    assert "server log, run" not in card  # the whole log's first line: not on the card
    assert "last 20 lines" not in card
    assert 'class="log" href=' in card  # the whole log stays linked
    gcs = next(r for r in run.records if r.outcome == "xpass")
    assert "(the server logged nothing while the case ran)" in _card(page, gcs.case_id)


def test_an_older_run_without_windows_shows_the_log_tail():
    run = report.load_run(RUNS / RUN_IDS[-2])
    failing = [r for r in run.records if r.outcome == "fail"]
    assert failing and not any(r.log_note for r in failing)
    page = report.failures_html(run, RUNS / RUN_IDS[-2])
    assert "server log: last 20 lines (this run recorded no window of the case)" in page


def test_a_failure_without_a_contract_has_no_contract_line(tmp_path):
    run_dir = tmp_path / "20260305T020000"
    run_dir.mkdir()
    failing = next(r for r in report.load_run(LATEST).records if r.outcome == "fail")
    failing.contract = failing.spec = ""
    write_records(run_dir / "records.jsonl", [failing])
    page = report.failures_html(report.load_run(run_dir), run_dir)
    assert failing.case_id in page and 'class="contract"' not in page


def test_a_snapshot_that_does_not_parse_is_a_warning_naming_the_file(tmp_path, capsys):
    run_dir = _copy_latest(tmp_path)
    bad_yaml, bad_profile = run_dir / "profiles" / "minio.yaml", run_dir / "profiles" / "moto.yaml"
    bad_yaml.write_text("a: [\n")
    bad_profile.write_text("server: moto\ndriver: s3\n")  # no kind, no description
    (run_dir / "deviations.yaml").write_text("- id: Not-Kebab\n  section: x\n")
    run = report.load_run(run_dir)
    assert len(run.warnings) == 3, run.warnings
    for path, words in (
        (bad_yaml, "not YAML"),
        (bad_profile, "missing field(s) kind, description"),
        (run_dir / "deviations.yaml", "deviation Not-Kebab"),
    ):
        note = next(w for w in run.warnings if w.startswith(f"{path}: snapshot left out: "))
        assert words in note and "\n" not in note
    assert set(run.profiles) == {"fake-gcs", "azurite"} and run.deviations == []
    out = tmp_path / "r.html"
    assert main(["report", str(run_dir), "--out", str(out)]) == 0  # a warning, not a crash
    err = capsys.readouterr().err
    assert err.count("snapshot left out") == 3 and "Traceback" not in err
    assert out.read_text().count('data-warning="run"') == 3


def test_profiles_and_deviations_are_read_through_their_parsers():
    from conformance.profiles import Profile
    from drivers.core.deviations import Deviation

    run = report.load_run(LATEST)
    assert all(isinstance(p, Profile) for p in run.profiles.values())
    assert all(isinstance(d, Deviation) for d in run.deviations)
    page = report.fidelity_html(run)
    moto = page[page.index('data-backend="moto"') :]
    moto = moto[: moto.index("</div>")]
    assert "<td><code>auth_static_keys</code></td><td>all modes</td>" in moto
    assert "<td><code>tls_custom_ca</code></td><td>plain</td>" in moto


def test_synthetic_runs_take_their_columns_from_the_backend_profiles(tmp_path):
    from conformance.profiles import load_profiles
    from conformance.report.synthetic import all_slots

    every_slot = len(all_slots(load_profiles()))
    (run_dir,) = report.write_synthetic_runs(tmp_path / "reports", every_slot, runs=1)
    run = report.load_run(run_dir)
    assert not run.warnings
    expected = set()
    for profile in load_profiles().values():
        modes = ["plain"] if profile.driver == "resolution" else profile.served_modes
        expected |= {profile.backend + ("-tls" if m == "tls" else "") for m in modes}
    assert set(run.meta["backends"]) == expected
    assert {(r.driver, r.backend) for r in run.records} == {
        (p.driver, p.backend) for p in load_profiles().values()
    }
    assert run.deviations and run.applicable  # the registry's snapshot, and the grid's rows
    assert all(r.capability in run.applicable[r.driver] for r in run.records)


def test_a_failing_case_outside_the_applicable_set_is_a_warning(tmp_path):
    run_dir = _copy_latest(tmp_path)
    records = report.load_run(run_dir).records
    outside = next(r for r in records if r.driver == "s3" and r.capability == "auth_sas")
    outside.outcome, outside.reason = "fail", "AssertionError: a SAS token under s3?"
    write_records(run_dir / "records.jsonl", records)
    run = report.load_run(run_dir)
    assert run.warnings == [
        "1 failing case(s) of capabilities outside run.json's applicable set, not in the grid "
        f"(listed under failures), e.g. {outside.case_id}"
    ]
    assert outside.case_id in report.failures_html(run, run_dir)


def test_a_cell_hover_names_its_worst_case_and_says_its_state_once():
    from types import SimpleNamespace

    from conformance.report.html import cell_title

    failed = SimpleNamespace(
        state="failed", reason="ERR_INTERNAL: boom", case="test_keys::test_save_keeps_keys",
        driver="s3", capability="save", column="minio", cases=3,
    )  # fmt: skip
    title = cell_title(failed)
    assert title.startswith("failed: ERR_INTERNAL: boom\nworst case: test_keys::test_save_keeps")
    skipped = SimpleNamespace(
        state="unsupported-by-driver", reason="unsupported-by-driver: t (s3) lacks save",
        case="test_keys::test_save_keeps_keys", driver="s3", capability="save", column="minio",
        cases=1,
    )  # fmt: skip
    assert cell_title(skipped).count("unsupported-by-driver:") == 1
