"""Shared set-up of the kit's own tests: servers on demand, a clean CA environment, skip policy."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

# The machine points these at the system bundle; a test must say whom it trusts explicitly.
CA_ENVIRONMENT = (
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "AWS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "STORAGE_EMULATOR_HOST",
)


@pytest.fixture(autouse=True)
def _no_ca_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CA_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TMPDIR is an empty directory, and every `tempfile` constructor raises."""
    empty = tmp_path / "tmpdir"
    empty.mkdir()
    monkeypatch.setenv("TMPDIR", str(empty))
    monkeypatch.setattr(tempfile, "tempdir", str(empty))

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a temporary file was requested")

    for name in (
        "mkstemp",
        "mkdtemp",
        "mktemp",
        "NamedTemporaryFile",
        "TemporaryFile",
        "SpooledTemporaryFile",
        "TemporaryDirectory",
    ):
        monkeypatch.setattr(tempfile, name, forbidden)
    return empty


@pytest.fixture(scope="session")
def docker_host():
    """The container lane's engine (its DOCKER_HOST), leased for the session.

    No engine to be had: a SKIP saying why, or an ERROR when `ARTCONF_REQUIRE` names
    `containers` (as `make test` does).
    """
    from emulators import engine
    from emulators.pytest_plugin import containers_required

    works, how = engine.availability()
    if not works:
        if containers_required():
            pytest.fail(f"the container lane is required (ARTCONF_REQUIRE) but cannot run: {how}")
        pytest.skip(f"no Docker engine for the container launcher: {how}")
    try:
        held = engine.acquire()
    except engine.EngineError as exc:
        pytest.fail(f"the Docker engine could not be started: {exc}")
    yield held.host
    engine.release(held)


# --- skip policy: with ARTCONF_ALLOWED_SKIPS set (CI), an unlisted skip reason fails the run


def _allowed_skip_patterns() -> list[re.Pattern[str]] | None:
    path = os.environ.get("ARTCONF_ALLOWED_SKIPS")
    if not path:
        return None
    lines = Path(path).read_text().splitlines()
    return [re.compile(line.strip()) for line in lines if line.strip() and not line.startswith("#")]


_unlisted: list[str] = []
_allowed: list[list[re.Pattern[str]] | None] = []


def pytest_configure(config: pytest.Config) -> None:
    # Read once, now: a relative path names a file of the invocation directory, and a test
    # (pytester) may change the working directory before its reports come in.
    _allowed[:] = [_allowed_skip_patterns()]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    patterns = _allowed[0] if _allowed else None
    if patterns is None or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if not any(p.search(reason) for p in patterns):
        _unlisted.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _unlisted and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    if _unlisted:
        terminalreporter.section("skips not allowed by ARTCONF_ALLOWED_SKIPS", red=True)
        for line in _unlisted:
            terminalreporter.write_line(line)
