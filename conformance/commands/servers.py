"""`artconf tools`, `artconf emulators` and `artconf doctor`: the storage servers."""

from __future__ import annotations

import argparse
import json
import shlex

from conformance.commands.common import EXIT_FAILED, EXIT_OK, progress, split_list
from emulators.names import SERVER_NAMES, TOOL_NAMES

# The server modules (emulators.fleet, .detached, .tools, .sessions) are imported inside each
# command: at top level they would load every server module for any `artconf` invocation.

# --- tools -------------------------------------------------------------------------------


def cmd_tools_install(args: argparse.Namespace) -> int:
    from emulators import tools

    tools.install(split_list(args.only), progress=progress)
    return EXIT_OK


# --- emulators ---------------------------------------------------------------------------


def _exports(endpoints: dict) -> str:
    lines = []
    for key, endpoint in endpoints.items():
        prefix = "ARTCONF_" + key.upper().replace("-", "_")
        values = {"URL": endpoint.url, "CA_BUNDLE": endpoint.ca_bundle or ""}
        values.update({k.upper(): v for k, v in endpoint.credentials.items()})
        lines += [f"export {prefix}_{name}={shlex.quote(str(v))}" for name, v in values.items()]
    return "\n".join(lines)


def cmd_up(args: argparse.Namespace) -> int:
    from emulators import detached
    from emulators.fleet import instance_keys, parse_servers

    keys = instance_keys(parse_servers(args.only), args.tls)
    endpoints = detached.up(keys, progress, args.state_dir, args.launcher)
    if args.json:
        print(
            json.dumps(
                {k: _without_name(e.to_dict(redact=False)) for k, e in endpoints.items()}, indent=2
            )
        )
    else:
        print(_exports(endpoints))
    progress(f"{len(endpoints)} server(s) running; stop them with `{_down_command(args)}`")
    return EXIT_OK


def _down_command(args: argparse.Namespace) -> str:
    if args.state_dir:
        return f"artconf emulators down --state-dir {shlex.quote(args.state_dir)}"
    return "artconf emulators down"


def _without_name(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "name"}


def cmd_status(args: argparse.Namespace) -> int:
    from emulators import detached

    statuses, reaped = detached.status(args.state_dir)
    for record in reaped:
        progress(f"reaped {record.name} (pid {record.pid}): its owner had died")
    if args.json:
        print(
            json.dumps(
                {
                    s.key: {
                        **_without_name(s.endpoint.to_dict()),
                        "alive": s.alive,
                        "exit_code": s.exit_code,
                    }
                    for s in statuses
                },
                indent=2,
            )
        )
        return EXIT_OK
    if not statuses:
        print("no servers started by `artconf emulators up`")
        return EXIT_OK
    for s in statuses:
        state = (
            "running"
            if s.alive
            else f"dead (exit code {s.exit_code if s.exit_code is not None else 'unknown'})"
        )
        print(
            f"{s.key:<14} {state:<26} {s.endpoint.url:<28} "
            f"pid {s.endpoint.pid}  log {s.endpoint.log}"
        )
    return EXIT_OK if all(s.alive for s in statuses) else EXIT_FAILED


def cmd_down(args: argparse.Namespace) -> int:
    from emulators import detached

    stopped = detached.down(args.state_dir)
    print(f"stopped {', '.join(stopped.keys)}" if stopped.keys else "nothing to stop")
    if stopped.kept is not None:
        progress(f"server data kept in {stopped.kept} (ARTCONF_KEEP_DATA=1)")
    return EXIT_OK


def cmd_probe(args: argparse.Namespace) -> int:
    """Start every server in the chosen modes at once, print one row each, stop them all."""
    from emulators.fleet import Fleet, instance_keys, parse_servers
    from emulators.sessions import new_session_dir

    keys = instance_keys(parse_servers(args.only), args.tls)
    with Fleet(new_session_dir("probe"), launcher=args.launcher) as fleet:
        fleet.start(keys, progress)
        header = (
            f"{'server':<14} {'endpoint':<28} {'version':<38} {'start s':>8} {'RSS MiB':>8}"
            f" {'launcher':<10}"
        )
        print(header)
        print("-" * len(header))
        for key, _, _ in keys:
            if key in fleet.started:
                s = fleet.started[key]
                print(
                    f"{key:<14} {s.endpoint.url:<28} {s.endpoint.version:<38} "
                    f"{s.running.start_seconds:>8.2f} {s.running.rss_bytes() / 2**20:>8.0f}"
                    f" {s.endpoint.launcher:<10}"
                )
            else:
                print(f"{key:<14} FAILED: {fleet.errors.get(key, 'not started').splitlines()[0]}")
    return EXIT_OK if not fleet.errors else EXIT_FAILED


# --- doctor ------------------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace) -> int:
    """Per server: installed? can it start here? if not, why. Then: which launchers work."""
    from emulators import engine, tools
    from emulators.fleet import SERVERS, Fleet, instance_keys, parse_servers
    from emulators.sessions import new_session_dir

    healthy = True
    kinds = parse_servers(args.only)
    with Fleet(new_session_dir("doctor"), launcher=args.launcher) as fleet:
        installed = []
        for kind in kinds:
            try:
                tools.binary(SERVERS[kind].tool)
                installed.append(kind)
            except tools.ToolError as exc:
                healthy = False
                print(f"{kind:<10} not installed: {exc}")
        fleet.start(instance_keys(installed, "off"), lambda _: None)
        for kind in installed:
            if kind in fleet.started:
                s = fleet.started[kind]
                print(
                    f"{kind:<10} ok: {s.endpoint.version}, "
                    f"started in {s.running.start_seconds:.2f} s"
                )
            else:
                healthy = False
                print(f"{kind:<10} cannot start: {fleet.errors[kind].splitlines()[0]}")
    # Which launchers work: the one tried is judged by the starts above, the other by asking.
    tried = "ok: the servers above started" if healthy else "FAILED: see the servers above"
    works, how = engine.availability()
    native = tried if fleet.launcher == "native" else "ok: needs no engine (not tried here)"
    if fleet.launcher == "containers":
        boxed = f"{tried} as containers ({how})"
    else:
        boxed = f"{'available' if works else 'unavailable'}: {how}"
    print(f"launcher native: {native}")
    print(f"launcher containers: {boxed}")
    return EXIT_OK if healthy else EXIT_FAILED


def register(sub: argparse._SubParsersAction) -> None:
    servers_help = f"comma-separated servers (default: all of {', '.join(SERVER_NAMES)})"

    tools_p = sub.add_parser("tools", help="install the pinned storage servers into the tool cache")
    tools_sub = tools_p.add_subparsers(dest="tools_command", required=True, metavar="ACTION")
    install = tools_sub.add_parser("install", help="install (idempotent, under a file lock)")
    install.add_argument(
        "--only", help=f"comma-separated tools (default: all of {', '.join(TOOL_NAMES)})"
    )
    install.set_defaults(func=cmd_tools_install)

    emu = sub.add_parser("emulators", help="start, inspect and stop the storage servers")
    emu_sub = emu.add_subparsers(dest="emulators_command", required=True, metavar="ACTION")
    tls_kw = dict(
        nargs="?",
        const="on",
        default="off",
        choices=("off", "on", "both"),
        help="--tls: TLS only; --tls both: plain and TLS (TLS keys end in -tls)",
    )
    launcher_kw = dict(
        choices=("native", "containers"),
        default=None,
        help="start the servers as native processes (default; also ARTCONF_LAUNCHER) or as "
        "containers on a Docker engine (DOCKER_HOST's, else the kit's own dockerd)",
    )
    up = emu_sub.add_parser(
        "up",
        help="start servers detached and print their endpoints",
        description="Start servers detached; print shell exports, or JSON.",
    )
    up.add_argument("--only", help=servers_help)
    up.add_argument("--tls", **tls_kw)
    up.add_argument("--json", action="store_true", help="print one JSON object keyed by server")
    up.add_argument("--launcher", **launcher_kw)
    up.set_defaults(func=cmd_up)
    status = emu_sub.add_parser("status", help="show what `up` started (credentials redacted)")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    down = emu_sub.add_parser(
        "down", help="stop exactly what `up` started and remove its session directory"
    )
    down.set_defaults(func=cmd_down)
    for command in (up, status, down):
        command.add_argument(
            "--state-dir",
            metavar="DIR",
            default=None,
            help="keep the state of `up` here (default: $ARTCONF_UP_STATE_DIR, else one "
            "directory per checkout under the cache's state/up/); give two CI jobs in one "
            "checkout different ones",
        )
    probe = emu_sub.add_parser("probe", help="start, measure (start time, RSS) and stop servers")
    probe.add_argument("--only", help=servers_help)
    probe.add_argument("--tls", **{**tls_kw, "default": "both"})
    probe.add_argument("--launcher", **launcher_kw)
    probe.set_defaults(func=cmd_probe)

    doctor = sub.add_parser("doctor", help="per server: installed? can it start here? if not, why")
    doctor.add_argument("--only", help=servers_help)
    doctor.add_argument("--launcher", **launcher_kw)
    doctor.set_defaults(func=cmd_doctor)
