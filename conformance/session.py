"""The matrix session: pytest's hooks, dispatched to the pieces that do the work.

- collection: suite cases are parametrized over the run's columns (a backend in a mode) or its
  resolution sources, and each becomes a `CaseInfo` (`conformance.decision`);
- set-up: `decide` (a pure function of the declarations) says run, skip or strict xfail;
- reports: a failure while the case's server is down, or because it is unavailable, is an
  infra-error (`conformance.liveness`); the controller's `Recorder` turns reports into records.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from conformance import cases, kinds, matrix
from conformance.capabilities import Capability, parse_capability
from conformance.columns import Column, chosen_columns, with_mode
from conformance.decision import CaseInfo, Expect, Skip, TargetView, decide, deviation_expect
from conformance.declared import ASSERTION, Fails, parse_fails
from conformance.expectations import EXPECTED, INTERMITTENT, ExpectationCheck
from conformance.liveness import CaseWatch, Liveness, ServerDown
from conformance.logwindow import LogWindow
from conformance.plugin_targets import close_target
from conformance.preflight import target_scope
from conformance.profiles import RESOLUTION, Profile, load_profiles, profile_dirs
from conformance.recorder import CASE, INFRA, REFERENCE, SERVER, SKIP, Recorder
from conformance.redaction import secret_values
from conformance.rundir import new_run_id
from conformance.sources import kube_mode
from conformance.store import Backend
from conformance.targets import Target, TargetError, parse_target
from drivers.core.deviations import DEFAULT_PATH as DEVIATIONS_PATH
from drivers.core.deviations import deviations
from emulators.endpoint import Endpoint, load_endpoints
from emulators.fleet import SERVERS, UsageError
from emulators.pytest_plugin import ServerUnavailable, interrupted_by, server_pool

SOURCE_FIXTURE = "artconf_source"
BACKEND_FIXTURE = "artconf_backend"
MATRIX_FIXTURES = (BACKEND_FIXTURE, SOURCE_FIXTURE)
_CASE = pytest.StashKey[CaseInfo]()


class ConformanceSession:
    def __init__(self, config: pytest.Config, target_name: str):
        self.config = config
        try:
            self.target: Target = parse_target(target_name)
            self.profiles: dict[str, Profile] = load_profiles()
            check_registry(self.profiles)
            tls = config.getoption("artconf_tls")
            modes = {"off": ["plain"], "on": ["tls"], "both": ["plain", "tls"]}[tls]
            columns = chosen_columns(config.getoption("artconf_backends"), self.profiles, modes)
        except (TargetError, UsageError, ValueError) as exc:
            raise pytest.UsageError(str(exc)) from None
        backends = list(dict.fromkeys(c.backend for c in columns))
        drivers = self._drivers(config.getoption("artconf_drivers"), backends)
        try:
            self.scope = target_scope(self.target, drivers)
        except TargetError as exc:
            raise pytest.UsageError(str(exc)) from None
        drivers = list(self.scope.kinds)
        chosen = [b for b in backends if self.profiles[b].driver in drivers]
        storage = [b for b in chosen if not self.profiles[b].is_resolution_source]
        self.sources = [b for b in chosen if self.profiles[b].is_resolution_source]
        if not storage and not self.sources:
            raise pytest.UsageError("no backend serves the chosen drivers")
        self.columns = [c for c in columns if c.backend in storage]
        self.not_run: dict[str, str] = {}  # grid column -> why it is not in this run
        endpoints_file = config.getoption("artconf_endpoints")
        if endpoints_file:
            self._keep_what_the_file_holds(endpoints_file)
        # A grid column (`minio-tls`) asks for a mode --artconf-tls may not start: widen it.
        started = set(modes)
        if any(c.mode not in started for c in self.columns):
            config.option.artconf_tls = "both"
        if not config.getoption("artconf_servers") and not config.getoption("artconf_endpoints"):
            servers = dict.fromkeys(self.profiles[b].server for b in storage)
            if "kube" in self.sources and kube_mode(config) == "local":
                servers["kube"] = None
            config.option.artconf_servers = ",".join(servers)
        self.view = TargetView(
            self.target.name,
            {d: self.target.capabilities(d) for d in drivers},
            self.target.deviations,
            self.target.unprovable,
        )
        self.deviation_refs = deviation_refs()
        self.intermittent = intermittent_rows(self.target.deviations, self.deviation_refs)
        self.run_id = config.getoption("artconf_run_id") or new_run_id()
        run_dir = config.getoption("artconf_run_dir")
        self.shard = _parse_shard(config.getoption("artconf_shard"))
        self.is_worker = hasattr(config, "workerinput")
        self.liveness = Liveness()
        self.recorder = Recorder(
            run_id=self.run_id,
            target=self.target.name,
            run_dir=Path(run_dir) if run_dir and not self.is_worker else None,
            endpoint_of=self._endpoint_by_key,
            secrets=lambda: secret_values(config),
        )
        config.pluginmanager.register(CaseWatch(self.liveness, self._endpoint), "artconf-liveness")
        config.pluginmanager.register(ExpectationCheck(), "artconf-expectations")
        config.pluginmanager.register(LogWindow(self._endpoint), "artconf-logwindow")

    # --- what the run covers ----------------------------------------------------------
    def _drivers(self, value: str | None, backends: list[str]) -> list[str]:
        served = sorted({self.profiles[b].driver for b in backends})
        if not value:
            return served
        chosen = [d.strip() for d in value.split(",") if d.strip()]
        unknown = sorted(set(chosen) - set(served))
        if unknown:
            raise pytest.UsageError(
                f"--artconf-drivers: unknown {unknown}; choose from {', '.join(served)}"
            )
        return chosen

    def _keep_what_the_file_holds(self, path: str) -> None:
        """Only the columns (backend in a mode) and sources whose servers the endpoints file
        holds run; each other one is `not-run`, with the reason in run.json and the header."""
        try:
            held = set(load_endpoints(Path(path)))
        except ValueError as exc:
            raise pytest.UsageError(f"--artconf-endpoints: {exc}") from None
        for column in self.columns:
            key = self.server_key(column)
            if key not in held:
                self.not_run[column.key] = f"server {key} is not in the endpoints file {path}"
        self.columns = [c for c in self.columns if c.key not in self.not_run]
        for source in list(self.sources):
            if source == "kube" and kube_mode(self.config) == "local" and "kube" not in held:
                self.not_run[source] = f"server kube is not in the endpoints file {path}"
                self.sources.remove(source)
        if not self.columns and not self.sources:
            raise pytest.UsageError(
                f"--artconf-endpoints: {path} holds none of the servers this run needs "
                f"({', '.join(self.not_run)}); it holds {', '.join(sorted(held)) or 'nothing'}"
            )

    def server_key(self, column: Column) -> str:
        """The pool's key of the server process behind `column`."""
        return with_mode(self.profiles[column.backend].server, column.tls)

    def backend(self, key: str, server: Any) -> Backend:
        """The `artconf_backend` fixture's value; `server` is the `artconf_server` fixture."""
        column = Column.parse(key)
        endpoint = server(self.server_key(column))
        return Backend(column, endpoint, self.profiles[column.backend])

    # --- collection --------------------------------------------------------------------
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if SOURCE_FIXTURE in metafunc.fixturenames:
            ids = [f"{RESOLUTION}-{s}" for s in self.sources]
            metafunc.parametrize(SOURCE_FIXTURE, self.sources, ids=ids, indirect=True)
        if BACKEND_FIXTURE in metafunc.fixturenames:
            keys = [c.key for c in self.columns]
            ids = [f"{self.profiles[c.backend].driver}-{c.key}" for c in self.columns]
            metafunc.parametrize(BACKEND_FIXTURE, keys, ids=ids, indirect=True)

    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        kept, deselected = [], []
        for item in items:
            fixture = _matrix_fixture(item)
            if fixture is None:
                kept.append(item)
                continue
            params = getattr(getattr(item, "callspec", None), "params", {})
            if not isinstance(params.get(fixture), str):  # nothing chosen for it in this run
                deselected.append(item)
                continue
            if item.get_closest_marker(cases.DIFFERENTIAL) and not self.target.differential:
                deselected.append(item)  # the differential lane: only for a target asking
                continue
            info = self._case_info(item, Column.parse(params[fixture]))
            item.stash[_CASE] = info
            item.user_properties.append((CASE, info.to_dict()))
            if self.shard and not _in_shard(item.nodeid, self.shard):
                deselected.append(item)
            else:
                kept.append(item)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = kept

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # After every plugin's deselection (-k, -m run after this plugin's modifyitems). An
        # xdist controller collects nothing: its workers' collections set the total instead.
        if session.items:
            self.recorder.total = len(session.items)

    def _case_info(self, item: pytest.Item, column: Column) -> CaseInfo:
        marks = list(item.iter_markers(cases.VERIFIES))
        if len(marks) != 1 or len(marks[0].args) != 1:
            raise pytest.UsageError(
                f"collection error: {item.nodeid} must verify exactly one capability "
                '(@verifies("..."))'
            )
        verified = _capability(item, marks[0].args[0])
        needed = [_capability(item, n) for m in item.iter_markers(cases.REQUIRES) for n in m.args]
        contract, spec = cases.contract_of(getattr(item, "function", None))
        return CaseInfo(
            driver=self.profiles[column.backend].driver,
            backend=column.backend,
            mode=column.mode,
            capability=verified.value,
            case=f"{item.module.__name__.rsplit('.', 1)[-1]}::{item.originalname}",
            requires=tuple(c.value for c in needed),
            deviations=tuple(m.args[0] for m in item.iter_markers(cases.DEVIATION)),
            contract=contract,
            spec=spec,
        )

    # --- skips and xfails from declarations --------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        info = item.stash.get(_CASE, None)
        if info is None:
            return
        key = self._server_key(item)
        if key is not None:
            item.user_properties.append((SERVER, key))
        decision = decide(info, self.view, self.profiles[info.backend], self.deviation_refs)
        if isinstance(decision, Skip):
            item.user_properties.append((SKIP, {"by": decision.by, "missing": decision.missing}))
            pytest.skip(decision.reason)
        if isinstance(decision, Expect):
            item.user_properties.append((REFERENCE, decision.reference))
            item.stash[EXPECTED] = decision
            item.add_marker(pytest.mark.xfail(strict=True, reason=decision.reason))
        else:
            chances = tuple(e for d, e in self.intermittent if d in ("", info.driver))
            if chances:  # a race of the target's that a failure of this case may be
                item.stash[INTERMITTENT] = chances
        endpoint = self._endpoint(item)
        reason = self.liveness.check(endpoint) if endpoint is not None else None
        if reason is not None:  # found dead before: end at once, no retries against it
            pytest.fail(reason, pytrace=False)

    # --- infra errors ------------------------------------------------------------------
    def _server_key(self, item: pytest.Item) -> str | None:
        """The key of the server a matrix case runs against (None: no server, e.g. manifests)."""
        info = item.stash.get(_CASE, None)
        if info is None:
            return None
        if info.driver == RESOLUTION and kube_mode(self.config) != "local":
            return None  # a real cluster: not a server of this run
        key = self.server_key(info.column)
        return key if key.removesuffix("-tls") in SERVERS else None

    def _endpoint_by_key(self, key: str) -> Endpoint | None:
        pool = server_pool(self.config)
        return pool.endpoints.get(key) if pool else None

    def _endpoint(self, item: pytest.Item) -> Endpoint | None:
        key = self._server_key(item)
        return self._endpoint_by_key(key) if key else None

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
        endpoint = self._endpoint_by_key(key)
        excinfo = call.excinfo
        if excinfo is not None and excinfo.errisinstance(ServerUnavailable):
            reason: str | None = str(excinfo.value.reason)
        elif excinfo is not None and excinfo.errisinstance(ServerDown):
            reason = str(excinfo.value)
        elif endpoint is None:
            reason = f"server {key} is not running in this run"
        else:
            reason = self.liveness.check(endpoint, connect=True)
        if reason is not None:
            report.user_properties.append((INFRA, reason))

    # --- records (controlling process only) -------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.is_worker and CASE in dict(report.user_properties):
            self.recorder.add(report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.recorder.total = len(ids)  # the worker's items, -k applied

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        try:
            close_target(self.target)  # plugin processes of a plugin-exec target
        finally:
            self.liveness.close()

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker:
            return
        meta: dict[str, Any] = {
            "run_id": self.run_id,
            "target": self.target.name,
            "backends": [c.key for c in self.columns] + self.sources,
            "shard": "/".join(map(str, self.shard)) if self.shard else "",
            "servers": self._server_versions(),
            "applicable": self._applicable(),
            "drivers": list(self.view.capabilities),
            "declared_deviations": sorted(self.target.deviations),
            "reference": self.target.name == "reference",
            "not_run": self.not_run,
        }
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED  # records: finished cases only
        self.recorder.finish(
            meta,
            shard=self.shard,
            profiles=[Path(p.path) for p in self.profiles.values()],
            deviations_path=DEVIATIONS_PATH,
            interrupted_by=(interrupted_by() or "SIGINT") if interrupted else None,
        )

    def _applicable(self) -> dict[str, list[str]]:
        """Per driver, the capabilities the report shows rows for: Argo's own set for the
        kind (every resolution capability for resolution) plus what the target declares."""
        applicable = {}
        for driver, declared in self.view.capabilities.items():
            if driver == RESOLUTION:
                own = {c for c in Capability if c.value.startswith("resolution_")}
            else:
                own = set(kinds.get(driver).argo_capabilities)
            applicable[driver] = [c.value for c in Capability if c in own | declared]
        return applicable

    def _server_versions(self) -> dict[str, str]:
        """Each server's version; `(container)` after it when it ran as one."""
        pool = server_pool(self.config)
        return {
            k: e.version + (" (container)" if e.launcher == "containers" else "")
            for k, e in (pool.endpoints if pool else {}).items()
        }

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        lines = [f"artconf: {self.scope.note}"] if self.scope.note else []
        return lines + [f"artconf: {c} not run: {why}" for c, why in self.not_run.items()]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.recorder.records or self.recorder.writer is not None:
            return  # `artconf run` prints the matrix itself
        terminalreporter.section("artconf matrix")
        for line in matrix.render_text(self.recorder.records).splitlines():
            terminalreporter.write_line(line)
        failures = matrix.render_failures(self.recorder.records)
        if failures:
            terminalreporter.section("artconf failures: the contracts broken")
            for line in failures.splitlines():
                terminalreporter.write_line(line)


def deviation_refs() -> dict[str, tuple[str, str, Fails]]:
    """Each deviation id -> (its driver, its Argo reference, the failure a target doing it the
    Argo way shows: `assertion` unless the row says otherwise)."""
    refs = {}
    for row in deviations():
        fails = row.fails or {"code": ASSERTION}
        try:
            refs[row.id] = (row.driver, row.argo_reference, parse_fails(fails, f"{row.id}.fails"))
        except ValueError as exc:
            raise pytest.UsageError(f"{DEVIATIONS_PATH}: deviation {exc}") from None
    return refs


def intermittent_rows(
    declared: frozenset[str], refs: dict[str, tuple[str, str, Fails]]
) -> list[tuple[str, Expect]]:
    """(driver, expectation) of each intermittent deviation the target declares."""
    rows = []
    for row in deviations():
        if row.intermittent and row.id in declared:
            driver, reference, fails = refs[row.id]
            rows.append((driver, deviation_expect(row.id, reference, fails, intermittent=True)))
    return rows


def check_registry(profiles: dict[str, Profile]) -> None:
    """Every kind has a profile and every storage profile a server: an error at start."""
    served = {p.driver for p in profiles.values()}
    lacking = [name for name in kinds.all_kinds() if name not in served]
    if lacking:
        dirs = ", ".join(str(d) for d in profile_dirs())
        raise ValueError(
            f"location kind(s) {', '.join(lacking)} have no backend profile (looked in {dirs}); "
            "add one (see CONTRIBUTING.md)"
        )
    for profile in profiles.values():
        if not profile.is_resolution_source and profile.server not in SERVERS:
            raise ValueError(
                f"{profile.path}: server {profile.server!r} is not a server of the kit; "
                f"servers: {', '.join(SERVERS)}"
            )


def _matrix_fixture(item: pytest.Item) -> str | None:
    """The matrix fixture a case uses (`artconf_backend` or `artconf_source`), if any."""
    names = getattr(item, "fixturenames", ())
    return next((f for f in MATRIX_FIXTURES if f in names), None)


def _capability(item: pytest.Item, name: str) -> Capability:
    try:
        return parse_capability(name, where=item.nodeid)
    except ValueError as exc:
        raise pytest.UsageError(f"collection error: {exc}") from None


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


def _in_shard(nodeid: str, shard: tuple[int, int]) -> bool:
    index, count = shard
    digest = int(hashlib.sha256(nodeid.encode()).hexdigest(), 16)
    return digest % count == index - 1
