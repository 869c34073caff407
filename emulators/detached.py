"""`emulators up/status/down`: servers that outlive the command that started them.

`up` starts the fleet, then hands every process record over (owner cleared) and writes the
endpoints, credentials included, to a 0600 state file. If `up` dies before that hand-over
(Ctrl-C, SIGKILL), its records still name it as owner, so the next command reaps them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from emulators.endpoint import Endpoint
from emulators.fleet import Fleet
from emulators.launcher import exit_code
from emulators.paths import state_dir
from emulators.processes import ProcessRecord, is_same_process, reap_orphans, stop_record
from emulators.sessions import new_session_dir


class AlreadyRunning(RuntimeError):
    pass


class StartFailed(RuntimeError):
    pass


@dataclass
class ServerStatus:
    key: str
    endpoint: Endpoint
    alive: bool
    exit_code: int | None


def state_file() -> Path:
    return state_dir() / "up.json"


def _read_state() -> dict | None:
    try:
        return json.loads(state_file().read_text())
    except (OSError, ValueError):
        return None


def _records(state: dict) -> dict[str, ProcessRecord]:
    return {key: ProcessRecord(**rec) for key, rec in state.get("records", {}).items()}


def _alive(record: ProcessRecord) -> bool:
    return is_same_process(record.pid, record.create_time)


def up(keys: list[tuple[str, str, bool]], progress: Callable[[str], None]) -> dict[str, Endpoint]:
    """Start the servers detached. Raises AlreadyRunning or StartFailed (nothing left running)."""
    lock = FileLock(str(state_dir() / "up.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise AlreadyRunning(
            "another `artconf emulators up` is starting servers right now"
        ) from None
    try:
        return _up(keys, progress)
    finally:
        lock.release()


def _up(keys: list[tuple[str, str, bool]], progress: Callable[[str], None]) -> dict[str, Endpoint]:
    reap_orphans()
    state = _read_state()
    if state is not None:
        running = [k for k, r in _records(state).items() if _alive(r)]
        if running:
            raise AlreadyRunning(
                "servers started by `artconf emulators up` are still running "
                f"({', '.join(running)}); "
                "run `artconf emulators down` first"
            )
        state_file().unlink(missing_ok=True)  # every server of the old state is gone

    fleet = Fleet(new_session_dir("up"))
    fleet.start(keys, progress)  # Ctrl-C here stops whatever started, then propagates
    if fleet.errors:
        fleet.stop()
        raise StartFailed("; ".join(v.splitlines()[0] for v in fleet.errors.values()))
    records = {}
    for key, started in fleet.started.items():
        record = started.running.record
        record.owner_pid = record.owner_create_time = None  # hand over to `down`
        record.save()
        records[key] = record.__dict__
    new_state = {
        "started_at": time.time(),
        "session": str(fleet.root),
        "endpoints": {k: e.to_dict(redact=False) for k, e in fleet.endpoints().items()},
        "records": records,
    }
    path = state_file()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(new_state, out, indent=2)
    tmp.replace(path)
    fleet.started.clear()  # they outlive us now
    return {k: Endpoint.from_dict(e) for k, e in new_state["endpoints"].items()}


def status() -> tuple[list[ServerStatus], list[ProcessRecord]]:
    """What `up` started and whether each is alive; plus the orphans reaped just now."""
    reaped = reap_orphans()
    state = _read_state()
    if state is None:
        return [], reaped
    records = _records(state)
    result = []
    for key, data in sorted(state["endpoints"].items()):
        endpoint = Endpoint.from_dict(data)
        record = records[key]
        alive = _alive(record)
        result.append(ServerStatus(key, endpoint, alive, None if alive else exit_code(record)))
    return result, reaped


def down() -> list[str]:
    """Stop exactly what `up` started; return their keys."""
    reap_orphans()
    state = _read_state()
    if state is None:
        return []
    stopped = []
    for key, record in _records(state).items():
        stop_record(record)
        stopped.append(key)
    state_file().unlink(missing_ok=True)
    return sorted(stopped)
