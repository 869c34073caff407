"""The matrix report (issue 7): seeded runs, loading, diff, trend, the notebook and the HTML."""

from __future__ import annotations

import filecmp
import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from conformance import report
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
    assert {d["id"] for d in run.deviations} >= {"gcs-delete-missing-idempotent"}
    cell = run.cells.set_index(report.KEY).loc[("s3", "load", "minio-tls")]
    assert (cell["backend"], cell["mode"], cell["state"]) == ("minio", "tls", "failed")


def test_not_a_run_directory_is_one_clear_error(tmp_path):
    with pytest.raises(report.ReportError, match="not a run directory"):
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
    read = report.read_records

    def refuse(path, **kw):  # chmod 0 would not stop root
        if path == damaged:
            raise PermissionError(13, "Permission denied", str(path))
        return read(path, **kw)

    monkeypatch.setattr(report, "read_records", refuse)
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
        "did not run are missing from the matrix"
    ]
