"""Shared pieces of the typed Argo model: the base class, secret selectors, path joining."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

#: The ``ValidationError`` type our cross-field rules raise; ``drivers.model.parsing`` turns it
#: into ``<path>.<field>: <reason>``.
RULE_ERROR = "argo_rule"


def rule_error(field: str, reason: str) -> PydanticCustomError:
    """A cross-field validation failure for ``field`` (relative to the model raising it)."""
    return PydanticCustomError(RULE_ERROR, "{field}: {reason}", {"field": field, "reason": reason})


class ArgoModel(BaseModel):
    """Base of every model: Argo's camelCase names, strict types, unknown fields rejected.

    Strict typing mirrors the Kubernetes API server, which rejects ``"true"`` for a boolean or
    ``"5"`` for an integer. ``null`` values are dropped first, as the API server prunes them for
    non-nullable fields, so ``region:`` with no value means "unset".
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        strict=True,
        serialize_by_alias=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data

    def to_dict(self) -> dict[str, Any]:
        """Argo-shaped plain data (camelCase, defaults and nulls omitted), as Go's omitempty."""
        return self.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True, mode="json")


class SecretKeySelector(ArgoModel):
    """A key of a Kubernetes Secret (``corev1.SecretKeySelector``)."""

    name: str = ""
    key: str
    optional: bool | None = None


class ConfigMapKeySelector(ArgoModel):
    """A key of a Kubernetes ConfigMap (``corev1.ConfigMapKeySelector``)."""

    name: str = ""
    key: str
    optional: bool | None = None


def go_path_clean(path: str) -> str:
    """Go's ``path.Clean``: collapse slashes, resolve ``.`` and ``..`` lexically; "" is ".".

    Unlike ``posixpath.normpath`` it turns a leading ``//`` into ``/``.
    """
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def go_path_join(*elements: str) -> str:
    """Go's ``path.Join``: join the non-empty elements with ``/`` and clean; all empty is ""."""
    non_empty = [e for e in elements if e]
    if not non_empty:
        return ""
    return go_path_clean("/".join(non_empty))
