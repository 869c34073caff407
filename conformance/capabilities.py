"""Capabilities as the matrix sees them: the vocabulary, plus Argo's own set per location kind.

The vocabulary itself lives in `drivers.core.capabilities` (drivers declare it without the
test harness). A target that declares nothing is held to Argo's own set for each kind (spec
1.3 and 2), which each kind's adapter states (`conformance.kinds`).
"""

from __future__ import annotations

from drivers.core.capabilities import (
    Capability,
    UnknownCapability,
    parse_capabilities,
    parse_capability,
)

__all__ = [
    "Capability",
    "UnknownCapability",
    "argo_capabilities",
    "parse_capabilities",
    "parse_capability",
]


def argo_capabilities(driver: str) -> frozenset[Capability]:
    """What Argo's own driver for `driver` supports (empty for what is not a known kind)."""
    from conformance import kinds

    known = kinds.all_kinds()
    return known[driver].argo_capabilities if driver in known else frozenset()
