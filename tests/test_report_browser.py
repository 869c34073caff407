"""The report in a real browser: Debian's headless Chromium, no network, the DOM after scripts.

Builds the report of the newest seeded run (tests/fixtures/runs/) into reports/browser-test/,
dumps its DOM with Chromium (`--dump-dom`, every host unresolvable) and checks every grid cell's
state and `title` reason, the failures section, the diff against the previous run and the trend.
Saves a screenshot beside the report (reports/browser-test/report.png). Chromium comes from
`make bootstrap` (the `browser` step); when it is missing or cannot start the test FAILS in one
line, it never skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from filelock import FileLock

from conformance import report
from conformance.matrix import CELL_STATES

REPO = Path(__file__).resolve().parent.parent
RUNS = REPO / "tests" / "fixtures" / "runs"
RUN_IDS = sorted(p.name for p in RUNS.iterdir())
OUT = REPO / "reports" / "browser-test"


class Dom(HTMLParser):
    """What the checks need from the dumped DOM: cells, failures, diff rows, trend rows."""

    def __init__(self) -> None:
        super().__init__()
        self.root: dict[str, str] = {}
        self.cells: dict[tuple[str, str, str], dict[str, str]] = {}
        self.failures: dict[str, str] = {}
        self.diff: dict[str, set[str]] = {}
        self.trend: dict[str, str] = {}
        self.sections: dict[str, list[str]] = {}
        self._diff_table: str | None = None
        self._trend_table = False
        self._section: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "html":
            self.root = a
        if tag == "div" and "artconf" in classes and "id" in a:
            self._section = a["id"]
            self.sections.setdefault(a["id"], [])
        if tag == "td" and "cell" in classes:
            self.cells[(a["data-driver"], a["data-capability"], a["data-column"])] = a
        if tag == "div" and "failure" in classes:
            self.failures[a["data-case"]] = a["data-outcome"]
        if tag == "table" and "data-diff" in a:
            self._diff_table = a["data-diff"]
            self.diff.setdefault(a["data-diff"], set())
        if tag == "table" and "trend" in classes:
            self._trend_table = True
        if tag == "tr" and "data-cell" in a:
            if self._diff_table:
                self.diff[self._diff_table].add(a["data-cell"])
            elif self._trend_table:
                self.trend[a["data-cell"]] = a["data-flaky"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._diff_table, self._trend_table = None, False

    def handle_data(self, data: str) -> None:
        if self._section and data.strip():
            self.sections[self._section].append(data.strip())


def chromium() -> str:
    path = shutil.which("chromium")
    if not path:
        pytest.fail(
            "chromium not found: `make bootstrap` installs Debian's chromium (browser step)",
            pytrace=False,
        )
    return path


def browse(html: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    argv = [
        chromium(),
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # no external host is reachable
        f"--user-data-dir={profile}",
        *extra,
        html.as_uri(),
    ]
    if os.geteuid() == 0:
        argv.insert(2, "--no-sandbox")
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"chromium could not run: {exc}", pytrace=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.fail(f"chromium exited {result.returncode}: {last}", pytrace=False)
    return result


@pytest.fixture(scope="module")
def page(tmp_path_factory, testrun_uid):
    # xdist workers share reports/browser-test/: the first one of this run builds it.
    OUT.mkdir(parents=True, exist_ok=True)
    html, stamp = OUT / "report.html", OUT / ".testrun"
    with FileLock(str(OUT / ".lock")):
        if not html.is_file() or not stamp.is_file() or stamp.read_text() != testrun_uid:
            for stale in OUT.glob("report.*"):
                stale.unlink()
            report.build_report([RUNS / RUN_IDS[-1]], out=html)
            stamp.write_text(testrun_uid)
    profile = tmp_path_factory.mktemp("chromium-profile")
    dom = Dom()
    dom.feed(browse(html, profile, "--virtual-time-budget=3000", "--dump-dom").stdout)
    return html, profile, dom


def test_scripts_ran(page):
    _, _, dom = page
    assert dom.root.get("data-artconf-ready") == "yes"


def test_every_cell_has_its_state_and_reason_on_hover(page):
    _, _, dom = page
    expected = report.load_run(RUNS / RUN_IDS[-1]).cells
    assert len(dom.cells) == len(expected)
    for row in expected.itertuples(index=False):
        cell = dom.cells[(row.driver, row.capability, row.column)]
        assert cell["data-state"] == row.state, (row.driver, row.capability, row.column)
        assert cell["title"] == report.cell_title(row)
        if row.reason:
            assert row.reason in cell["title"]
    assert {c["data-state"] for c in dom.cells.values()} >= set(CELL_STATES)


def test_legend_lists_the_eight_states_with_counts(page):
    _, _, dom = page
    text = " ".join(dom.sections["grid"])
    for state in report.CELL_STATES:
        assert state in text
    assert "(19)" in text  # verified cells, counted by the page's script


def test_failures_section_has_each_failure_message_and_log(page):
    _, _, dom = page
    run = report.load_run(RUNS / RUN_IDS[-1])
    failing = {r.case_id: r.outcome for r in run.records if r.outcome in report.FAIL_OUTCOMES}
    assert dom.failures == failing
    text = "\n".join(dom.sections["failures"])
    assert "azurite-tls stopped answering" in text
    assert "ERROR azurite exited with code 137" in text  # the tail of the server log
    assert "logs/azurite-tls.log" in text


def test_diff_against_the_previous_run(page):
    _, _, dom = page
    assert dom.diff["new failures"] == {
        "s3/load/minio-tls",
        "s3/list_objects/moto",
        "azure/save/azurite-tls",
    }
    assert dom.diff["fixes"] == {"azure/delete/azurite"}
    assert dom.diff["unexpected passes"] == {"gcs/delete/fake-gcs"}
    assert RUN_IDS[-2] in " ".join(dom.sections["diff"])


def test_trend_flags_the_flipping_cell(page):
    _, _, dom = page
    assert dom.trend["s3/load/minio-tls"] == "yes"
    assert dom.trend["azure/delete/azurite"] == "no"
    assert "1 flaky" in " ".join(dom.sections["trend"])


def test_screenshot_beside_the_report(page):
    html, profile, _ = page
    shot = html.with_suffix(".png")
    with FileLock(str(OUT / ".lock")):
        browse(html, profile, "--window-size=1400,3000", f"--screenshot={shot}")
        data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
