"""Ctrl-C and SIGTERM stop a whole run (pytest, workers, servers) and keep its finished cases.

Each command a user interrupts is interrupted here as a user would: Ctrl-C is SIGINT to the
command's whole process group (what a terminal sends), SIGTERM goes to the command's PID only
(what `kill` or a CI runner sends). Every process seen in the command's tree while it ran must
be gone afterwards, and the records it kept must parse as a run marked partial.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from conformance.records import read_records
from tests.inner import REPO, alive, kit_env, wait_for
from tests.watch import Command, Tree, wait_for_cases

SIGNALS = [signal.SIGINT, signal.SIGTERM]


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
            f"--basetemp={tmp_path / 'basetemp'}",  # an interrupted run keeps its files
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
