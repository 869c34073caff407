"""Shared pieces of the typed Argo model: the base class, secret selectors and values, paths."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError, core_schema

from drivers.core.secrets import REVEAL_SECRETS, SecretValue, dump_secret

#: The ``ValidationError`` type our cross-field rules raise; ``drivers.core.model.parsing`` turns it
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
        # A ValidationError's text (shown as a BadRequest's cause) must not quote a credential.
        hide_input_in_errors=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data

    def to_dict(self) -> dict[str, Any]:
        """Argo-shaped plain data (camelCase, defaults and nulls omitted), as Go's omitempty.

        Secret values are in clear, so the data parses back to the same model: redact it before
        showing it (``model_dump`` and ``repr`` show ``<redacted>``).
        """
        return self.model_dump(
            by_alias=True,
            exclude_none=True,
            exclude_defaults=True,
            mode="json",
            context={REVEAL_SECRETS: True},
        )


# --- credentials written in the YAML itself (not SecretKeySelector references) ---------------

# Header and parameter names whose value is a credential (``Authorization: Bearer ...``).
_SECRET_NAME = re.compile(
    r"auth|cookie|token|secret|passw|api[-_]?key|(^|[-_])key$|credential|signature|session",
    re.IGNORECASE,
)


def names_a_secret(name: str) -> bool:
    """Whether a header or parameter called ``name`` carries a credential."""
    return bool(_SECRET_NAME.search(name))


def _not_a_string() -> PydanticCustomError:
    return PydanticCustomError("string_type", "Input should be a valid string")


def _secret_text(value: Any) -> SecretValue:
    if isinstance(value, SecretValue):
        return value
    if isinstance(value, str):
        return SecretValue(value)
    raise _not_a_string()


def _text_or_secret(value: Any) -> str | SecretValue:
    if isinstance(value, str | SecretValue):
        return value
    raise _not_a_string()


def _dump_text(value: str | SecretValue, info: core_schema.SerializationInfo) -> str:
    return dump_secret(value, info) if isinstance(value, SecretValue) else value


#: A credential (OSS ``securityToken``): a :class:`SecretValue`, ``<redacted>`` when shown.
SecretText = Annotated[
    SecretValue,
    PlainValidator(_secret_text),
    PlainSerializer(_dump_text, return_type=str, when_used="always"),
]

#: Text that is a credential only under some names (a header's value, see ``names_a_secret``):
#: a plain ``str`` or a :class:`SecretValue`.
TextOrSecret = Annotated[
    str | SecretValue,
    PlainValidator(_text_or_secret),
    PlainSerializer(_dump_text, return_type=str, when_used="always"),
]


def secret_if_named(name: str, value: str | SecretValue) -> str | SecretValue:
    """``value`` as a :class:`SecretValue` if ``name`` says it is a credential."""
    if isinstance(value, str) and value and names_a_secret(name):
        return SecretValue(value)
    return value


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
