"""The driver under test: a target string turned into driver factories and declarations.

    reference                       the kit's reference drivers
    plugin:SOCKET, plugin-exec:COMMAND, argo-go
                                    an Argo artifact plugin (`conformance.plugin_targets`)
    python:package.module:factory   `factory(artifact, secrets, context)` returns an object with
                                    the seven driver methods, and optionally `capabilities` and
                                    `close()`. The factory may carry `kinds` (the location types
                                    it serves; default: the keys of a capability mapping, else
                                    inferred by `conformance.preflight`), `capabilities` (names,
                                    or a mapping location type -> names) and `deviations` (ids
                                    from drivers/core/deviations.yaml it implements the Argo
                                    way). A factory that declares no capabilities is assumed to
                                    support Argo's own set for each location type (spec 1.3).

Whatever a third-party driver raises that is not an `ArtifactError` counts as INTERNAL: the
guard below turns it into one, so the case fails with a clear message.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.capabilities import Capability, argo_capabilities, parse_capabilities
from drivers.core.context import DriverContext
from drivers.core.deviations import deviations as registry
from drivers.core.errors import ArtifactError, Internal
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource

DRIVER_METHODS = (
    "load",
    "open_stream",
    "save",
    "save_stream",
    "delete",
    "list_objects",
    "is_directory",
)


class TargetError(ValueError):
    """A target string or factory that cannot be used; the message says what to write."""


class UncaughtDriverError(Internal):
    """ERR_INTERNAL for what a driver raised that is not an ArtifactError, or for a factory
    that raised: the driver's own bug, which no declared failure absorbs
    (`conformance.expectations`)."""


@dataclass
class Target:
    name: str
    factory: Callable[[Artifact, SecretSource, DriverContext], Any]
    declared: Mapping[str, frozenset[Capability]] | frozenset[Capability] | None = None
    deviations: frozenset[str] = field(default_factory=frozenset)
    #: The location kinds the target says it serves (`factory.kinds`, or the keys of its
    #: capability mapping); None: not declared, so the preflight infers them.
    kinds: tuple[str, ...] | None = None
    #: Where the declarations came from, when not from the factory itself (plugin targets).
    declared_by: str = ""
    #: Capabilities the kit cannot prove for this target, with why (`decision.TargetView`).
    unprovable: Mapping[str, str] = field(default_factory=dict)
    #: Run the differential lane: each scenario also through the reference, outcomes compared
    #: (`conformance.differential`; `factory.differential = True`).
    differential: bool = False

    def capabilities(self, driver: str) -> frozenset[Capability]:
        if self.declared is None:
            return argo_capabilities(driver)
        if isinstance(self.declared, frozenset):
            return self.declared
        return self.declared.get(driver, frozenset())

    def new_driver(
        self, artifact: Artifact, secrets: SecretSource, context: DriverContext
    ) -> GuardedDriver:
        try:
            driver = self.factory(artifact, secrets, context)
        except ArtifactError:
            raise
        except Exception as exc:
            raise UncaughtDriverError(
                f"{self.name}: the driver factory raised {_describe(exc)}"
            ) from exc
        problem = driver_problem(driver)
        if problem:
            raise UncaughtDriverError(f"{self.name}: {problem}")
        return GuardedDriver(driver, self.name)


def driver_problem(driver: Any) -> str:
    """What makes the factory's answer unusable as a driver ("" when nothing)."""
    if driver is None:
        return "the driver factory returned None (return the driver object)"
    missing = [m for m in DRIVER_METHODS if not callable(getattr(driver, m, None))]
    if missing:
        return (
            f"the driver ({type(driver).__name__}) has no method(s) {', '.join(missing)} "
            "(see docs/driver-guide.md for the seven methods)"
        )
    return ""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class GuardedDriver:
    """Forwards the seven methods; any exception that is not an ArtifactError becomes INTERNAL."""

    def __init__(self, inner: Any, target: str):
        self.inner = inner
        self.target = target

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in DRIVER_METHODS:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attr(*args, **kwargs)
            except ArtifactError:
                raise
            except Exception as exc:
                raise UncaughtDriverError(
                    f"{self.target}: {name} raised {_describe(exc)} (not an ArtifactError)"
                ) from exc

        return call

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()


def _reference() -> Target:
    from drivers import new_driver
    from drivers.factory import FACTORY_ORDER

    declared = {}
    for location_type, spec in FACTORY_ORDER.items():
        if spec:
            module, cls = spec.split(":")
            try:
                driver_class = getattr(importlib.import_module(module), cls)
            except (ImportError, AttributeError):
                continue  # a driver not written yet declares nothing
            declared[location_type] = frozenset(driver_class.capabilities)
    from drivers.controller import resolution

    declared["resolution"] = frozenset(resolution.capabilities)
    deviation_ids: frozenset[str] = frozenset()  # the reference implements the intended contract
    return Target("reference", new_driver, declared, deviation_ids)


def _import_hint(module_name: str) -> str:
    """How to make a driver outside the kit importable: the usual cause of this error."""
    top = module_name.split(".")[0]
    return (
        f"The kit's Python must find the package {top!r}: run from the directory that holds "
        f"{top}/, set PYTHONPATH=<that directory>, or install it once with "
        "`.venv/bin/pip install -e <its project directory>` (see docs/driver-guide.md)"
    )


def _declared(value: Any, where: str) -> Mapping[str, frozenset[Capability]] | frozenset | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {str(k): parse_capabilities(v, where=f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, str):
        return parse_capabilities(value, where=where)
    raise TargetError(f"{where}: expected capability names or a mapping of type -> names")


def _kinds(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TargetError(f'{where}: expected a list of location kinds, e.g. ["s3"]')
    names = tuple(str(k) for k in value)
    if not names:
        raise TargetError(f'{where}: is empty; name the location kinds served, e.g. ["s3"]')
    return names


def parse_target(text: str) -> Target:
    if text == "reference":
        return _reference()
    if text.startswith("python:"):
        spec = text.removeprefix("python:")
        module_name, sep, attr = spec.partition(":")
        if not sep or not module_name or not attr:
            raise TargetError(f"target {text!r}: write python:package.module:callable")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise TargetError(
                f"target {text!r}: cannot import {module_name}: {exc}. {_import_hint(module_name)}"
            ) from None
        factory = getattr(module, attr, None)
        if not callable(factory):
            raise TargetError(f"target {text!r}: {module_name} has no callable {attr!r}")
        declared = _declared(getattr(factory, "capabilities", None), f"{spec}.capabilities")
        kinds = _kinds(getattr(factory, "kinds", None), f"{spec}.kinds")
        if kinds is None and isinstance(declared, Mapping):
            kinds = tuple(declared)
        deviation_ids = frozenset(getattr(factory, "deviations", ()) or ())
        unknown = sorted(deviation_ids - {d.id for d in registry()})
        if unknown:
            raise TargetError(
                f"target {text!r}: unknown deviation id(s) {unknown}; "
                "see drivers/core/deviations.yaml"
            )
        differential = bool(getattr(factory, "differential", False))
        return Target(text, factory, declared, deviation_ids, kinds, differential=differential)
    if text.startswith(("plugin:", "plugin-exec:")) or text == "argo-go":
        from conformance.plugin_targets import parse_plugin_target

        return parse_plugin_target(text)
    raise TargetError(
        f"target {text!r}: expected `reference`, `python:package.module:callable`, "
        "`plugin:SOCKET`, `plugin-exec:COMMAND` or `argo-go`"
    )
