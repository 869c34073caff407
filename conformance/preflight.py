"""Before any server starts: which location kinds the target serves, and whether its factory
makes a usable driver for each of them.

The factory is called once per kind with a location on a port where nothing listens (no
driver should connect when it is constructed; one that does fails its cases, not this check).
It must return an object with the seven methods. For a target that declares its kinds
(`factory.kinds`, or the keys of a `factory.capabilities` mapping) any problem is a
`TargetError`; for one that declares none the kinds are inferred: those the factory makes a
driver for, with a message saying how to declare them instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance import kinds
from conformance.kinds.base import Location
from conformance.targets import Target, TargetError, driver_problem
from drivers.core.model import parse_artifact
from drivers.core.secrets import MemorySecretSource
from emulators.endpoint import Endpoint

NOWHERE_PORT = 9  # discard: nothing listens there on this machine's loopback
PREFLIGHT_CREDENTIAL = "cHJlZmxpZ2h0"  # "preflight" in base64: a well-formed, useless key


class _AnyCredential(dict):
    """A credentials mapping that has every key a kind adapter asks for."""

    def __missing__(self, key: str) -> str:
        return PREFLIGHT_CREDENTIAL


def sample_location(kind: kinds.Kind) -> Location:
    endpoint = Endpoint(
        name="preflight",
        server="preflight",
        url=f"http://127.0.0.1:{NOWHERE_PORT}",
        host="127.0.0.1",
        port=NOWHERE_PORT,
        tls=False,
        credentials=_AnyCredential(),
    )
    try:
        return kind.location(endpoint, "preflight-bucket", "preflight/key.txt")
    except kinds.Unrepresentable:  # a kind whose keys are what a case lays out (Raw)
        return kind.location(endpoint, "preflight-bucket", "")


def try_factory(target: Target, kind: kinds.Kind) -> str:
    """What goes wrong constructing `target`'s driver for `kind` ("" when nothing)."""
    location = sample_location(kind)
    artifact = parse_artifact(location.artifact("preflight"))
    try:
        driver = target.factory(
            artifact, MemorySecretSource(location.secrets), location.driver_context()
        )
    except Exception as exc:
        return f"the factory raised {type(exc).__name__}: {exc}"
    problem = driver_problem(driver)
    close = getattr(driver, "close", None)
    if callable(close):
        try:
            close()
        except Exception as exc:
            return problem or f"close() raised {type(exc).__name__}: {exc}"
    return problem


@dataclass(frozen=True)
class Scope:
    """The kinds a run covers for its target, and what was inferred (a note for the user)."""

    kinds: tuple[str, ...]
    note: str = ""


def target_scope(target: Target, served: list[str]) -> Scope:
    """The kinds of `served` (kinds some chosen backend serves) the run covers for `target`.

    Raises TargetError when the target cannot be run: no chosen backend serves a declared
    kind, a declared kind the factory fails for, or, with nothing declared, no kind it serves.
    """
    if target.name == "reference":
        return Scope(tuple(served))
    storage = [k for k in served if k != "resolution"]
    if target.kinds is not None:
        unknown = [k for k in target.kinds if k not in kinds.all_kinds() and k != "resolution"]
        if unknown:
            raise TargetError(
                f"{target.name}: kinds declares unknown {', '.join(unknown)}; "
                f"known kinds: {', '.join(kinds.all_kinds())}"
            )
        chosen = [k for k in storage if k in target.kinds]
        problems = {k: try_factory(target, kinds.get(k)) for k in chosen}
        broken = {k: p for k, p in problems.items() if p}
        if broken:
            raise TargetError(
                f"{target.name}: no usable driver for {_by_problem(broken)} (the preflight "
                "constructs one driver per declared kind before any case)"
            )
        extra = ("resolution",) if "resolution" in target.kinds and "resolution" in served else ()
        if not chosen and not extra:
            raise TargetError(
                f"{target.name} serves {', '.join(target.kinds)}; none of the chosen backends "
                f"does (they serve {', '.join(served)}): choose --backends of those kinds"
            )
        return Scope((*chosen, *extra))
    problems = {k: try_factory(target, kinds.get(k)) for k in storage}
    working = [k for k, p in problems.items() if not p]
    if not working:
        raise TargetError(
            f"{target.name}: the factory makes no usable driver for any location kind: "
            f"{_by_problem(problems)}"
        )
    refused = [k for k, p in problems.items() if p]
    note = ""
    if refused:
        note = (
            f"{target.name} declares no kinds; running {', '.join(working)} (its factory "
            f"refused {', '.join(refused)}); declare `factory.kinds = {working!r}` to say so"
        )
    return Scope(tuple(working), note)


def _by_problem(problems: dict[str, str]) -> str:
    """`azure, gcs: <problem>; s3: <other problem>`: each problem said once."""
    kinds_of: dict[str, list[str]] = {}
    for kind, problem in problems.items():
        kinds_of.setdefault(problem, []).append(kind)
    return "; ".join(f"{', '.join(sorted(k))}: {problem}" for problem, k in kinds_of.items())
