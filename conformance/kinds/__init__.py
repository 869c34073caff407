"""The registry of location kinds: one adapter module per kind, found in one place.

    from conformance import kinds
    kinds.get("s3").location(endpoint, "bucket", "key")

The kit's own kinds are the modules of this package (all but `base`); `ARTCONF_KIND_MODULES`
(comma-separated module names) adds more, so a new kind can be tried without editing the kit.
Each module defines `KIND`, an instance of `conformance.kinds.base.Kind`. Which kind a server
serves is its profile's `driver:` field (`emulators/profiles/`), and nothing else.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil

from conformance.kinds.base import (
    Admin,
    Kind,
    Location,
    NotSupportedByKind,
    ObjectStore,
    Unrepresentable,
)

__all__ = [
    "Admin",
    "Kind",
    "KindError",
    "Location",
    "NotSupportedByKind",
    "ObjectStore",
    "Unrepresentable",
    "get",
]

BUILTIN = tuple(f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__) if m.name != "base")
EXTRA_MODULES = "ARTCONF_KIND_MODULES"


class KindError(ValueError):
    """An unknown kind, or a kind module that does not define one; the message says which."""


@functools.cache
def _load(extra: str) -> dict[str, Kind]:
    found: dict[str, Kind] = {}
    names = [*BUILTIN, *(m.strip() for m in extra.split(",") if m.strip())]
    for name in names:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise KindError(f"{EXTRA_MODULES}: cannot import kind module {name}: {exc}") from None
        kind = getattr(module, "KIND", None)
        if not isinstance(kind, Kind) or not kind.name:
            raise KindError(f"kind module {name} must define KIND, a named kinds.base.Kind")
        if kind.name in found:
            raise KindError(f"kind {kind.name!r} is defined twice (second time in {name})")
        found[kind.name] = kind
    return found


def all_kinds() -> dict[str, Kind]:
    """Every registered kind by name, in registration order."""
    return _load(os.environ.get(EXTRA_MODULES, ""))


def get(name: str) -> Kind:
    kinds = all_kinds()
    if name not in kinds:
        raise KindError(
            f"no adapter for location kind {name!r}; known kinds: {', '.join(kinds)} "
            "(a new kind needs a module in conformance/kinds/, see CONTRIBUTING.md)"
        )
    return kinds[name]
