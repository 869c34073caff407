"""Backend profiles: per server, what a pass there can prove and which capabilities it cannot.

A profile is a YAML file in `emulators/profiles/` (shipped as package data), one per backend:
the matrix column it names (`backend`, by default the server's name), the server that runs it
(`server`, a module of `emulators/`), the location kind it serves (`driver`: an adapter in
`conformance/kinds/`, or `resolution` for a resolution source), and gaps for every mode and per
mode. Every gap carries a reason; unknown capability names, gaps without a reason and a driver
without an adapter are errors when the profile is loaded. `ARTCONF_PROFILE_DIRS` (directories
separated by `:`) adds profiles beside the kit's own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from conformance.capabilities import Capability, parse_capability
from conformance.declared import Fails, parse_fails

MODES = ("plain", "tls")
RESOLUTION = "resolution"  # the `driver` of resolution sources (spec 3), not a location kind
EXTRA_DIRS = "ARTCONF_PROFILE_DIRS"


class ProfileError(ValueError):
    """A profile file that does not follow the format; the message names the file and field."""


@dataclass(frozen=True)
class Gap:
    capability: Capability
    reason: str
    reference: str = ""


@dataclass(frozen=True)
class KnownBug:
    """A server's bug that makes a case fail: a strict xfail absorbing only `fails`."""

    reason: str
    reference: str
    fails: Fails


@dataclass
class Profile:
    server: str  # the server that runs this backend (a module of emulators/)
    driver: str  # the location kind it serves, or "resolution"
    kind: str
    description: str
    fidelity: list[str]
    gaps: dict[str, dict[Capability, Gap]]  # mode -> capability -> gap
    known_bugs: dict[str, KnownBug] = field(default_factory=dict)  # case name -> strict xfail
    path: str = ""
    backend: str = ""  # the matrix column's name; defaults to `server`
    served_modes: tuple[str, ...] = MODES  # e.g. ("tls",): client certificates need TLS

    def __post_init__(self) -> None:
        self.backend = self.backend or self.server

    @property
    def is_resolution_source(self) -> bool:
        return self.driver == RESOLUTION

    def gap(self, capability: Capability, mode: str) -> Gap | None:
        return self.gaps[mode].get(capability)


def _gaps(data: object, where: str) -> dict[Capability, Gap]:
    if data in (None, {}):
        return {}
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: expected a mapping of capability -> {{reason, reference}}")
    gaps = {}
    for name, body in data.items():
        capability = parse_capability(str(name), where=where)
        if not isinstance(body, dict) or not str(body.get("reason") or "").strip():
            raise ProfileError(f"{where}.{name}: every gap needs a non-empty `reason`")
        gaps[capability] = Gap(capability, body["reason"], body.get("reference") or "")
    return gaps


def parse_profile(data: dict, source: str, *, snapshot: bool = False) -> Profile:
    """A profile from its YAML. `snapshot`: a copy kept in an older run directory, read for the
    report only; a known bug written before `fails` was required then declares no failure."""
    required = ("server", "driver", "kind", "description")
    missing = [k for k in required if not data.get(k)]
    if missing:
        raise ProfileError(f"{source}: missing field(s) {', '.join(missing)}")
    common = _gaps(data.get("gaps"), f"{source}: gaps")
    modes = data.get("modes") or {}
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise ProfileError(f"{source}: unknown mode(s) {unknown}; modes are {', '.join(MODES)}")
    served = tuple(data.get("served_modes") or MODES)
    if not served or set(served) - set(MODES):
        raise ProfileError(f"{source}: served_modes must be a list of {', '.join(MODES)}")
    per_mode = {
        mode: {**common, **_gaps((modes.get(mode) or {}).get("gaps"), f"{source}: modes.{mode}")}
        for mode in MODES
    }
    if data["driver"] != RESOLUTION:
        from conformance import kinds

        try:
            kinds.get(data["driver"])
        except kinds.KindError as exc:
            raise ProfileError(f"{source}: driver: {exc}") from None
    bugs = {}
    for case, body in (data.get("known_bugs") or {}).items():
        where = f"{source}: known_bugs.{case}"
        if not isinstance(body, dict) or not body.get("reason") or not body.get("reference"):
            raise ProfileError(f"{where}: needs `reason`, `reference` and `fails`")
        try:
            fails = (
                Fails(())
                if snapshot and "fails" not in body
                else parse_fails(body.get("fails"), f"{where}.fails")
            )
        except ValueError as exc:
            raise ProfileError(str(exc)) from None
        bugs[case] = KnownBug(body["reason"], body["reference"], fails)
    return Profile(
        server=data["server"],
        driver=data["driver"],
        kind=data["kind"],
        description=data["description"],
        fidelity=list(data.get("fidelity") or []),
        gaps=per_mode,
        known_bugs=bugs,
        path=source,
        backend=str(data.get("backend") or ""),
        served_modes=served,
    )


def profile_dir() -> Path:
    return Path(str(resources.files("emulators").joinpath("profiles")))


def profile_dirs() -> list[Path]:
    """The kit's profile directory, then those named by ARTCONF_PROFILE_DIRS."""
    extra = [Path(p) for p in os.environ.get(EXTRA_DIRS, "").split(os.pathsep) if p]
    return [profile_dir(), *extra]


def load_profiles(directory: Path | None = None) -> dict[str, Profile]:
    """Profiles by backend name, from `directory` or else every profile directory."""
    profiles: dict[str, Profile] = {}
    for folder in [directory] if directory else profile_dirs():
        if not folder.is_dir():
            raise ProfileError(f"{EXTRA_DIRS}: {folder} is not a directory")
        for path in sorted(folder.glob("*.yaml")):
            try:
                data = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as exc:
                raise ProfileError(f"{path}: not valid YAML: {exc}") from None
            profile = parse_profile(data, str(path))
            if profile.backend in profiles:
                raise ProfileError(
                    f"{path}: backend {profile.backend!r} is already defined by "
                    f"{profiles[profile.backend].path}"
                )
            profiles[profile.backend] = profile
    return profiles
