"""How a declared failure looks: `fails: {code: ..., match: ...}` of a server's known bug or
of a deviation row, parsed once (`conformance.expectations` applies it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drivers.core.errors import Code

ASSERTION = "assertion"  # a check of the case failed; no driver error ended it
CODES = frozenset(c.value for c in Code) | {ASSERTION}


@dataclass(frozen=True)
class Fails:
    """How a declared failure looks: one of `codes`, its message matching `match`."""

    codes: tuple[str, ...]
    match: str = ""

    def __str__(self) -> str:
        codes = " or ".join(self.codes)
        return f"{codes} matching /{self.match}/" if self.match else codes


def parse_fails(data: Any, where: str) -> Fails:
    """`{code: ERR_... | assertion | [...], match: regex}` -> Fails; errors name `where`."""
    if not isinstance(data, Mapping) or "code" not in data:
        raise ValueError(
            f"{where}: needs `fails: {{code: ERR_... or assertion, match: <regex>}}`, the failure "
            "it declares (so that no other failure of the case is absorbed)"
        )
    codes = data["code"] if isinstance(data["code"], list) else [data["code"]]
    unknown = [str(c) for c in codes if c not in CODES]
    if unknown or not codes:
        raise ValueError(
            f"{where}.code: unknown {', '.join(unknown) or '(empty)'}; "
            f"one or more of {', '.join(sorted(CODES))}"
        )
    match = str(data.get("match") or "")
    try:
        re.compile(match)
    except re.error as exc:
        raise ValueError(f"{where}.match: not a regular expression: {exc}") from None
    extra = sorted(set(data) - {"code", "match"})
    if extra:
        raise ValueError(f"{where}: unknown field(s) {', '.join(extra)}; use code and match")
    return Fails(tuple(str(c) for c in codes), match)
