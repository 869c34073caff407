"""Every server process the kit starts is recorded on disk until it is stopped.

A record names the process group, the server's PID and its start time, and the PID and start
time of the process that owns it. When an owner dies without cleaning up (SIGKILL), the next
kit command finds records whose owner is gone and stops those groups: this is the reaping that
keeps a killed run from leaking servers. PIDs are checked together with their start time, so a
recycled PID is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from emulators.paths import state_dir

STOP_GRACE_SECONDS = 5.0


@dataclass
class ProcessRecord:
    name: str
    pgid: int  # the group leader: the wrapper shell that reports the server's exit code
    leader_create_time: float
    pid: int  # the server itself
    create_time: float
    owner_pid: int | None  # None once handed over to a detached `emulators up`
    owner_create_time: float | None
    exit_file: str = ""

    @property
    def path(self) -> Path:
        return records_dir() / f"{self.pgid}.json"

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.chmod(0o600)
        tmp.replace(self.path)

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)


def records_dir() -> Path:
    path = state_dir() / "processes"
    path.mkdir(exist_ok=True, mode=0o700)
    return path


def process_create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def is_same_process(pid: int | None, create_time: float | None) -> bool:
    """True when `pid` is alive and is the process that started at `create_time`."""
    if pid is None or create_time is None:
        return False
    actual = process_create_time(pid)
    if actual is None:
        return False
    try:
        if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return False
    except psutil.Error:
        return False
    return abs(actual - create_time) < 0.05


def group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
    return members


def stop_group(pgid: int, *, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the whole group, then SIGKILL whatever is left after `grace` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 2.0)
        while time.monotonic() < deadline:
            if not group_members(pgid):
                return
            time.sleep(0.05)


def stop_record(record: ProcessRecord) -> None:
    """Stop the group of a record if its leader is still the process we started."""
    leader_alive = is_same_process(record.pgid, record.leader_create_time)
    if leader_alive or is_same_process(record.pid, record.create_time):
        stop_group(record.pgid)
    record.forget()


def load_records() -> list[ProcessRecord]:
    records = []
    for path in sorted(records_dir().glob("*.json")):
        try:
            records.append(ProcessRecord(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)  # a torn or foreign file: nothing we can act on
    return records


def reap_orphans() -> list[ProcessRecord]:
    """Stop servers whose owning process died without stopping them; return what was reaped."""
    reaped = []
    for record in load_records():
        if record.owner_pid is None:
            continue  # detached on purpose; `emulators down` owns it
        if is_same_process(record.owner_pid, record.owner_create_time):
            continue
        stop_record(record)
        reaped.append(record)
    return reaped
