"""A matrix column: one backend in one mode, and the key that names it everywhere.

    Column("minio", "tls").key == "minio-tls"     Column.parse("minio-tls") == that column

The key is how a column is written in records, grids, `--backends` and log file names; the
server key (`server_key`) is how the server pool names the process serving it, which differs
when a backend's profile runs on another backend's server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulators.errors import UsageError

MODES = ("plain", "tls")
TLS_SUFFIX = "-tls"


@dataclass(frozen=True, order=True)
class Column:
    backend: str
    mode: str = "plain"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode {self.mode!r}: modes are {', '.join(MODES)}")

    @property
    def tls(self) -> bool:
        return self.mode == "tls"

    @property
    def key(self) -> str:
        return with_mode(self.backend, self.tls)

    @classmethod
    def parse(cls, key: str) -> Column:
        if key.endswith(TLS_SUFFIX):
            return cls(key.removesuffix(TLS_SUFFIX), "tls")
        return cls(key, "plain")

    def __str__(self) -> str:
        return self.key


def with_mode(name: str, tls: bool) -> str:
    """`minio`, True -> `minio-tls`: a server's or backend's key in one mode."""
    return name + TLS_SUFFIX if tls else name


def chosen_columns(
    value: str | None, profiles: Mapping[str, Any], modes: list[str]
) -> list[Column]:
    """`--artconf-backends` -> the run's columns. A name is a backend, run in `modes` (from
    --artconf-tls), or a grid column as the grid prints it (`minio-tls`: that backend in TLS
    only); nothing means every backend in `modes`."""
    names = [n.strip() for n in (value or "").split(",") if n.strip()] or list(profiles)
    columns, unknown = [], []
    for name in names:
        if name in profiles:
            served = getattr(profiles[name], "served_modes", MODES)
            if value and not set(modes) & set(served):  # named, and in none of its modes
                other = "on" if "tls" in served else "off"
                raise UsageError(
                    f"--artconf-backends: {name} serves {' and '.join(served)} only, and the "
                    f"run asks for {' and '.join(modes)}: pass --tls {other} or both"
                )
            columns += [Column(name, mode) for mode in modes if mode in served]
        elif Column.parse(name).tls and Column.parse(name).backend in profiles:
            backend = profiles[Column.parse(name).backend]
            if "tls" not in getattr(backend, "served_modes", MODES):
                unknown.append(f"{name} (that backend serves no TLS)")
                continue
            columns.append(Column.parse(name))
        else:
            unknown.append(name)
    if unknown:
        raise UsageError(
            f"--artconf-backends: unknown {', '.join(unknown)}; choose from "
            f"{', '.join(profiles)} (or a grid column such as minio-tls: TLS only)"
        )
    return list(dict.fromkeys(columns))
