"""The matrix session: parametrizes suite cases over backends, decides skips and xfails from
declarations, detects infra errors, and (in the controlling process) turns reports into records.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import re
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from conformance import cases, matrix
from conformance.capabilities import Capability, parse_capability
from conformance.commands.run import new_run_id
from conformance.liveness import CaseWatch, Liveness, ServerDown
from conformance.locations import DRIVER_OF_SERVER
from conformance.profiles import Profile, load_profiles, profile_dir
from conformance.records import Record, kit_sha, write_records
from conformance.redaction import secret_values
from conformance.store import Backend
from conformance.targets import Target, TargetError, parse_target
from drivers.core.deviations import DEFAULT_PATH as DEVIATIONS_PATH
from drivers.core.deviations import deviations
from drivers.core.secrets import redact
from emulators.endpoint import Endpoint
from emulators.fleet import SERVERS, UsageError, parse_servers, split_key
from emulators.pytest_plugin import interrupted_by, server_pool

#: Resolution sources (spec 3): not storage servers; cases using `artconf_source` run over them.
RESOLUTION_SOURCES = ("kube", "manifests")
RESOLUTION_DRIVER = "resolution"
SOURCE_FIXTURE = "artconf_source"
MATRIX_FIXTURES = ("artconf_backend", SOURCE_FIXTURE)
SDKS = ("boto3", "botocore", "google-cloud-storage", "azure-storage-blob")
PROGRESS_EVERY = 10.0  # seconds between progress lines
LOG_REDACTIONS = (  # query and header values that carry credentials in server logs
    (r"(X-Amz-Credential=)[^&\s\"]+", r"\1<redacted>"),
    (r"(X-Amz-Signature=)[^&\s\"]+", r"\1<redacted>"),
    (r"([?&]sig=)[^&\s\"]+", r"\1<redacted>"),
    (r"(Authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\n]+", r"\1<redacted>"),
)


def _sdk_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in SDKS:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return versions


class ConformanceSession:
    def __init__(self, config: pytest.Config, target_name: str):
        self.config = config
        try:
            self.target: Target = parse_target(target_name)
            self.profiles: dict[str, Profile] = load_profiles()
            servers, sources = _split_backends(config.getoption("artconf_backends"))
        except (TargetError, UsageError, ValueError) as exc:
            raise pytest.UsageError(str(exc)) from None
        wanted = config.getoption("artconf_drivers")
        drivers = sorted(set(DRIVER_OF_SERVER.values()) | {RESOLUTION_DRIVER})
        if wanted:
            chosen = [d.strip() for d in wanted.split(",") if d.strip()]
            unknown = sorted(set(chosen) - set(drivers))
            if unknown:
                raise pytest.UsageError(
                    f"--artconf-drivers: unknown {unknown}; choose from {', '.join(drivers)}"
                )
            drivers = chosen
        self.servers = [s for s in servers if DRIVER_OF_SERVER[s] in drivers]
        self.sources = [s for s in sources if RESOLUTION_DRIVER in drivers]
        if not self.servers and not self.sources:
            raise pytest.UsageError("no backend serves the chosen drivers")
        tls = config.getoption("artconf_tls")
        self.modes = {"off": ["plain"], "on": ["tls"], "both": ["plain", "tls"]}[tls]
        if not config.getoption("artconf_servers") and not config.getoption("artconf_endpoints"):
            local_kube = "kube" in self.sources and _kube_mode(config) == "local"
            config.option.artconf_servers = ",".join(self.servers + ["kube"] * local_kube)
        self.run_id = config.getoption("artconf_run_id") or new_run_id()
        run_dir = config.getoption("artconf_run_dir")
        self.run_dir = Path(run_dir) if run_dir else None
        self.shard = self._parse_shard(config.getoption("artconf_shard"))
        self.is_worker = hasattr(config, "workerinput")
        self.reports: dict[str, list[pytest.TestReport]] = defaultdict(list)
        self.total = 0
        self.finished = 0
        self.failed = 0
        self.started = time.monotonic()
        self.last_progress = self.started
        self.records: list[Record] = []
        self.sdk_versions = _sdk_versions()
        self.liveness = Liveness()
        self._kit_sha: str | None = None
        self._secrets: list[str] = []
        self._journal_file: Any = None
        self._logs: dict[str, str] = {}  # server key -> its log's path in the run directory
        config.pluginmanager.register(CaseWatch(self.liveness, self._endpoint), "artconf-liveness")

    @staticmethod
    def _parse_shard(text: str | None) -> tuple[int, int] | None:
        if not text:
            return None
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise pytest.UsageError(f"--artconf-shard {text!r}: write I/N, e.g. 1/4") from None
        if not 1 <= index <= count:
            raise pytest.UsageError(f"--artconf-shard {text!r}: I must be between 1 and N")
        return index, count

    # --- the backends ------------------------------------------------------------------
    def backend_keys(self) -> list[str]:
        return [s if m == "plain" else f"{s}-tls" for s in self.servers for m in self.modes]

    def backend(self, key: str, endpoint: Endpoint) -> Backend:
        server, mode = (key[:-4], "tls") if key.endswith("-tls") else (key, "plain")
        return Backend(key, server, mode, DRIVER_OF_SERVER[server], endpoint, self.profiles[server])

    # --- collection --------------------------------------------------------------------
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if SOURCE_FIXTURE in metafunc.fixturenames:
            ids = [f"{RESOLUTION_DRIVER}-{s}" for s in self.sources]
            metafunc.parametrize(SOURCE_FIXTURE, self.sources, ids=ids, indirect=True)
        if "artconf_backend" not in metafunc.fixturenames:
            return
        keys = self.backend_keys()
        ids = [f"{DRIVER_OF_SERVER[k.removesuffix('-tls')]}-{k}" for k in keys]
        metafunc.parametrize("artconf_backend", keys, ids=ids, indirect=True)

    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        deselected = []
        kept = []
        for item in items:
            fixture = _matrix_fixture(item)
            if fixture is None:
                kept.append(item)
                continue
            params = getattr(getattr(item, "callspec", None), "params", {})
            if not isinstance(params.get(fixture), str):  # nothing chosen for it in this run
                deselected.append(item)
                continue
            capability = self._verified(item)
            for mark in item.iter_markers(cases.REQUIRES):
                for name in mark.args:
                    self._capability(item, name)
            key = params[fixture]
            server, mode = (key[:-4], "tls") if key.endswith("-tls") else (key, "plain")
            if fixture == SOURCE_FIXTURE:
                server, mode = key, "plain"
            source = fixture == SOURCE_FIXTURE
            info = {
                "driver": RESOLUTION_DRIVER if source else DRIVER_OF_SERVER[server],
                "backend": server,
                "mode": mode,
                "capability": capability.value,
                "case": f"{item.module.__name__.rsplit('.', 1)[-1]}::{item.originalname}",
            }
            item.user_properties.append(("artconf", json.dumps(info)))
            if self.shard and not self._in_shard(item.nodeid):
                deselected.append(item)
            else:
                kept.append(item)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = kept
        self.total = len(items)

    def _in_shard(self, nodeid: str) -> bool:
        index, count = self.shard
        digest = int(hashlib.sha256(nodeid.encode()).hexdigest(), 16)
        return digest % count == index - 1

    def _capability(self, item: pytest.Item, name: str) -> Capability:
        try:
            return parse_capability(name, where=item.nodeid)
        except ValueError as exc:
            raise pytest.UsageError(f"collection error: {exc}") from None

    def _verified(self, item: pytest.Item) -> Capability:
        marks = list(item.iter_markers(cases.VERIFIES))
        if len(marks) != 1 or len(marks[0].args) != 1:
            raise pytest.UsageError(
                f"collection error: {item.nodeid} must verify exactly one capability "
                '(@verifies("..."))'
            )
        return self._capability(item, marks[0].args[0])

    # --- skips and xfails from declarations --------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if _matrix_fixture(item) is None:
            return
        info = json.loads(dict(item.user_properties)["artconf"])
        driver, server, mode = info["driver"], info["backend"], info["mode"]
        needed = [info["capability"]]
        for mark in item.iter_markers(cases.REQUIRES):
            needed.extend(mark.args)
        declared = self.target.capabilities(driver)
        profile = self.profiles[server]
        for name in needed:
            capability = Capability(name)
            if capability not in declared:
                item.user_properties.append(
                    ("artconf_skip", json.dumps({"by": "driver", "missing": name}))
                )
                pytest.skip(f"unsupported-by-driver: {self.target.name} ({driver}) lacks {name}")
            gap = profile.gap(capability, mode)
            if gap is not None:
                item.user_properties.append(
                    ("artconf_skip", json.dumps({"by": "backend", "missing": name}))
                )
                pytest.skip(
                    f"unsupported-by-backend: {server} ({mode}) cannot prove {name}: {gap.reason}"
                )
        for mark in item.iter_markers(cases.DEVIATION):
            deviation_id = mark.args[0]
            if deviation_id in self.target.deviations and _deviation_applies(deviation_id, driver):
                reference = _deviation_reference(deviation_id)
                item.user_properties.append(("artconf_reference", reference))
                item.add_marker(pytest.mark.xfail(
                    strict=True, reason=f"target declares deviation {deviation_id} ({reference})"
                ))  # fmt: skip
        bug = profile.known_bugs.get(info["case"].split("::")[-1])
        if bug is not None:
            item.user_properties.append(("artconf_reference", bug.reference))
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"{server} bug: {bug.reason}"))
        endpoint = self._endpoint(item)
        reason = self.liveness.check(endpoint) if endpoint is not None else None
        if reason is not None:  # found dead before: end at once, no retries against it
            pytest.fail(reason, pytrace=False)

    # --- infra errors ------------------------------------------------------------------
    def _server_key(self, item: pytest.Item) -> str | None:
        """The key of the server a matrix case runs against (None: no server, e.g. manifests)."""
        if _matrix_fixture(item) is None:
            return None
        info = json.loads(dict(item.user_properties)["artconf"])
        if info["driver"] == RESOLUTION_DRIVER and _kube_mode(self.config) != "local":
            return None  # a real cluster: not a server of this run
        key = info["backend"] + ("-tls" if info["mode"] == "tls" else "")
        return key if split_key(key)[0] in SERVERS else None

    def _endpoint(self, item: pytest.Item) -> Endpoint | None:
        key = self._server_key(item)
        pool = server_pool(self.config)
        return pool.endpoints.get(key) if key and pool else None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]):
        """A case that went wrong while its server was down is an infra-error, whatever the
        error said: decided from the server process and its port, not from the message."""
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if not (report.failed or hasattr(report, "wasxfail")):
            return
        key = self._server_key(item)
        if key is None:
            return
        pool = server_pool(self.config)
        endpoint = pool.endpoints.get(key) if pool else None
        if endpoint is None:
            error = (pool.errors.get(key, "") if pool else "").splitlines()
            reason = f"server {key} is not running in this run" + (f": {error[0]}" if error else "")
        elif call.excinfo is not None and call.excinfo.errisinstance(ServerDown):
            reason = str(call.excinfo.value)
        else:
            reason = self.liveness.check(endpoint, connect=True)
        if reason is not None:
            report.user_properties.append(("artconf_infra", reason))

    # --- records (controlling process only) -------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker or "artconf" not in dict(report.user_properties):
            return
        self.reports[report.nodeid].append(report)
        if report.when == "teardown":
            self.finished += 1
            record = self._finish(self._record(report.nodeid, self.reports.pop(report.nodeid)))
            self.records.append(record)
            self._journal(record)
            if record.outcome in ("fail", "xpass", "infra-error"):
                self.failed += 1
            self._progress()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.total = max(self.total, len(ids))

    def _progress(self, force: bool = False) -> None:
        if self.run_dir is None:
            return
        now = time.monotonic()
        if not force and now - self.last_progress < PROGRESS_EVERY:
            return
        self.last_progress = now
        elapsed = now - self.started
        total = max(self.total, self.finished)
        eta = elapsed / self.finished * (total - self.finished) if self.finished else 0
        print(
            f"artconf: {self.finished}/{total} cases, {self.failed} failing, "
            f"{elapsed:.0f} s elapsed, ETA {eta:.0f} s",
            file=sys.stderr,
            flush=True,
        )

    def _record(self, nodeid: str, reports: list[pytest.TestReport]) -> Record:
        props: dict[str, str] = {}
        for report in reports:
            props.update(dict(report.user_properties))
        info = json.loads(props["artconf"])
        by_phase = {r.when: r for r in reports}
        outcome, reason = _outcome(by_phase)
        skip = json.loads(props.get("artconf_skip", "{}"))
        if "artconf_infra" in props:
            outcome, reason = "infra-error", props["artconf_infra"]
        key = info["backend"] + ("-tls" if info["mode"] == "tls" else "")
        pool = server_pool(self.config)
        endpoint = pool.endpoints.get(key) if pool else None
        return Record(
            run_id=self.run_id,
            kit_sha="",
            target=self.target.name,
            driver=info["driver"],
            backend=info["backend"],
            mode=info["mode"],
            capability=info["capability"],
            case=info["case"],
            case_id=nodeid,
            outcome=outcome,
            skip_by=skip.get("by", "") if outcome == "skip" else "",
            missing=skip.get("missing", "") if outcome == "skip" else "",
            duration=round(sum(r.duration for r in reports), 4),
            reason=reason,
            reference=props.get("artconf_reference", ""),
            log=key if outcome in ("fail", "infra-error", "xpass") else "",
            versions={**self.sdk_versions, "server": endpoint.version if endpoint else ""},
        )

    # --- the end -----------------------------------------------------------------------
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.liveness.close()

    def _finish(self, record: Record) -> Record:
        """Redacted, stamped, its server's log copied so far: ready to be written at once."""
        if self._kit_sha is None:
            self._kit_sha, self._secrets = kit_sha(), list(secret_values(self.config))
        record.kit_sha = self._kit_sha
        record.reason = redact(record.reason, self._secrets)
        if record.log and self.run_dir is not None:
            key = record.log
            record.log = self._logs.get(key) if key in self._logs else self._copy_log(key)
            self._logs[key] = record.log
        return record

    def _journal(self, record: Record) -> None:
        """Append the record at once, so a run killed later keeps every finished case."""
        if self.run_dir is None:
            return
        if self._journal_file is None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._journal_file = open(self.run_dir / "records.jsonl", "a")  # noqa: SIM115
        self._journal_file.write(record.to_json() + "\n")
        self._journal_file.flush()

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker:
            return
        self._progress(force=True)
        if self.run_dir is None:
            return
        if self._journal_file is not None:
            self._journal_file.close()
        for key, copied in self._logs.items():
            if copied:
                self._copy_log(key)  # again: the whole log, up to the end of the run
        write_records(self.run_dir / "records.jsonl", self.records)  # atomic: the final word
        sha = self._kit_sha or kit_sha()
        shutil.copytree(profile_dir(), self.run_dir / "profiles", dirs_exist_ok=True)
        shutil.copy(DEVIATIONS_PATH, self.run_dir / "deviations.yaml")
        meta = {
            "run_id": self.run_id,
            "target": self.target.name,
            "kit_sha": sha,
            "backends": self.backend_keys() + self.sources,
            "shard": "/".join(map(str, self.shard)) if self.shard else "",
            "duration_seconds": round(time.monotonic() - self.started, 1),
            "versions": self.sdk_versions,
            "servers": self._server_versions(),
        }
        if exitstatus == pytest.ExitCode.INTERRUPTED:  # the records hold finished cases only
            meta.update(partial=True, interrupted_by=interrupted_by() or "SIGINT")
        shard = f"-{self.shard[0]}of{self.shard[1]}" if self.shard else ""
        (self.run_dir / f"run{shard}.json").write_text(json.dumps(meta, indent=2) + "\n")

    def _server_versions(self) -> dict[str, str]:
        pool = server_pool(self.config)
        return {k: e.version for k, e in (pool.endpoints if pool else {}).items()}

    def _copy_log(self, key: str) -> str:
        """Copy (redacted) the server log of `key` into the run; its path there, or ""."""
        pool = server_pool(self.config)
        endpoint = pool.endpoints.get(key) if pool else None
        if endpoint is None or not endpoint.log or not Path(endpoint.log).exists():
            return ""
        logs = self.run_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        text = redact_log(Path(endpoint.log).read_text(errors="replace"), self._secrets)
        (logs / f"{key}.log").write_text(text)
        return f"logs/{key}.log"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.records or self.run_dir is not None:
            return  # `artconf run` prints the matrix itself
        terminalreporter.section("artconf matrix")
        for line in matrix.render_text(self.records).splitlines():
            terminalreporter.write_line(line)


def _matrix_fixture(item: pytest.Item) -> str | None:
    """The matrix fixture a case uses (`artconf_backend` or `artconf_source`), if any."""
    names = getattr(item, "fixturenames", ())
    return next((f for f in MATRIX_FIXTURES if f in names), None)


def _split_backends(value: str | None) -> tuple[list[str], list[str]]:
    """`--artconf-backends` -> (storage servers, resolution sources); nothing means all."""
    if not value:
        servers = [s for s in parse_servers(None) if s in DRIVER_OF_SERVER]
        return servers, list(RESOLUTION_SOURCES)
    names = [n.strip() for n in value.split(",") if n.strip()]
    sources = [n for n in names if n in RESOLUTION_SOURCES]
    storage = [n for n in names if n not in RESOLUTION_SOURCES]
    servers = parse_servers(storage) if storage else []
    return [s for s in servers if s in DRIVER_OF_SERVER], sources


def _kube_mode(config: pytest.Config) -> str:
    """`local` (the stand-in API server) or `real` (--artconf-kube=real / ARTCONF_KUBE=real)."""
    import os

    try:
        value = config.getoption("artconf_kube")
    except ValueError:
        value = None
    return value or os.environ.get("ARTCONF_KUBE") or "local"


def redact_log(text: str, secrets: list[str]) -> str:
    for pattern, replacement in LOG_REDACTIONS:
        text = re.sub(pattern, replacement, text)
    return redact(text, secrets)


def _deviation_applies(deviation_id: str, driver: str) -> bool:
    """A deviation named for one location type (`gcs-...`) concerns only that driver's cases."""
    prefix = deviation_id.split("-", 1)[0]
    return prefix not in ("s3", "gcs", "azure", "oss") or prefix == driver


def _deviation_reference(deviation_id: str) -> str:
    for row in deviations():
        if row.id == deviation_id:
            return f"{deviation_id}: {row.argo_reference}"
    return deviation_id


def _outcome(by_phase: dict[str, pytest.TestReport]) -> tuple[str, str]:
    setup, call, teardown = (by_phase.get(p) for p in ("setup", "call", "teardown"))
    if setup is not None and setup.skipped:
        if hasattr(setup, "wasxfail"):
            return "xfail", setup.wasxfail
        return "skip", _skip_reason(setup)
    if setup is not None and setup.failed:
        return "fail", _failure(setup)
    if call is not None:
        if call.skipped:
            if hasattr(call, "wasxfail"):
                return "xfail", call.wasxfail
            return "skip", _skip_reason(call)
        if call.failed:
            text = _failure(call)
            return ("xpass", text) if "XPASS(strict)" in str(call.longrepr) else ("fail", text)
        if hasattr(call, "wasxfail"):
            return "xpass", call.wasxfail
    if teardown is not None and teardown.failed:
        return "fail", _failure(teardown)
    return "pass", ""


def _skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr)


def _failure(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message[:2000]
    return str(report.longrepr)[-2000:]
