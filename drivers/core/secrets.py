"""Secret values that cannot leak by accident, and where drivers read them from.

A driver gets a :class:`SecretSource` (spec 1.2: a workflow pod reads
``/argo/secret/<secret>/<key>`` files; tests use memory) and asks it for the selectors of its
location (``accessKeySecret`` ...). What comes back is a :class:`SecretValue`, which prints,
formats, logs, pickles and serialises as ``<redacted>``; only :meth:`SecretValue.reveal` gives the
value, so every place that really uses a credential is easy to find.
"""

from __future__ import annotations

import base64
import functools
import re
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from drivers.core.errors import BadRequest

REDACTED = "<redacted>"

#: ``model.model_dump(context={REVEAL_SECRETS: True})`` serialises secret values in clear; only
#: for data that is parsed again (Argo YAML round trips), never for data that is shown.
REVEAL_SECRETS = "reveal_secrets"

# Kubernetes Secret names are DNS subdomains and keys are [-._a-zA-Z0-9]+; checking them keeps a
# selector from reading outside the secrets root ("../../etc/passwd").
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


class SecretValue:
    """A credential. Compares and hashes by value; shows itself only as ``<redacted>``."""

    __slots__ = ("_raw",)

    def __init__(self, value: str | bytes | SecretValue) -> None:
        if isinstance(value, SecretValue):
            raw = value._raw
        elif isinstance(value, bytes):
            raw = value
        elif isinstance(value, str):
            raw = value.encode("utf-8", "surrogateescape")
        else:
            raise TypeError(f"a secret value must be str or bytes, not {type(value).__name__}")
        object.__setattr__(self, "_raw", raw)

    def reveal(self) -> str:
        """The value as text (undecodable bytes survive as surrogates, so nothing is lost)."""
        return self._raw.decode("utf-8", "surrogateescape")

    def reveal_bytes(self) -> bytes:
        """The value exactly as stored (e.g. a PEM bundle or a service-account JSON)."""
        return self._raw

    def strip(self) -> SecretValue:
        """A copy without surrounding whitespace (see deviation ``s3-untrimmed-credentials``)."""
        return SecretValue(self._raw.strip())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("SecretValue is immutable")

    def __repr__(self) -> str:
        return f"SecretValue({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return format(REDACTED, spec)

    def __len__(self) -> int:
        return len(self._raw)

    def __bool__(self) -> bool:
        return bool(self._raw)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SecretValue):
            return self._raw == other._raw
        if isinstance(other, str):
            return self.reveal() == other
        if isinstance(other, bytes):
            return self._raw == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._raw)

    def __reduce__(self) -> Any:
        raise TypeError("a SecretValue cannot be pickled; pass the SecretSource instead")

    def __copy__(self) -> SecretValue:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SecretValue:
        return self

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Accept str/bytes/SecretValue; serialise as ``<redacted>`` (python and JSON) unless the
        dump's context asks for :data:`REVEAL_SECRETS`."""
        return core_schema.no_info_plain_validator_function(
            _validate_secret,
            serialization=core_schema.plain_serializer_function_ser_schema(
                dump_secret, info_arg=True, when_used="always"
            ),
        )


def _validate_secret(value: Any) -> SecretValue:
    if isinstance(value, SecretValue | str | bytes):
        return SecretValue(value)
    raise ValueError("expected a string secret value")


def dump_secret(value: SecretValue, info: core_schema.SerializationInfo) -> str:
    """A pydantic serializer: ``<redacted>``, or the value if the context reveals secrets."""
    context = info.context
    if isinstance(context, Mapping) and context.get(REVEAL_SECRETS) is True:
        return value.reveal()
    return REDACTED


# What the sources of this process handed out, newest last, so a test harness can redact them
# from its reports (conformance.redaction). Bounded: a long run hands out many throwaway keys.
_HANDED_OUT_LIMIT = 64
_handed_out: dict[bytes, None] = {}
_handed_out_lock = threading.Lock()


def _hand_out(value: SecretValue) -> SecretValue:
    raw = value.reveal_bytes()
    with _handed_out_lock:
        _handed_out.pop(raw, None)
        _handed_out[raw] = None
        while len(_handed_out) > _HANDED_OUT_LIMIT:
            del _handed_out[next(iter(_handed_out))]
    return value


def handed_out() -> list[SecretValue]:
    """The values the secret sources of this process returned (the latest 64 distinct ones)."""
    with _handed_out_lock:
        return [SecretValue(raw) for raw in _handed_out]


@runtime_checkable
class SecretSource(Protocol):
    """Where a driver reads ``SecretKeySelector`` values (``resource.Interface.GetSecret``)."""

    def get(self, name: str, key: str) -> SecretValue:
        """The value of ``key`` in secret ``name``; :class:`BadRequest` naming both if absent."""
        ...


def _check_selector(name: str, key: str) -> None:
    if not _SECRET_NAME.match(name or ""):
        raise BadRequest(
            f"secret name {name!r} is not a valid Kubernetes secret name: "
            "use lower-case letters, digits, '-' and '.'"
        )
    if not _SECRET_KEY.match(key or "") or key in (".", ".."):
        raise BadRequest(
            f"secret key {key!r} of secret {name!r} is not a valid key: "
            "use letters, digits, '-', '_' and '.'"
        )


class DirectorySecretSource:
    """Secrets mounted as files, ``ROOT/<secret name>/<key>``, as in a workflow pod.

    Values are returned verbatim, trailing newline included: Argo reads the file as is, and
    whether to trim is each driver's decision (deviation ``s3-untrimmed-credentials``).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def get(self, name: str, key: str) -> SecretValue:
        _check_selector(name, key)
        secret_dir = self.root / name
        path = secret_dir / key
        if not secret_dir.is_dir():
            raise BadRequest(
                f"secret {name!r} not found, so its key {key!r} cannot be read "
                f"(looked in {secret_dir}): create the secret or fix the selector's name"
            )
        try:
            return _hand_out(SecretValue(path.read_bytes()))
        except FileNotFoundError:
            raise BadRequest(
                f"secret {name!r} has no key {key!r} (looked in {path}): "
                "add the key to the secret or fix the selector's key"
            ) from None
        except OSError as exc:
            raise BadRequest(
                f"secret {name!r} key {key!r} cannot be read from {path}: {exc.strerror}"
            ) from exc

    def __repr__(self) -> str:
        return f"DirectorySecretSource({str(self.root)!r})"


class MemorySecretSource:
    """Secrets held in memory: ``{secret name: {key: value}}``; for tests and the plugin server."""

    def __init__(self, mapping: Mapping[str, Mapping[str, str | bytes]]) -> None:
        self._secrets = {
            name: {key: SecretValue(value) for key, value in keys.items()}
            for name, keys in mapping.items()
        }

    def get(self, name: str, key: str) -> SecretValue:
        keys = self._secrets.get(name)
        if keys is None:
            raise BadRequest(
                f"secret {name!r} not found, so its key {key!r} cannot be read "
                "(looked in memory): add the secret or fix the selector's name"
            )
        if key not in keys:
            raise BadRequest(
                f"secret {name!r} has no key {key!r} (looked in memory; it has "
                f"{', '.join(sorted(keys)) or 'no keys'}): fix the selector's key"
            )
        return _hand_out(keys[key])

    def values(self) -> list[SecretValue]:
        """Every value held, for :func:`redact`."""
        return [value for keys in self._secrets.values() for value in keys.values()]

    def __repr__(self) -> str:
        return f"MemorySecretSource(<{len(self._secrets)} secrets>)"


class _Selector(Protocol):
    name: str
    key: str
    optional: bool | None


def read_selector(
    source: SecretSource, selector: _Selector | None, *, field: str
) -> SecretValue | None:
    """Read ``selector`` (a ``SecretKeySelector``) from ``source``.

    ``None`` when the selector is unset or has an empty name (Argo reads only named selectors),
    or when it is ``optional: true`` and the secret or key is missing (deviation
    ``gcs-service-account-optional``). ``field`` (e.g. ``s3.accessKeySecret``) prefixes errors.
    """
    if selector is None or not selector.name:
        return None
    try:
        return source.get(selector.name, selector.key)
    except BadRequest as exc:
        if selector.optional:
            return None
        raise BadRequest(f"{field}: {exc.message}", cause=exc) from exc


@functools.lru_cache(maxsize=1024)  # redact() runs often with the same few secrets
def spellings(value: str) -> frozenset[str]:
    """The spellings under which a secret may appear in text: raw, base64 and URL-encoded."""
    raw = value.encode("utf-8", "surrogateescape")
    forms = {value, value.strip()}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.update({text, text.rstrip("=")})
    forms.add(urllib.parse.quote(value, safe=""))
    forms.add(urllib.parse.quote_plus(value, safe=""))
    return frozenset(form for form in forms if form)


def redact(text: str, secrets: Iterable[SecretValue | str]) -> str:
    """Replace every known secret value in ``text`` with ``<redacted>``.

    Longer spellings are replaced first, so a value that contains another is not half-shown.
    Secrets that are empty or whitespace only are skipped (they would match everywhere).
    """
    forms: set[str] = set()
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, SecretValue) else secret
        if value.strip():
            forms |= spellings(value)
    # Only spellings that occur can match: most texts hold none, and then nothing is compiled.
    forms = {form for form in forms if form in text}
    if not forms:
        return text
    # One pass over an alternation, longest first: replacements are never matched again.
    pattern = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.sub(pattern, REDACTED, text)
