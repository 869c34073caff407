"""The Raw kind (Argo's `raw` location): the artifact's bytes are its own `data` field.

Raw has no server. Its "container" is a table in this process: a case lays out objects with
the admin, and a key placed in a location becomes that object's text as `data`, which is how a
Workflow author would write it. Text only: Argo's `data` is a string of a Kubernetes object,
so it is UTF-8 (an object that is not, or a key never laid out, is Unrepresentable). The
column runs beside a server only because every column does; nothing is sent to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.kinds.base import Admin, Kind, Location, Unrepresentable, capabilities
from emulators.endpoint import Endpoint

#: container -> key -> bytes, for the cases of this process.
_TABLES: dict[str, dict[str, bytes]] = {}


@dataclass(frozen=True)
class DataKeys:
    """Places a key as the `data` of the object the admin put there (empty when none)."""

    container: str

    def __call__(self, key: str) -> dict[str, Any]:
        table = _TABLES.get(self.container, {})
        if key and key not in table:
            raise Unrepresentable(
                "a Raw artifact always holds its data: no key can be missing or a directory"
            )
        return {"data": table.get(key, b"").decode()}


class RawAdmin(Admin):
    def create_container(self, name: str) -> None:
        _TABLES.setdefault(name, {})

    def delete_container(self, name: str) -> None:
        _TABLES.pop(name, None)

    def container_exists(self, name: str) -> bool:
        return name in _TABLES

    def put(self, container: str, key: str, data: bytes = b"") -> None:
        try:
            data.decode()
        except UnicodeDecodeError:
            raise Unrepresentable("Raw's `data` is text, and these bytes are not UTF-8") from None
        _TABLES.setdefault(container, {})[key] = bytes(data)

    def get(self, container: str, key: str) -> bytes | None:
        return _TABLES.get(container, {}).get(key)

    def keys(self, container: str, prefix: str = "") -> list[str]:
        return sorted(k for k in _TABLES.get(container, {}) if k.startswith(prefix))

    def delete(self, container: str, key: str) -> None:
        _TABLES.get(container, {}).pop(key, None)


class Raw(Kind):
    name = "raw"
    credential_keys = ()
    sdk_packages = ()
    # Load writes `data`; streaming loads it to a temp file first; nothing else (spec 1.3).
    argo_capabilities = capabilities("load open_stream refuses_unsupported", where="kinds.raw")

    @property
    def key_field(self) -> str:
        return "data"

    def location(self, endpoint: Endpoint, container: str, key: str = "") -> Location:
        return Location(self.type, self.key_field, {}, {}, {}, DataKeys(container)).with_key(key)

    def admin(self, endpoint: Endpoint) -> RawAdmin:
        return RawAdmin(endpoint)

    def in_container(self, location: Location, container: str) -> Location:
        return location.placing(DataKeys(container))

    def repository(self, location: Location, key_format: str) -> dict[str, Any]:
        raise self._lacks("repository: Argo's Raw location is never an artifact repository")

    def wrong_secrets(self, location: Location) -> dict[str, dict[str, str]]:
        raise self._lacks("credentials: Raw has none")

    def tls_on_plain(self, location: Location) -> Location:
        raise self._lacks("transport: Raw has none")


KIND = Raw()
