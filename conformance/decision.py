"""Whether a matrix case runs, and how its outcome is read: a pure function of declarations.

    decide(case, target, profile, deviation_refs) -> Run() | Skip(...) | Expect(...)

Declarations decide, never the case: the target's capabilities (or Argo's own set for a target
that declares none), the backend profile's gaps and known bugs, and the deviations the target
declares. The session turns the answer into a skip or a strict xfail (`conformance.session`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.capabilities import Capability
from conformance.columns import Column
from conformance.declared import Fails
from conformance.profiles import Profile


@dataclass(frozen=True)
class CaseInfo:
    """What a matrix case is. Carried on its reports to the controller as a plain dict."""

    driver: str  # the location kind, or "resolution"
    backend: str
    mode: str
    capability: str  # the one capability it verifies (its cell)
    case: str  # "<suite module>::<function>"
    requires: tuple[str, ...] = ()
    deviations: tuple[str, ...] = ()  # ids from @deviation marks
    contract: str = ""
    spec: str = ""

    @property
    def column(self) -> Column:
        return Column(self.backend, self.mode)

    @property
    def function(self) -> str:
        return self.case.split("::")[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "requires": list(self.requires),
            "deviations": list(self.deviations),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaseInfo:
        return cls(
            **{
                **data,
                "requires": tuple(data.get("requires", ())),
                "deviations": tuple(data.get("deviations", ())),
            }
        )


@dataclass(frozen=True)
class Run:
    """Run the case; its outcome counts as it comes."""


@dataclass(frozen=True)
class Skip:
    by: str  # "driver" or "backend"
    missing: str  # the capability
    reason: str  # the whole skip message, "unsupported-by-...: ..."


@dataclass(frozen=True)
class Expect:
    """Run the case as a strict xfail: it is declared to fail, with a reference."""

    reference: str
    reason: str
    fails: Fails | None = None  # the failure declared; None: nothing is absorbed


Decision = Run | Skip | Expect


@dataclass(frozen=True)
class TargetView:
    """The two things a decision needs to know about a target."""

    name: str
    capabilities: Mapping[str, frozenset[Capability]] = field(default_factory=dict)
    deviations: frozenset[str] = frozenset()
    #: Capabilities whose evidence the kit cannot gather for this target, with why (a plugin
    #: runs in its own process, where the kit's observers are not).
    unprovable: Mapping[str, str] = field(default_factory=dict)


def decide(
    case: CaseInfo,
    target: TargetView,
    profile: Profile,
    deviation_refs: Mapping[str, tuple[str, str, Fails]],
) -> Decision:
    """The decision for `case` on `profile`'s backend.

    `deviation_refs` maps a deviation id to (its driver, "" for every driver; its reference;
    the failure it declares).
    Order: a missing capability (driver first, then what the kit cannot prove for this target,
    then the backend, for the verified capability and then each prerequisite) skips; a
    deviation the target declares for this driver, then a known bug of the server, makes a
    strict xfail; otherwise the case runs.
    """
    declared = target.capabilities.get(case.driver, frozenset())
    for name in (case.capability, *case.requires):
        capability = Capability(name)
        if capability not in declared:
            return Skip(
                "driver",
                name,
                f"unsupported-by-driver: {target.name} ({case.driver}) lacks {name}",
            )
        why = target.unprovable.get(name)
        if why:
            return Skip(
                "backend",
                name,
                f"unsupported-by-backend: {profile.backend} ({case.mode}) cannot prove {name} "
                f"for {target.name}: {why}",
            )
        gap = profile.gap(capability, case.mode)
        if gap is not None:
            return Skip(
                "backend",
                name,
                f"unsupported-by-backend: {profile.backend} ({case.mode}) cannot prove "
                f"{name}: {gap.reason}",
            )
    for deviation_id in case.deviations:
        if deviation_id not in target.deviations:
            continue
        driver, reference, fails = deviation_refs.get(deviation_id, ("", deviation_id, None))
        if driver in ("", case.driver):
            return deviation_expect(deviation_id, reference, fails)
    bug = profile.known_bugs.get(case.function)
    if bug is not None:
        return Expect(bug.reference, f"{profile.backend} bug: {bug.reason}", bug.fails)
    return Run()


def deviation_expect(
    deviation_id: str, reference: str, fails: Fails | None, *, intermittent: bool = False
) -> Expect:
    """The expectation a declared deviation sets: one citation for every path that uses it."""
    cite = f"{deviation_id}: {reference}"
    what = "intermittent deviation" if intermittent else "deviation"
    return Expect(cite, f"target declares {what} {deviation_id} ({cite})", fails)
