"""What a suite case declares, as markers:

    @verifies("open_stream")              the one capability this case checks (its matrix cell)
    @requires("save")                     prerequisites: the case cannot run without them
    @deviation("s3-directory-...")        the case checks a contract where Argo deliberately
                                          differs; a target that declares this deviation gets a
                                          strict xfail citing Argo's reference

A missing driver or backend capability makes the case SKIP with who lacks what.
"""

from __future__ import annotations

import inspect
import re

import pytest

from conformance.capabilities import parse_capability

VERIFIES = "artconf_verifies"
REQUIRES = "artconf_requires"
DEVIATION = "artconf_deviation"

MARKERS = (
    f"{VERIFIES}(capability): the one capability an artconf case verifies",
    f"{REQUIRES}(*capabilities): capabilities an artconf case needs to run",
    f"{DEVIATION}(id): the deviation (drivers/core/deviations.yaml) an artconf case checks",
)


def verifies(capability: str) -> pytest.MarkDecorator:
    parse_capability(capability, where="@verifies")
    return getattr(pytest.mark, VERIFIES)(capability)


def requires(*capabilities: str) -> pytest.MarkDecorator:
    for capability in capabilities:
        parse_capability(capability, where="@requires")
    return getattr(pytest.mark, REQUIRES)(*capabilities)


def deviation(deviation_id: str) -> pytest.MarkDecorator:
    return getattr(pytest.mark, DEVIATION)(deviation_id)


_CITATION = re.compile(r"\(([^()]*)\)\s*\.?\s*$")
_SECTION = re.compile(r"(?<![\w.])\d+(?:\.\d+)*(?![\w.])")


def contract_of(function: object) -> tuple[str, str]:
    """A case's contract (its docstring's first paragraph, on one line) and the spec sections
    the contract cites in its closing parenthesis: ("... (spec 1.3, 7.3).", "1.3, 7.3")."""
    doc = inspect.getdoc(function) or ""
    contract = " ".join(doc.split("\n\n", 1)[0].split())
    match = _CITATION.search(contract)
    cited = re.sub(r"\bitem \d+", "", match.group(1)) if match else ""
    return contract, ", ".join(_SECTION.findall(cited))
