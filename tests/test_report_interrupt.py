"""Interrupts: `artconf report` stopped by SIGINT or SIGTERM, and the command line's mapping.

The report runs in a subprocess on a large synthetic run; the signal is sent once its kernel
(a child process) has started, i.e. while nbclient, which handles both signals itself, is
executing the notebook. It must end in one line, with 130 or 143, and leave no file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conformance import cli
from conformance.report import write_synthetic_runs

REPO = Path(__file__).resolve().parent.parent
RECORDS = 10_000  # several seconds of notebook: long enough to be caught working

# `python -c` rather than the `artconf` script: SIGINT must raise KeyboardInterrupt even when
# the test runner was started with SIGINT ignored (a background job), as a terminal's would.
ARTCONF = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from conformance.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.fixture(scope="module")
def big_run(tmp_path_factory) -> Path:
    runs = write_synthetic_runs(tmp_path_factory.mktemp("signals") / "reports", RECORDS, runs=2)
    return runs[-1]


def _wait_for_kernel(process: psutil.Process, timeout: float = 120.0) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = process.children(recursive=True)
        if children:
            return children
        time.sleep(0.05)
    raise AssertionError("the report never started its kernel")


@pytest.mark.parametrize(
    ("signum", "code", "line"),
    [
        (signal.SIGINT, 130, "artconf: interrupted"),
        (signal.SIGTERM, 143, "artconf: terminated (SIGTERM)"),
    ],
)
def test_an_interrupted_report_exits_with_the_signal_code_in_one_line(
    big_run, tmp_path, signum, code, line
):
    out = tmp_path / "out" / "report.html"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-c", ARTCONF, "report", str(big_run), "--out", str(out)]
    child = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        kernels = _wait_for_kernel(psutil.Process(child.pid))
        time.sleep(0.5)  # the notebook is executing by now
        child.send_signal(signum)
        stdout, stderr = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), stderr
    assert "Traceback" not in stderr
    assert stdout == ""
    assert not out.exists()
    assert not list(out.parent.iterdir())  # no temporary file left beside it either
    psutil.wait_procs(kernels, timeout=10)  # nbclient stopped the kernel it started
    assert not [k for k in kernels if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]


# --- the command line's mapping, with stand-in commands ----------------------------------------
@pytest.fixture
def command(monkeypatch):
    """`main(["x"])` runs the function given to this fixture as the command `x`."""
    chosen = {}

    def parser():
        import argparse

        built = argparse.ArgumentParser(prog="artconf")
        built.add_subparsers().add_parser("x").set_defaults(func=lambda args: chosen["f"]())
        return built

    monkeypatch.setattr(cli, "build_parser", parser)
    return lambda func: chosen.update(f=func)


def _signalled(signum: int) -> int:
    signal.raise_signal(signum)
    raise AssertionError("the signal should have stopped the command")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_in_any_command_exits_with_its_code_in_one_line(command, capsys, signum, code):
    command(lambda: _signalled(signum))
    assert cli.main(["x"]) == code
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back afterwards


class _DroppingInterrupts:
    def __del__(self) -> None:
        signal.raise_signal(signal.SIGINT)  # Python prints and drops what a __del__ raises


def test_an_interrupt_dropped_in_a_del_still_exits_130_without_a_traceback(command, capsys):
    def work() -> int:
        _DroppingInterrupts()  # collected at once: the KeyboardInterrupt goes nowhere
        return 0

    command(work)
    assert cli.main(["x"]) == 130
    assert capsys.readouterr().err.splitlines() == [
        "artconf: interrupted; every server this command started was stopped"
    ]


@pytest.mark.parametrize("code", [143, 7])
def test_a_command_that_handles_the_signal_itself_keeps_its_exit_code(command, capsys, code):
    def own_handling() -> int:
        seen = []
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
        try:
            signal.raise_signal(signal.SIGTERM)
        finally:
            signal.signal(signal.SIGTERM, previous)
        assert seen == [signal.SIGTERM]
        return code

    command(own_handling)
    assert cli.main(["x"]) == code
    assert capsys.readouterr().err == ""
