"""The registry of deliberate differences from Argo (``deviations.yaml``), loaded and checked.

The reference drivers implement the intended contract; each place where that differs from what
Argo does is one row here, cited by id from code, records and the report.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from drivers.core.errors import BadRequest

DEFAULT_PATH = Path(__file__).with_name("deviations.yaml")

_NON_EMPTY = Field(min_length=1)


class Deviation(BaseModel):
    """One difference: where the spec describes it, Argo's reference, what Argo does, ours."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    #: The location type whose driver differs ("" when the core differs, for every driver).
    driver: str = Field("", pattern=r"^[a-z0-9]*$")
    section: str = Field(pattern=r"^\d+(\.\d+)*(, \d+(\.\d+)*)*$")
    argo_reference: str = _NON_EMPTY
    argo_behaviour: str = _NON_EMPTY
    ours: str = _NON_EMPTY
    #: How the conformance case fails for a driver that behaves the Argo way: {code, match}
    #: (conformance.declared); absent: a check of the case fails (`assertion`).
    fails: dict[str, str | list[str]] | None = None
    #: Argo's way shows only now and then (a race in Argo's client): the row then covers every
    #: case of its driver, absorbs only its `fails` (required), and a case that passes is a pass.
    intermittent: bool = False

    @model_validator(mode="after")
    def _intermittent_declares_its_failure(self) -> Deviation:
        if self.intermittent and not self.fails:
            raise ValueError("an intermittent row must say how it fails (`fails`)")
        return self

    @property
    def issues(self) -> list[int]:
        """The Argo issue / PR numbers cited in ``argo_reference``."""
        return [int(n) for n in re.findall(r"#(\d+)", self.argo_reference)]


def parse_deviations(data: Any, source: str = "deviations.yaml") -> tuple[Deviation, ...]:
    """Validate loaded YAML: a list of rows with unique ids. Errors name the row and field."""
    if not isinstance(data, list):
        raise BadRequest(f"{source}: expected a list of deviations, got {type(data).__name__}")
    rows: list[Deviation] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        label = item.get("id", f"#{index}") if isinstance(item, dict) else f"#{index}"
        try:
            row = Deviation.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'row'}: {err['msg']}"
                for err in exc.errors(include_url=False)
            )
            raise BadRequest(f"{source}: deviation {label}: {problems}") from exc
        if row.id in seen:
            raise BadRequest(f"{source}: deviation id {row.id!r} is used twice; ids are unique")
        seen.add(row.id)
        rows.append(row)
    return tuple(rows)


def load_deviations(path: str | Path = DEFAULT_PATH) -> tuple[Deviation, ...]:
    """Read and validate a deviations file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BadRequest(f"{path}: invalid YAML: {exc}") from exc
    return parse_deviations(data, str(path))


@functools.cache
def deviations() -> tuple[Deviation, ...]:
    """The kit's own registry, loaded once."""
    return load_deviations()


def get_deviation(deviation_id: str) -> Deviation:
    """The row with ``deviation_id``; ``KeyError`` names the known ids if absent."""
    for row in deviations():
        if row.id == deviation_id:
            return row
    known = ", ".join(row.id for row in deviations())
    raise KeyError(f"unknown deviation {deviation_id!r}; known: {known}")
