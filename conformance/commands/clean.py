"""`artconf clean`: remove what runs left in the cache's sessions directory."""

from __future__ import annotations

import argparse
import re

from conformance.commands.common import EXIT_OK, progress
from emulators.errors import UsageError
from emulators.paths import cache_root, sessions_dir

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

DESCRIPTION = """\
Remove the session directories left in the cache; print each one and the space freed.

The cache ({cache}) holds:
  tools/     the pinned servers (`artconf tools install`): never removed by clean
  sessions/  one directory per run of servers (TLS files, data, logs); a run removes its own
             when it ends, except its logs after failing tests and everything with
             --artconf-keep-data / ARTCONF_KEEP_DATA=1; a killed run leaves it all
  state/     records of running servers and the state of `artconf emulators up`: small,
             never removed by clean

A session whose servers (or the process that made it) still run is never removed.
"""


def parse_duration(text: str) -> float:
    """`90s`, `30m`, `1h`, `2d` -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if not match:
        raise UsageError(f"--older-than {text!r}: write a number and a unit, e.g. 30m, 1h, 2d")
    return float(match.group(1)) * UNITS[match.group(2)]


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def cmd_clean(args: argparse.Namespace) -> int:
    from emulators.sessions import leftovers, remove_leftover

    min_age = parse_duration(args.older_than) if args.older_than else 0.0
    verb = "would remove" if args.dry_run else "removed"
    freed = 0
    for leftover in leftovers():
        if leftover.live:
            progress(f"kept {leftover.path}: its servers are still running")
            continue
        if leftover.age_seconds < min_age:
            continue
        if args.dry_run or remove_leftover(leftover.path):
            print(f"{verb} {leftover.path} ({_mb(leftover.size_bytes)})")
            freed += leftover.size_bytes
    summary = "would free" if args.dry_run else "freed"
    print(f"{summary} {_mb(freed)} in {sessions_dir()}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "clean",
        help="remove leftover server session directories from the cache (never the tools)",
        description=DESCRIPTION.format(cache=cache_root()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--older-than",
        metavar="DURATION",
        help="only sessions untouched for this long: 30m, 1h, 2d (default: every one not live)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be removed; remove nothing"
    )
    parser.set_defaults(func=cmd_clean)
