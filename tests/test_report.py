"""The matrix report (issue 7): seeded runs, loading, diff, trend, the notebook and the HTML."""

from __future__ import annotations

import filecmp
import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest

from conformance import report
from conformance.cli import main
from conformance.matrix import CELL_STATES

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
    assert "artconf run --target reference || status=$$?" in recipe
    assert "artconf report reports/latest --out reports/latest/report.html" in recipe
    assert recipe.rstrip().endswith("exit $$status")
    assert re.search(r"^bootstrap:.*\bbrowser\b", text, re.MULTILINE)
