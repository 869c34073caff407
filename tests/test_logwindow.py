"""The server-log window: the lines a case's server wrote while the case ran, not the banner."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conformance import logwindow
from conformance.logwindow import NOTHING, LogWindow, read_window, window_note
from conformance.recorder import WINDOW, WINDOW_NOTE
from emulators.endpoint import Endpoint
from tests.matrix_runs import run_matrix

BANNER = "MinIO Object Storage Server\nAPI: http://127.0.0.1:9000\n"

# An inner session: each case's fixture and body append to the fake server's log.
INNER = """
    import os
    import pytest

    def write(line):
        with open(os.environ["ARTCONF_TEST_LOG"], "a") as handle:
            handle.write(line + "\\n")

    @pytest.fixture
    def server():
        write("setup of {name}")
        yield
        write("teardown of {name}")

    def test_case_fails(server):
        write("PUT /bucket/key?X-Amz-Signature=0123456789abcdef 500 InternalError")
        assert False, "expected ERR_NOT_FOUND"

    def test_case_passes(server):
        write("GET /bucket/key 200")

    @pytest.mark.xfail(strict=True, reason="declared")
    def test_case_xpasses(server):
        write("GET /bucket/other 200")

    def test_not_a_matrix_case():
        write("no window for me")
        assert False
"""


class Reports:
    """Collects each case's reports' user properties, as the controlling process sees them."""

    def __init__(self) -> None:
        self.properties: dict[str, dict[str, str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.properties.setdefault(report.nodeid.split("::")[-1], {}).update(
            dict(report.user_properties)
        )


def _inner_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Path) -> Reports:
    tests = tmp_path / "inner"
    tests.mkdir()
    inner = textwrap.dedent(INNER).replace("{name}", "case")
    (tests / f"test_inner_{tmp_path.name}.py").write_text(inner)
    monkeypatch.setenv("ARTCONF_TEST_LOG", str(log))
    endpoint = Endpoint(
        name="fake", server="fake", url="http://127.0.0.1:1", host="127.0.0.1", port=1,
        tls=False, log=str(log),
    )  # fmt: skip

    def endpoint_of(item: pytest.Item) -> Endpoint | None:
        return endpoint if item.name.startswith("test_case") else None

    reports = Reports()
    code = pytest.main(
        ["-q", "-p", "no:cacheprovider", "--import-mode=importlib", str(tests)],
        plugins=[LogWindow(endpoint_of), reports],
    )
    assert code == pytest.ExitCode.TESTS_FAILED
    return reports


def test_a_failing_case_carries_only_the_lines_written_while_it_ran(tmp_path, monkeypatch):
    log = tmp_path / "server.log"
    log.write_text(BANNER)
    reports = _inner_run(tmp_path, monkeypatch, log)
    failed = reports.properties["test_case_fails"]
    lines = failed[WINDOW].splitlines()
    # Its own set-up, call and teardown, and nothing the server wrote before or after it.
    assert lines == [
        "setup of case",
        "PUT /bucket/key?X-Amz-Signature=<redacted> 500 InternalError",
        "teardown of case",
    ]
    assert "MinIO" not in failed[WINDOW]
    assert failed[WINDOW_NOTE] == "lines written while the case ran"
    # The strict xfail that passed is failing too: it carries its window.
    assert reports.properties["test_case_xpasses"][WINDOW].splitlines()[1] == (
        "GET /bucket/other 200"
    )


def test_passing_and_non_matrix_cases_carry_no_window(tmp_path, monkeypatch):
    log = tmp_path / "server.log"
    reports = _inner_run(tmp_path, monkeypatch, log)  # the log file appears during the run
    assert WINDOW not in reports.properties["test_case_passes"]
    assert WINDOW not in reports.properties["test_not_a_matrix_case"]
    assert "setup of case" in reports.properties["test_case_fails"][WINDOW]


def test_a_window_without_lines_says_the_server_logged_nothing(tmp_path):
    log = tmp_path / "server.log"
    log.write_text(BANNER)
    text, cut = read_window(str(log), log.stat().st_size)
    assert (text, cut) == ("", 0)
    assert window_note(cut=cut, parallel=False, empty=True) == NOTHING
    assert read_window(str(tmp_path / "missing.log"), 0) == ("", 0)


def test_a_long_window_keeps_its_last_lines_and_counts_the_cut(tmp_path, monkeypatch):
    log = tmp_path / "server.log"
    log.write_text(BANNER)
    start = log.stat().st_size
    with open(log, "a") as handle:
        handle.writelines(f"request {n}\n" for n in range(1000))
    text, cut = read_window(str(log), start)
    lines = text.splitlines()
    assert len(lines) == logwindow.MAX_LINES
    assert lines[-1] == "request 999" and lines[0] == f"request {1000 - logwindow.MAX_LINES}"
    assert cut == 1000 - logwindow.MAX_LINES
    note = window_note(cut=cut, parallel=True, empty=False)
    assert note == (
        "lines written while the case ran (other cases may interleave); "
        f"{cut} earlier lines cut, the whole log is linked"
    )
    # Beyond the chunk kept in memory, the lines before it are still counted, none twice.
    monkeypatch.setattr(logwindow, "CHUNK", 100)
    text, cut = read_window(str(log), start)
    assert cut + len(text.splitlines()) == 1000
    assert text.splitlines()[-1] == "request 999"


def test_a_window_is_capped_in_bytes_too(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("x" * 5000 + "\n" + "y" * 5000 + "\n")
    text, cut = read_window(str(log), 0)
    assert text == "y" * 5000 and cut == 1


def test_a_log_that_shrank_is_read_from_its_start(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("after rotation\n")
    assert read_window(str(log), 10_000) == ("after rotation", 0)


def test_a_failing_case_against_minio_shows_its_window_not_the_banner(tmp_path):
    """MinIO logs nothing for a failed request by default (no request log without `mc admin
    trace`): the record says so instead of showing the start banner."""
    repo = Path(__file__).resolve().parent.parent
    env = {"PYTHONPATH": f"{repo}:{repo / 'examples' / 'minio_driver'}"}
    result, records = run_matrix(
        None, tmp_path, target="python:minio_driver.buggy:make_buggy_driver",
        backends=("minio",), tls="off", workers="0", k="test_load_missing_key_is_not_found",
        env=env,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    (failed,) = [r for r in records if r.outcome == "fail"]
    assert failed.log_note == NOTHING
    assert failed.log_lines == ""
    whole = (tmp_path / "reports" / "latest" / failed.log).read_text()
    assert "MinIO Object Storage Server" in whole  # the banner stays in the linked log only
