"""`emulators up/status/down`: servers that outlive the command that started them.

`up` starts the fleet, writes the endpoints, credentials included, to a 0600 state file, then
hands every process record over (owner cleared). If `up` dies before that hand-over (Ctrl-C,
SIGKILL), its records still name it as owner, so the next command reaps them; a server is never
started before its record is on disk (`launcher._WRAPPER`).

The state file and its lock live in a directory per checkout (`paths.up_state_dir`), so `down`
in one clone never stops another clone's servers; `--state-dir` separates further (two CI jobs
in one checkout). The process records stay global: any checkout may reap any orphan. `down`
removes the session directory once the servers are stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from emulators import containers, engine
from emulators.endpoint import Endpoint
from emulators.fleet import Fleet
from emulators.launcher import exit_code
from emulators.paths import up_state_dir
from emulators.processes import ProcessRecord, is_same_process, stop_record
from emulators.sessions import (
    finish_session,
    keep_data_requested,
    new_session_dir,
    reap_orphans_and_data,
)


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


@dataclass
class Stopped:
    """What `down` did: the keys it stopped, and the session directory part it kept (if any)."""

    keys: list[str]
    kept: Path | None


def state_file(state_dir: str | Path | None = None) -> Path:
    return up_state_dir(state_dir) / "up.json"


def _read_state(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _records(state: dict) -> dict[str, ProcessRecord]:
    return {key: ProcessRecord(**rec) for key, rec in state.get("records", {}).items()}


def _alive(record: ProcessRecord) -> bool:
    return is_same_process(record.pid, record.create_time)


def up(
    keys: list[tuple[str, str, bool]],
    progress: Callable[[str], None],
    state_dir: str | Path | None = None,
    launcher: str | None = None,
) -> dict[str, Endpoint]:
    """Start the servers detached. Raises AlreadyRunning or StartFailed (nothing left running)."""
    path = state_file(state_dir)
    lock = FileLock(str(path.with_name("up.lock")))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise AlreadyRunning(
            "another `artconf emulators up` is starting servers right now"
        ) from None
    try:
        return _up(keys, progress, path, launcher)
    finally:
        lock.release()


def _up(
    keys: list[tuple[str, str, bool]],
    progress: Callable[[str], None],
    path: Path,
    launcher: str | None,
) -> dict[str, Endpoint]:
    reap_orphans_and_data()
    state = _read_state(path)
    if state is not None:
        running = [k for k, r in _records(state).items() if _alive(r)]
        if running:
            raise AlreadyRunning(
                "servers started by `artconf emulators up` are still running "
                f"({', '.join(running)}); "
                "run `artconf emulators down` first"
            )
        for record in _records(state).values():
            record.forget()  # every server of the old state is gone
        _forget(state, path)

    fleet = Fleet(new_session_dir("up"), launcher=launcher, detached=True)
    try:
        fleet.start(keys, progress)  # Ctrl-C here stops whatever started, then propagates
        if fleet.errors:
            raise StartFailed("; ".join(v.splitlines()[0] for v in fleet.errors.values()))
        new_state = _state(fleet)
        _write_state(path, new_state)  # first: a kill before the hand-over leaves orphans to reap
        _hand_over(fleet)
        held = fleet.detach_engine()  # containers: the engine stays until `down`
        if held is not None:
            new_state["engine"] = {"host": held.host, "lease": str(held.lease or "")}
            _write_state(path, new_state)
    except BaseException as exc:
        path.unlink(missing_ok=True)
        kept = fleet.close(failed=isinstance(exc, StartFailed))  # stops, removes the directory
        if isinstance(exc, StartFailed) and kept is not None:
            raise StartFailed(f"{exc} (server logs kept in {kept})") from None
        raise
    fleet.started.clear()  # they outlive us now
    return {k: Endpoint.from_dict(e) for k, e in new_state["endpoints"].items()}


def _state(fleet: Fleet) -> dict:
    """The state `status` and `down` read, with the records as they will be once handed over."""
    records = {}
    for key, started in fleet.started.items():
        record = started.running.record
        records[key] = {**record.__dict__, "owner_pid": None, "owner_create_time": None}
    return {
        "started_at": time.time(),
        "session": str(fleet.root),
        "keep_data": fleet.keep_data,
        "endpoints": {k: e.to_dict(redact=False) for k, e in fleet.endpoints().items()},
        "records": records,
    }


def _hand_over(fleet: Fleet) -> None:
    """Clear the owner of every record, so no reaper stops them: `down` owns them now."""
    for started in fleet.started.values():
        record = started.running.record
        record.owner_pid = record.owner_create_time = None
        record.save()


def _write_state(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(state, out, indent=2)
    tmp.replace(path)


def status(
    state_dir: str | Path | None = None,
) -> tuple[list[ServerStatus], list[ProcessRecord]]:
    """What `up` started and whether each is alive; plus the orphans reaped just now."""
    reaped = reap_orphans_and_data()
    state = _read_state(state_file(state_dir))
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


def down(state_dir: str | Path | None = None) -> Stopped:
    """Stop exactly what `up` started, then remove its session directory."""
    reap_orphans_and_data()
    path = state_file(state_dir)
    state = _read_state(path)
    if state is None:
        return Stopped([], None)
    held = state.get("engine")  # containers: removed first (as PID 1 a server may ignore
    if held:  # SIGTERM), the engine given back last; an engine gone already has none left
        with contextlib.suppress(engine.EngineError):
            session = Path(state["session"]).name
            containers.remove_labelled(held["host"], containers.LABEL_SESSION, session)
    stopped = []
    for key, record in _records(state).items():
        stop_record(record)
        stopped.append(key)
    if held:
        lease = Path(held["lease"]) if held.get("lease") else None
        engine.release(engine.Engine(held["host"], "", ours=lease is not None, lease=lease))
    return Stopped(sorted(stopped), _forget(state, path))


def _forget(state: dict, path: Path) -> Path | None:
    """Drop a state whose servers are all stopped, and its session directory (unless kept)."""
    kept = None
    if state.get("session"):
        keep = state.get("keep_data") or keep_data_requested()
        kept = finish_session(Path(state["session"]), "all" if keep else "none")
    path.unlink(missing_ok=True)
    return kept
