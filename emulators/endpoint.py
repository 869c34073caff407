"""The record of one running server, as handed to tests, workers and `emulators up --json`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REDACTED = "<redacted>"

# Credential fields whose values are secrets (the rest are identifiers and may be shown).
SECRET_FIELDS = frozenset(
    {
        "secret_key",
        "account_key",
        "connection_string",
        "user_secret_key",
        "password",
        "reader_password",
        "client_secret",
        "client_key",
        "ssh_private_key",
        "wrong_ssh_private_key",
    }
)


@dataclass
class Endpoint:
    """How to reach one server. `name` is the server key, e.g. `minio` or `minio-tls`."""

    name: str
    server: str
    url: str
    host: str
    port: int
    tls: bool
    ca_bundle: str | None = None
    credentials: dict[str, str] = field(default_factory=dict)
    version: str = ""
    log: str = ""
    profile: str = ""
    pid: int | None = None
    launcher: str = "native"  # or "containers"

    def to_dict(self, *, redact: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if redact:
            data["credentials"] = {
                k: (REDACTED if k in SECRET_FIELDS else v) for k, v in self.credentials.items()
            }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Endpoint:
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown endpoint field(s) {unknown}; expected some of {sorted(known)}"
            )
        return cls(**data)


def load_endpoints(path: Path) -> dict[str, Endpoint]:
    """Read an `emulators up --json` file: one object keyed by server name."""
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"endpoints file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"endpoints file {path} is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"endpoints file {path}: expected an object keyed by server name")
    endpoints = {}
    for name, value in raw.items():
        try:
            endpoints[name] = Endpoint.from_dict({"name": name, **value})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"endpoints file {path}, server {name!r}: {exc}") from None
    return endpoints
