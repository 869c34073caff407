"""Parse Argo YAML or dicts into the model; every failure is one ``BadRequest`` naming fields.

Pydantic's messages are rewritten as ``<field path>: <problem>; <fix>`` (``s3.foo: unknown field;
allowed fields: ...``) because the people reading them are writing workflow YAML, not Python.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from drivers.core.errors import BadRequest
from drivers.core.model.artifact import Artifact, ArtifactLocation
from drivers.core.model.base import RULE_ERROR
from drivers.core.model.repository import ArtifactRepository

M = TypeVar("M", bound=BaseModel)

#: At most this many problems are listed in one message.
MAX_PROBLEMS = 10


def parse_artifact(data: Mapping[str, Any] | str | bytes) -> Artifact:
    """An ``Artifact`` from Argo YAML text or already-loaded data."""
    return _parse(Artifact, data, "artifact")


def parse_location(data: Mapping[str, Any] | str | bytes) -> ArtifactLocation:
    """An ``ArtifactLocation`` (e.g. a template's ``archiveLocation``)."""
    return _parse(ArtifactLocation, data, "archiveLocation")


def parse_repository(data: Mapping[str, Any] | str | bytes) -> ArtifactRepository:
    """An ``ArtifactRepository``, e.g. the YAML value of a repository ConfigMap key."""
    return _parse(ArtifactRepository, data, "artifactRepository")


def _parse(model: type[M], data: Mapping[str, Any] | str | bytes, root: str) -> M:
    if isinstance(data, str | bytes):
        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise BadRequest(f"{root}: invalid YAML{at}: {problem}; fix the YAML syntax") from exc
        except ValueError as exc:  # e.g. an out-of-range YAML timestamp
            raise BadRequest(f"{root}: invalid YAML value: {exc}; fix the value") from exc
    if not isinstance(data, Mapping):
        raise BadRequest(
            f"{root}: expected a mapping of {model.__name__} fields, got {_kind(data)}"
        )
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise BadRequest(describe_validation_error(model, exc, root)) from exc
    except RecursionError as exc:
        raise BadRequest(f"{root}: the document is nested too deeply") from exc


def describe_validation_error(model: type[BaseModel], exc: ValidationError, root: str) -> str:
    """One readable line per problem, ``; ``-joined."""
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        line = _describe(model, error, root)
        if line not in problems:
            problems.append(line)
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        problems = [*problems[:MAX_PROBLEMS], f"... and {more} more"]
    return "; ".join(problems)


def _render_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _describe(model: type[BaseModel], error: Any, root: str) -> str:
    loc = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == RULE_ERROR:
        path = _render_path(loc)
        field = str(ctx.get("field", ""))
        full = ", ".join(f"{path}.{f}" if path else f for f in field.split(", "))
        return f"{full}: {ctx.get('reason', error.get('msg', ''))}"
    value = error.get("input")
    if kind == "invalid_key":
        parent = _render_path(loc[:-1]) or root
        return f"{parent}: field name {value!r} is not a string; field names must be strings"
    path = _render_path(loc) or root
    if kind == "missing":
        return f"{path}: required; add it"
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        listing = ", ".join(allowed) if allowed else "none"
        return f"{path}: unknown field; allowed fields: {listing}"
    if kind == "string_pattern_mismatch":
        return f"{path}: must match {ctx.get('pattern')}; remove other characters"
    if kind == "literal_error":
        return f"{path}: must be one of {ctx.get('expected')}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{path}: expected a mapping of fields, got {_kind(value)}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{path}: {error.get('msg', '')}; got {value!r}"
    return f"{path}: {error.get('msg', 'invalid value')} (got {_kind(value)}); fix the value"


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), type(value).__name__)


def _allowed_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The Argo field names accepted by the model found at ``loc`` below ``model``."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    current = _unwrap(current)
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return []
    return [info.alias or name for name, info in current.model_fields.items()]


def _step(annotation: Any, part: Any) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(part, int):
        args = typing.get_args(annotation)
        return args[0] if typing.get_origin(annotation) is list and args else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip ``X | None`` (and ``Optional``) down to ``X``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation
