"""The report's "Artifact GC" section: the GC cells per kind and backend, one grid per strategy,
from synthetic records shaped as the GC suite writes them."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance import report
from conformance.records import Record
from conformance.report.artifact_gc import gc_section, strategy_of
from conformance.rundir import Run
from conformance.suites import test_gc as suite
from drivers.controller.gc import COMPLETION, DELETION, STRATEGIES

REPO = Path(__file__).resolve().parent.parent
FILE = "test_gc::test_gc_removes_file_outputs"
DIRECTORY = "test_gc::test_gc_removes_directory_outputs"


def _record(driver, backend, mode, case, params, outcome, reason="") -> Record:
    module, function = case.split("::")
    column = f"{driver}-{backend}" + ("-tls" if mode == "tls" else "")
    capability = "gc_directory" if "directory" in function else "gc_file"
    return Record(
        run_id="20261207T000000",
        kit_sha="abc",
        target="reference",
        driver=driver,
        backend=backend,
        mode=mode,
        capability=capability,
        case=case,
        case_id=f"conformance/suites/{module}.py::{function}[{column}-{params}]",
        outcome=outcome,
        reason=reason,
        skip_by="driver" if outcome == "skip" else "",
    )


def _records() -> list[Record]:
    return [
        # s3 on minio, both modes: the deletion strategy fails in plain mode only.
        _record("s3", "minio", "plain", FILE, COMPLETION, "pass"),
        _record("s3", "minio", "plain", FILE, DELETION, "fail", "objects after GC: <b>left</b>"),
        _record("s3", "minio", "tls", FILE, COMPLETION, "pass"),
        _record("s3", "minio", "tls", FILE, DELETION, "pass"),
        # a directory case whose id has another parameter past the strategy, and before it
        _record("s3", "minio", "plain", DIRECTORY, f"trailing-slash-{COMPLETION}", "pass"),
        _record("s3", "minio", "plain", DIRECTORY, f"{DELETION}-derived", "xfail", "declared"),
        # gcs: only the completion strategy ran; gc_directory is not the kind's (applicable)
        _record("gcs", "fake-gcs", "plain", FILE, COMPLETION, "pass"),
        _record("gcs", "fake-gcs", "plain", DIRECTORY, f"trailing-slash-{COMPLETION}", "skip"),
        # another capability: never in the section
        Record(
            run_id="20261207T000000", kit_sha="abc", target="reference", driver="s3",
            backend="minio", mode="plain", capability="delete",
            case="test_delete::test_delete_file",
            case_id="conformance/suites/test_delete.py::test_delete_file[s3-minio]",
            outcome="fail",
        ),
    ]  # fmt: skip


def _run(records: list[Record]) -> Run:
    meta = {"run_id": "20261207T000000", "target": "reference", "drivers": ["s3", "gcs"]}
    applicable = {"s3": ("delete", "gc_file", "gc_directory"), "gcs": ("delete", "gc_file")}
    return Run([Path("/nonexistent/run")], meta, records, applicable=applicable)


def _states(grid) -> dict[tuple[str, str, str], str]:
    return {
        (table["driver"], capability, cell["column"]): cell["state"]
        for table in grid.tables
        for capability, cells in table["rows"]
        for cell in cells
    }


def test_each_strategy_has_its_own_cells():
    completion, deletion = gc_section(_run(_records()))
    assert (completion.strategy, deletion.strategy) == STRATEGIES
    assert _states(completion) == {
        ("s3", "gc_file", "minio"): "verified",
        ("s3", "gc_file", "minio-tls"): "verified",
        ("s3", "gc_directory", "minio"): "verified",
        ("s3", "gc_directory", "minio-tls"): "not-run",
        ("gcs", "gc_file", "fake-gcs"): "verified",
    }
    assert _states(deletion) == {
        ("s3", "gc_file", "minio"): "failed",
        ("s3", "gc_file", "minio-tls"): "verified",
        ("s3", "gc_directory", "minio"): "known-deviation",
        ("s3", "gc_directory", "minio-tls"): "not-run",
        ("gcs", "gc_file", "fake-gcs"): "not-run",  # no deletion case ran there
    }
    assert deletion.counts == {"failed": 1, "known-deviation": 1, "verified": 1, "not-run": 2}
    assert (completion.cases, deletion.cases) == (5, 3)


def test_without_applicable_the_rows_are_the_gc_capabilities_with_cases():
    run = _run(_records())
    run.applicable = None
    completion, _ = gc_section(run)
    rows = {t["driver"]: [c for c, _ in t["rows"]] for t in completion.tables}
    assert rows == {"s3": ["gc_directory", "gc_file"], "gcs": ["gc_directory", "gc_file"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (COMPLETION, COMPLETION),
        (f"trailing-slash-{DELETION}", DELETION),
        (f"{DELETION}-derived", DELETION),
        ("no-strategy", ""),
    ],
)
def test_the_strategy_is_read_from_the_case_id(params, expected):
    assert strategy_of(_record("s3", "minio", "tls", FILE, params, "pass")) == expected


def test_the_suite_names_its_cases_by_the_strategies_the_report_reads():
    """The pytest ids of the suite's strategy parameter are the strategies' own names."""
    mark = suite.STRATEGIES.mark
    assert mark.args == ("strategy", STRATEGIES) and "ids" not in mark.kwargs


def test_a_run_without_gc_cases_has_no_section():
    assert gc_section(_run(_records()[-1:])) is None
    assert report.gc_html(_run(_records()[-1:])) == ""


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, str]] = []
        self.cells: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        if tag == "table":
            self.tables.append(attributes)
        if tag == "td":
            self.cells.append({**attributes, "strategy": self.tables[-1].get("data-strategy", "")})


def test_html_has_one_grid_per_strategy_and_kind_outside_the_legend_counts():
    html = report.gc_html(_run(_records()))
    parsed = _Cells()
    parsed.feed(html)
    grids = [(t["data-strategy"], t["data-driver"]) for t in parsed.tables]
    assert grids == [(s, d) for s in STRATEGIES for d in ("s3", "gcs")]
    assert all(t["class"] == "gc-grid" for t in parsed.tables)  # not the main grid's filter
    assert {c["class"] for c in parsed.cells} == {"gc-cell"}  # nor its legend counts
    failed = [c for c in parsed.cells if c["data-state"] == "failed"]
    assert [(c["strategy"], c["data-capability"], c["data-column"]) for c in failed] == [
        (DELETION, "gc_file", "minio")
    ]
    assert "failed: objects after GC: <b>left</b>" in failed[0]["title"]  # escaped, then parsed
    assert "<b>left" not in html
    assert f'id="gc-{COMPLETION}"' in html and f'id="gc-{DELETION}"' in html


def test_the_notebook_shows_the_section_after_the_grid():
    cells = json.loads((REPO / "notebooks" / "matrix_report.ipynb").read_text())["cells"]
    ids = [c["id"] for c in cells]
    assert ids.index("gc") == ids.index("grid") + 1
    assert "".join(cells[ids.index("gc")]["source"]) == "display(HTML(report.gc_html(run)))\n"
