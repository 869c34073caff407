"""What the harness knows about one location kind (s3, gcs, azure, ...): the adapter's shape.

A `Kind` turns a running server's `Endpoint` into what a Workflow author would write (a
`Location`: Argo fields, the Secrets they reference, the pod-side context), and gives the
suites an `Admin`: the server's official SDK, independent of the driver under test, to lay out
state before a case and to check what really landed afterwards. Suites never name a kind: the
capability gates a case, and the adapter supplies every kind-specific part.

A kind-specific helper that a kind cannot provide raises `NotSupportedByKind`; a case only
reaches it when the target declares the capability it needs, so that error means the adapter
is incomplete for a capability its kind claims (a kit bug, named as such).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from drivers.core.capabilities import Capability, parse_capabilities
from drivers.core.context import DriverContext, system_ca_bundle
from drivers.core.model.artifact import ArtifactLocation
from drivers.core.model.locations import KEY_FIELD
from drivers.core.model.repository import ArtifactRepository
from emulators.endpoint import Endpoint


class NotSupportedByKind(NotImplementedError):
    """The adapter has no such helper for its kind (see the module docstring)."""


class Unrepresentable(ValueError):
    """What a case lays out cannot exist on this kind's storage: a key an HTTP server
    normalises, a file beside a same-named directory on a file tree, bytes in Raw's text.
    The case is then skipped with this reason (`Store`), never failed or passed."""


@dataclass
class Location:
    """One artifact location on a server: Argo YAML fields, their Secrets, the context."""

    type: str  # Argo's location field: "s3", "gcs", "azure", ...
    key_field: str  # the field holding the key: "key", "blob", ...
    fields: dict[str, Any]
    secrets: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)  # values
    context: dict[str, Any] = field(default_factory=dict)  # DriverContext keyword arguments
    #: For a kind whose key is not a field of its own (an HTTP URL's path, Raw's data): the
    #: fields that place `key`, from the kind adapter. None: `fields[key_field] = key`.
    placed: Callable[[str], dict[str, Any]] | None = field(default=None, repr=False)
    given_key: str = ""  # the key last placed through `placed`

    @property
    def key(self) -> str:
        if self.placed is not None:
            return self.given_key
        return str(self.fields.get(self.key_field, ""))

    def artifact(self, name: str = "artifact", **extra: Any) -> dict[str, Any]:
        """An Argo artifact dict (as in a Workflow's YAML) with this location."""
        return {"name": name, self.type: dict(self.fields), **extra}

    def with_key(self, key: str) -> Location:
        if self.placed is not None:
            return dataclasses.replace(self.replace(**self.placed(key)), given_key=key)
        return self.replace(**{self.key_field: key})

    def placing(self, placed: Callable[[str], dict[str, Any]]) -> Location:
        """This location with its key placed by `placed` from now on (the key kept)."""
        return dataclasses.replace(self, placed=placed).with_key(self.key)

    def replace(self, **fields: Any) -> Location:
        """This location with fields set (a value of None removes the field)."""
        merged = {**self.fields, **fields}
        kept = {k: v for k, v in merged.items() if v is not None}
        return dataclasses.replace(self, fields=kept)

    def with_context(self, **context: Any) -> Location:
        return dataclasses.replace(self, context={**self.context, **context})

    def with_secrets(self, secrets: dict[str, dict[str, str]]) -> Location:
        return dataclasses.replace(self, secrets=secrets)

    def driver_context(self, **overrides: Any) -> DriverContext:
        return DriverContext(**{**self.context, **overrides})


class Admin:
    """A server's view of its containers through the official SDK (never the driver's code).

    The operations every kind offers first; the feature checks after them exist only for the
    kinds whose capabilities need them (the base raises `NotSupportedByKind`).
    """

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint

    # containers
    def create_container(self, name: str) -> None:
        raise NotImplementedError

    def delete_container(self, name: str) -> None:
        """Remove the container and everything in it; a missing one is fine."""
        raise NotImplementedError

    def container_exists(self, name: str) -> bool:
        raise NotImplementedError

    # objects
    def put(self, container: str, key: str, data: bytes = b"") -> None:
        raise NotImplementedError

    def get(self, container: str, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        raise NotImplementedError

    def keys(self, container: str, prefix: str = "") -> list[str]:
        """Every key under `prefix`, sorted (markers included: they are objects too)."""
        raise NotImplementedError

    def delete(self, container: str, key: str) -> None:
        """Delete one object by name (missing is fine)."""
        raise NotImplementedError

    # evidence of how an object was written
    def part_count(self, container: str, key: str) -> int | None:
        """How many parts (blocks) the server recorded for `key`; None: no such notion."""
        raise NotSupportedByKind(f"{type(self).__name__}: no part counts")

    def open_uploads(self, container: str) -> list[str]:
        """Keys with an upload started and never completed or aborted (none for most kinds)."""
        return []

    def encryption(self, container: str, key: str) -> dict[str, str]:
        """How the server says `key` is encrypted: {"algorithm": ..., "kms_key_id": ...}."""
        raise NotSupportedByKind(f"{type(self).__name__}: no server-side encryption")

    def readable_without_customer_key(self, container: str, key: str) -> bool:
        raise NotSupportedByKind(f"{type(self).__name__}: no customer-provided keys")

    def object_lock_enabled(self, container: str) -> bool:
        raise NotSupportedByKind(f"{type(self).__name__}: no object locking")

    def lifecycle_rules(self, container: str) -> list[dict[str, Any]]:
        """The container's lifecycle rules as the server returns them ([] when none)."""
        raise NotSupportedByKind(f"{type(self).__name__}: no lifecycle rules")


class ObjectStore:
    """An `Admin` bound to one container: what a case calls `store.objects`."""

    def __init__(self, admin: Admin, container: str):
        self.admin = admin
        self.container = container

    def put(self, key: str, data: bytes = b"") -> None:
        self.admin.put(self.container, key, data)

    def put_many(self, objects: dict[str, bytes]) -> None:
        """Upload every (key, bytes) of `objects`, in parallel (the SDK clients are
        thread-safe): laying out a thousand objects one by one takes most of a case."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda item: self.put(*item), objects.items()))

    def get(self, key: str) -> bytes | None:
        return self.admin.get(self.container, key)

    def keys(self, prefix: str = "") -> list[str]:
        return self.admin.keys(self.container, prefix)

    def delete(self, key: str) -> None:
        self.admin.delete(self.container, key)

    def part_count(self, key: str) -> int | None:
        return self.admin.part_count(self.container, key)

    def open_uploads(self) -> list[str]:
        return self.admin.open_uploads(self.container)

    def encryption(self, key: str) -> dict[str, str]:
        return self.admin.encryption(self.container, key)

    def readable_without_customer_key(self, key: str) -> bool:
        return self.admin.readable_without_customer_key(self.container, key)

    def exists(self) -> bool:
        return self.admin.container_exists(self.container)


class Kind:
    """Base of one location kind's adapter. Subclasses set the class attributes and implement
    `location`, `admin` and `wrong_secrets`; the variants below have defaults that fit kinds
    whose TLS trust comes from the pod (the context's CA bundle) and whose scheme is in a URL.
    """

    name: ClassVar[str] = ""  # the matrix's driver column, and the target's declaration key
    location_type: ClassVar[str] = ""  # Argo's location field (default: `name`)
    container_field: ClassVar[str] = ""  # the field naming the bucket / container
    #: Secret keys that hold credentials (a case pads them with whitespace, spec 6.3).
    credential_keys: ClassVar[tuple[str, ...]] = ()
    #: SDK distributions whose versions records carry.
    sdk_packages: ClassVar[tuple[str, ...]] = ()
    #: Argo's own capability set for this location type (spec 1.3, 2): what a target that
    #: declares nothing is held to, and which rows the report shows for this kind.
    argo_capabilities: ClassVar[frozenset[Capability]] = frozenset()

    @property
    def type(self) -> str:
        return self.location_type or self.name

    @property
    def key_field(self) -> str:
        """The model's key field for this location type (`KEY_FIELD`)."""
        annotation = ArtifactLocation.model_fields[self.type].annotation
        model = next(m for m in KEY_FIELD if m in getattr(annotation, "__args__", (annotation,)))
        return KEY_FIELD[model]

    @property
    def key_format_field(self) -> str:
        """The repository's key-format field, by its Argo name (`keyFormat`, `blobNameFormat`)."""
        annotation = ArtifactRepository.model_fields[self.type].annotation
        model = next(a for a in annotation.__args__ if a is not type(None))
        for name, info in model.model_fields.items():
            if name.endswith("_format"):
                return info.alias or name
        raise NotSupportedByKind(f"{self.type} repositories have no key format")

    # --- locations -----------------------------------------------------------------------
    def location(self, endpoint: Endpoint, container: str, key: str = "") -> Location:
        """The location of `key` in `container` on `endpoint`, trusted through Argo's means."""
        raise NotImplementedError

    def admin(self, endpoint: Endpoint) -> Admin:
        """The server's own view of `endpoint` (its official SDK, as its root user)."""
        raise NotImplementedError

    def repository(self, location: Location, key_format: str) -> dict[str, Any]:
        """The repository (ConfigMap value) a cluster admin writes for `location`'s container."""
        fields = {k: v for k, v in location.fields.items() if k != self.key_field}
        return {self.type: {**fields, self.key_format_field: key_format}}

    def key_only(self, key: str, location: Location | None = None) -> dict[str, Any]:
        """A key-only location, as Argo records it in a node's status (spec 4.4), for `key`
        in `location`'s container (a kind whose key is an URL path needs the container)."""
        return {self.type: {self.key_field: key}}

    def in_container(self, location: Location, container: str) -> Location:
        return location.replace(**{self.container_field: container})

    def object_key(self, artifact: Any) -> str:
        """The key of `artifact` (a parsed `Artifact`) as its container's admin names it."""
        return artifact.get_key()

    # --- secrets for negative cases ------------------------------------------------------
    def wrong_secrets(self, location: Location) -> dict[str, dict[str, str]]:
        """`location`'s secrets with the credential replaced by a well-formed wrong one."""
        raise NotImplementedError

    def padded_secrets(self, location: Location, padding: str = "\n") -> dict[str, dict[str, str]]:
        """`location`'s secrets with every credential value followed by `padding`."""
        padded = {name: dict(keys) for name, keys in location.secrets.items()}
        for keys in padded.values():
            for name in self.credential_keys:
                if name in keys:
                    keys[name] += padding
        return padded

    # --- transport variants (spec 2.1, 6.1) ----------------------------------------------
    def untrusted(self, location: Location) -> Location:
        """`location` trusting only the system's roots: the kit's CA is nowhere."""
        return location.with_context(ca_bundle=system_ca_bundle())

    def plain_http(self, location: Location) -> Location:
        """`location` explicitly speaking plain HTTP to a plain server."""
        return location

    def tls_on_plain(self, location: Location) -> Location:
        """`location` claiming TLS while its server speaks plain HTTP."""
        raise NotImplementedError

    # --- helpers for the kinds that have the feature ------------------------------------
    # Each returns a variant of `location` (fields, secrets, context) configured the way a
    # Workflow author of this kind would write it. `env` is a pytest MonkeyPatch for what a
    # pod's environment would hold, `tmp` a directory for the files that environment names.

    def _lacks(self, feature: str) -> NotSupportedByKind:
        return NotSupportedByKind(f"{self.name}: the adapter has no {feature}")

    def sdk_chain(
        self, location: Location, endpoint: Endpoint, source: str, tmp: Path, env: Any
    ) -> Location:
        """`location` without its credential fields, the SDK's default chain set up to find
        them through `source` ("env" or "file"), using `env` (a pytest MonkeyPatch)."""
        raise self._lacks("SDK credential chain")

    def session_token(
        self, location: Location, endpoint: Endpoint, *, with_token: bool = True
    ) -> Location:
        """`location` authenticating with temporary credentials the server's STS issued;
        `with_token=False` leaves their session token out (a negative control)."""
        raise self._lacks("session tokens")

    def assume_role(
        self, location: Location, endpoint: Endpoint, tmp: Path, env: Any, *, source: bool = True
    ) -> Location:
        """`location` assuming a role, with the source credentials in the SDK chain's
        environment (`source=False`: the chain finds none)."""
        raise self._lacks("role to assume")

    def web_identity(
        self, location: Location, endpoint: Endpoint, token: str, tmp: Path, env: Any
    ) -> Location:
        """`location` with the SDK chain exchanging the OpenID `token` (a signed JWT) for
        credentials at the server's STS, as a pod with a projected service-account token."""
        raise self._lacks("web identity")

    def sas_token(
        self, endpoint: Endpoint, container: str, *, write: bool, expires_in_seconds: float
    ) -> str:
        raise self._lacks("SAS tokens")

    def with_sas(
        self, location: Location, endpoint: Endpoint, *, write: bool, expires_in_seconds: float
    ) -> Location:
        """`location` authenticating with a SAS token for its container (read and list, plus
        write when `write`), valid for `expires_in_seconds` (negative: already expired)."""
        raise self._lacks("SAS tokens")

    def creating_container(self, location: Location, *, object_locking: bool = False) -> Location:
        """`location` asking the driver to create its container when missing (on save)."""
        raise self._lacks("container creation")

    def admin_in_region(self, endpoint: Endpoint, region: str) -> Admin:
        """An `Admin` whose containers are created in `region`."""
        raise self._lacks("regions")

    def in_region(self, location: Location, region: str) -> Location:
        """`location` naming its container's region explicitly."""
        raise self._lacks("regions")

    def server_side_encryption(
        self, location: Location, *, kms_key_id: str = "", enabled: bool = True
    ) -> Location:
        """`location` asking for server-managed encryption, with a KMS key when `kms_key_id`;
        `enabled=False` keeps the key but turns the master switch off."""
        raise self._lacks("server-side encryption")

    def customer_key_encryption(self, location: Location, password: str) -> Location:
        """`location` encrypting with a customer-provided key derived from `password`."""
        raise self._lacks("customer-provided keys")

    def multipart(self, location: Location, size: int) -> tuple[Location, int | None]:
        """`location` set so that an upload of `size` bytes goes in parts, and how many parts
        the server must record (None: more than one, the split is the driver's choice)."""
        raise self._lacks("multipart uploads")

    def with_lifecycle(
        self, location: Location, infrequent_days: int, deletion_days: int
    ) -> Location:
        """`location` asking the driver to install a lifecycle rule for its key (OSS)."""
        raise self._lacks("lifecycle rules")

    def forcing(self, location: Location, force: bool = True) -> Location:
        """`location` whose save replaces (`force`) or keeps an existing file (HDFS)."""
        raise self._lacks("forced overwrite")

    def addressed(self, location: Location, style: str) -> Location:
        """`location` reaching its server by the name `localhost` (so that a virtual host
        `<container>.localhost` can exist) with addressing `style` ("path", "virtual-hosted")."""
        raise self._lacks("addressing styles")

    # URL-addressed kinds (HTTP, Artifactory): the request features
    def as_reader(self, location: Location, endpoint: Endpoint) -> Location:
        """`location` with the credentials of the server's read-only user."""
        raise self._lacks("read-only user")

    def with_oauth2(self, location: Location, endpoint: Endpoint) -> Location:
        """`location` authenticated by an OAuth2 client-credentials token from `endpoint`."""
        raise self._lacks("OAuth2")

    def with_headers(self, location: Location) -> Location:
        """`location` where the server requires a header, configured to send it."""
        raise self._lacks("request headers")

    def without_auth(self, location: Location, *, keep_client_cert: bool = True) -> Location:
        """`location` with no credentials (its client certificate kept when asked)."""
        raise self._lacks("unauthenticated variant")

    def redirected(self, location: Location) -> Location:
        """`location` reached through a 307 redirect to the same tree."""
        raise self._lacks("redirect")

    def via_file(self, location: Location) -> Location:
        """`location` buffering streamed saves in a temp file (`saveStreamViaFile`)."""
        raise self._lacks("saveStreamViaFile")


def capabilities(text: str, *, where: str) -> frozenset[Capability]:
    """`"load save ..."` -> capabilities (for the adapters' `argo_capabilities`)."""
    return parse_capabilities(text.split(), where=where)
