"""What a suite case declares, as markers:

    @verifies("open_stream")              the one capability this case checks (its matrix cell)
    @requires("save")                     prerequisites: the case cannot run without them
    @deviation("raw-prefix-siblings")     the case checks a contract where Argo deliberately
                                          differs; a target that declares this deviation gets a
                                          strict xfail citing Argo's reference

A missing driver or backend capability makes the case SKIP with who lacks what.

Both are checked when the suite module is imported, so a mistake is a collection error naming
the case: `@verifies` requires the case's contract (`check_contract`), `@deviation` an id of
the registry (drivers/core/deviations.yaml).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from conformance.capabilities import parse_capability
from drivers.core.deviations import deviations

VERIFIES = "artconf_verifies"
REQUIRES = "artconf_requires"
DEVIATION = "artconf_deviation"
DIFFERENTIAL = "artconf_differential"

MARKERS = (
    f"{VERIFIES}(capability): the one capability an artconf case verifies",
    f"{REQUIRES}(*capabilities): capabilities an artconf case needs to run",
    f"{DEVIATION}(id): the deviation (drivers/core/deviations.yaml) an artconf case checks",
    f"{DIFFERENTIAL}: a case comparing the target with the reference (conformance.differential)",
)

#: A case of the differential lane: collected only for a target that asks for it.
differential = getattr(pytest.mark, DIFFERENTIAL)

F = TypeVar("F", bound=Callable[..., Any])


class CaseError(ValueError):
    """A case that does not declare itself as the conventions require; the message names it."""


def verifies(capability: str) -> Callable[[F], F]:
    """Mark the one capability a case verifies; the case must state its contract."""
    parse_capability(capability, where="@verifies")
    mark = getattr(pytest.mark, VERIFIES)(capability)

    def decorate(function: F) -> F:
        check_contract(function, _case_name(function))
        return mark(function)

    return decorate


def requires(*capabilities: str) -> pytest.MarkDecorator:
    for capability in capabilities:
        parse_capability(capability, where="@requires")
    return getattr(pytest.mark, REQUIRES)(*capabilities)


class Marks(tuple):
    """Several marks that act as one: a decorator, or `marks=` of a `pytest.param`."""

    def __call__(self, function: F) -> F:
        for mark in self:
            function = mark(function)
        return function


def deviation(name: str) -> Marks:
    """The deviation(s) a case checks, by registry id.

    A driver's deviation may be named without its driver prefix: `raw-prefix-siblings` stands
    for every driver's row `<driver>-raw-prefix-siblings`, so a case states the contract it
    checks and the registry says which drivers differ from Argo there.
    """
    rows = [d for d in deviations() if d.id == name] or [
        d for d in deviations() if d.driver and d.id == f"{d.driver}-{name}"
    ]
    if not rows:
        known = ", ".join(sorted(d.id for d in deviations()))
        raise CaseError(
            f"@deviation({name!r}): no such deviation in drivers/core/deviations.yaml "
            f"(also tried <driver>-{name}); known: {known}"
        )
    return Marks(getattr(pytest.mark, DEVIATION)(row.id) for row in rows)


# --- contracts ---------------------------------------------------------------------------------

_CITATION = re.compile(r"\(([^()]*)\)\s*\.?\s*$")
# A section number: "1.3", "11"; never part of a word or an issue number (#14387).
_SECTION = re.compile(r"(?<![\w.#])\d+(?:\.\d+)*(?![\w.])")
_EXAMPLE = '"""save uploads a file to exactly the artifact\'s key (spec 1.1, 1.3)."""'


def contract_of(function: object) -> tuple[str, str]:
    """A case's contract (its docstring's first paragraph, on one line) and the spec sections
    the contract cites in its closing parenthesis: ("... (spec 1.3, 7.3).", "1.3, 7.3")."""
    doc = inspect.getdoc(function) or ""
    contract = " ".join(doc.split("\n\n", 1)[0].split())
    match = _CITATION.search(contract)
    cited = re.sub(r"\bitem \d+", "", match.group(1)) if match else ""
    return contract, ", ".join(_SECTION.findall(cited))


def check_contract(function: object, case: str) -> tuple[str, str]:
    """`contract_of(function)`, or a `CaseError` naming `case` when there is no contract: a
    docstring whose first paragraph ends with a parenthesis citing at least one spec section."""
    contract, spec = contract_of(function)
    if not contract:
        raise CaseError(f"{case}: no docstring; a case states its contract first, e.g. {_EXAMPLE}")
    if not spec:
        raise CaseError(
            f"{case}: the contract {contract!r} must end with a parenthesis citing the spec "
            f"section(s) it checks, e.g. {_EXAMPLE}"
        )
    return contract, spec


def _case_name(function: object) -> str:
    module = getattr(function, "__module__", "?")
    return f"{module.replace('.', '/')}.py::{getattr(function, '__qualname__', function)}"
