"""Ctrl-C and SIGTERM stop a whole run (pytest, workers, servers) and keep its finished cases.

Each command a user interrupts is interrupted here as a user would: Ctrl-C is SIGINT to the
command's whole process group (what a terminal sends), SIGTERM goes to the command's PID only
(what `kill` or a CI runner sends). Every process seen in the command's tree while it ran must
be gone afterwards, and the records it kept must parse as a run marked partial.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from conformance.records import read_records
from tests.inner import REPO, alive, kit_env, wait_for

WORKER = "sys.stdin.readline"  # what an xdist worker has on its command line
SIGNALS = [signal.SIGINT, signal.SIGTERM]


class Tree:
    """Every process that ever appears under `pid`, collected while the command runs."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.seen: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.05):
            try:
                children = self.root.children(recursive=True)
            except psutil.Error:
                return
            for child in children:
                self.seen.setdefault(child.pid, child)

    def has(self, needle: str) -> bool:
        for proc in list(self.seen.values()):
            try:
                if needle in " ".join(proc.cmdline()):
                    return True
            except psutil.Error:
                continue
        return False

    def close(self) -> list[psutil.Process]:
        self._stop.set()
        self._thread.join()
        return list(self.seen.values())


def assert_nothing_left(tree: Tree) -> None:
    procs = tree.close()
    assert procs, "the command started no process"
    wait_for(lambda: not alive(procs), 10, "every process of the run to exit")


def assert_partial_run(run_dir: Path, signum: int) -> int:
    records = read_records(run_dir / "records.jsonl")  # parses: no torn line
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["partial"] is True
    assert meta["interrupted_by"] == signal.Signals(signum).name
    return len(records)


def artconf(*args: str) -> list[str]:
    return [sys.executable, "-m", "conformance.cli", *args]


class Command:
    """A command started in a process group of its own, its tree and stdout watched."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # so that a Ctrl-C here reaches it and not this test
        )
        self.tree = Tree(self.proc.pid)
        self.output = Output(self.proc.stdout)

    def interrupt(self, signum: int) -> tuple[int, str, str]:
        """Send `signum` as a user would; return (exit code, stdout, stderr)."""
        if signum == signal.SIGINT:
            os.killpg(self.proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the group
        else:
            self.proc.send_signal(signum)  # `kill PID`, a CI runner's timeout
        try:
            err = self.proc.stderr.read().decode(errors="replace")
            code = self.proc.wait(timeout=30)
        finally:
            self.proc.kill()
        return code, self.output.rest(), err


class Output:
    """A command's stdout, read as it comes (pytest prints a `.` per finished case)."""

    def __init__(self, stream):
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):
            self.text += chunk.decode(errors="replace")

    def cases_passed(self) -> int:
        progress = self.text.split("bringing up nodes...", 1)[-1]
        return sum(line.count(".") for line in progress.splitlines() if " " not in line)

    def rest(self) -> str:
        self._thread.join(timeout=30)
        return self.text


def wait_for_cases(output: Output) -> None:
    wait_for(lambda: output.cases_passed() >= 3, 180, "some cases to pass")


@pytest.mark.parametrize("signum", SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_artconf_run_interrupted_stops_everything_and_keeps_partial_records(tmp_path, signum):
    reports = tmp_path / "reports"
    run = Command(
        [
            *artconf("run", "--backends", "fake-gcs,moto", "--tls", "off", "-n", "2"),
            "--reports",
            str(reports),
            "--run-id",
            "r1",
        ],
        kit_env(tmp_path / "state"),
    )
    wait_for_cases(run.output)
    code, _, err = run.interrupt(signum)
    assert code == 128 + signum, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith(f"artconf: interrupted by {signal.Signals(signum).name}: ")
    assert "every server of the run was stopped" in lines[-1]
    assert "Traceback" not in err
    assert_nothing_left(run.tree)
    assert assert_partial_run(reports / "r1", signum) > 0
    assert (reports / "latest").resolve() == (reports / "r1").resolve()


@pytest.mark.parametrize("signum", SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_pytest_run_interrupted_stops_everything_and_keeps_partial_records(tmp_path, signum):
    run_dir = tmp_path / "run"
    run = Command(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "--pyargs",
            "conformance.suites",
            f"--rootdir={REPO}",
            "-n",
            "2",
            "--artconf-target=reference",
            "--artconf-backends=fake-gcs",
            "--artconf-tls=off",
            f"--artconf-run-dir={run_dir}",
            "--artconf-run-id=r2",
        ],
        kit_env(tmp_path / "state"),
    )
    wait_for_cases(run.output)
    code, out, err = run.interrupt(signum)
    assert code == pytest.ExitCode.INTERRUPTED, (out + err)[-3000:]
    assert_nothing_left(run.tree)
    assert assert_partial_run(run_dir, signum) > 0


def make_report(tmp_path: Path, run_id: str) -> Command:
    """`make report`, narrowed to one fast server, writing under tmp_path."""
    run_args = (
        f"--backends fake-gcs --tls off -n 2 --reports {tmp_path / 'reports'} --run-id {run_id}"
    )
    env = kit_env(tmp_path / "state")
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # not the outer `make test`'s jobserver
        env.pop(name, None)
    return Command(
        ["make", "--no-print-directory", "-C", str(REPO), "report", f"RUN_ARGS={run_args}"], env
    )


# What shows that each phase is under way; `report` is the notebook's kernel.
PHASES = {
    "probe": lambda make: make.tree.has("emulators probe") and make.tree.has("ARTCONF_EXIT_FILE"),
    "run": lambda make: make.output.cases_passed() >= 3,
    "report": lambda make: make.tree.has("ipykernel"),
}


@pytest.mark.parametrize("phase", PHASES)
def test_ctrl_c_in_make_report_leaves_nothing(tmp_path, phase):
    make = make_report(tmp_path, "r3")
    wait_for(lambda: PHASES[phase](make), 240, f"the {phase} phase of make report")
    code, out, err = make.interrupt(signal.SIGINT)
    assert code != 0, (out + err)[-3000:]
    assert "Traceback" not in out + err
    assert_nothing_left(make.tree)
    run_dir = tmp_path / "reports" / "r3"
    if phase == "run":
        assert assert_partial_run(run_dir, signal.SIGINT) > 0
    if phase == "report":
        assert not (run_dir / "report.html").exists()  # never a half-written page


def test_sigterm_to_make_report_reaches_the_run(tmp_path):
    """make passes SIGTERM to its child: the recipe's commands run without a shell between."""
    make = make_report(tmp_path, "r4")
    wait_for_cases(make.output)
    code, out, err = make.interrupt(signal.SIGTERM)
    assert code != 0, (out + err)[-3000:]
    assert "artconf: interrupted by SIGTERM" in err
    assert_nothing_left(make.tree)
    assert_partial_run(tmp_path / "reports" / "r4", signal.SIGTERM)
