"""`Store`: what a suite case gets: a fresh bucket on one backend, and the target's driver.

    def test_roundtrip(store):
        store.local_file("in.txt", b"hello")
        artifact = store.artifact("dir/in.txt")
        store.driver.save(str(store.tmp / "in.txt"), artifact)
        assert store.objects.get("dir/in.txt") == b"hello"

The bucket (container) is created before the case and removed with everything in it after;
every driver the case made is closed, even when the case fails.

A case that needs a variant of the location (other credentials, a feature switched on, another
server) gets it from the kind adapter, `store.kind`, and runs it through `driver_for` and
`artifact_in`, so that the suite itself never spells a kind's fields.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance import kinds
from conformance.columns import Column
from conformance.kinds import Kind, Location, ObjectStore, Unrepresentable
from conformance.profiles import Profile
from conformance.recorder import SKIP
from conformance.targets import GuardedDriver, Target
from drivers.core.context import DriverContext
from drivers.core.model import Artifact, parse_artifact
from drivers.core.secrets import MemorySecretSource
from emulators.endpoint import Endpoint
from emulators.fleet import SERVERS
from emulators.server import Server


@dataclass(frozen=True)
class Backend:
    """One column of the matrix: a backend in a mode, its running server, its profile."""

    column: Column
    endpoint: Endpoint
    profile: Profile

    @property
    def key(self) -> str:  # e.g. "minio-tls"
        return self.column.key

    @property
    def server(self) -> str:
        return self.profile.server

    @property
    def mode(self) -> str:
        return self.column.mode

    @property
    def driver(self) -> str:
        return self.profile.driver

    @property
    def kind(self) -> Kind:
        return kinds.get(self.profile.driver)


@contextlib.contextmanager
def representable(backend: Backend, node: pytest.Item | None) -> Iterator[None]:
    """A layout the backend's storage cannot hold skips the case, saying why (a skip by the
    backend in its record, as a profile's gap is)."""
    try:
        yield
    except Unrepresentable as exc:
        if node is not None:
            node.user_properties.append((SKIP, {"by": "backend", "missing": ""}))
        pytest.skip(f"unsupported-by-backend: {backend.key} cannot hold this case's layout: {exc}")


class CaseObjects(ObjectStore):
    """The case's bucket; laying out what the storage cannot hold skips the case."""

    def __init__(self, admin, container: str, backend: Backend, node: pytest.Item | None):
        super().__init__(admin, container)
        self.backend, self.node = backend, node

    def put(self, key: str, data: bytes = b"") -> None:
        with representable(self.backend, self.node):
            super().put(key, data)


class Store:
    def __init__(
        self, backend: Backend, target: Target, tmp: Path, node: pytest.Item | None = None
    ):
        self.backend = backend
        self.node = node  # the case, whose record says who skipped it
        self.kind = backend.kind
        self.target = target
        self.tmp = tmp
        self.bucket = unique_bucket()
        self.location: Location = self.kind.location(backend.endpoint, self.bucket)
        self.secrets = MemorySecretSource(self.location.secrets)
        self.context = self.location.driver_context(temp_dir=self._private_dir())
        self._drivers: list[GuardedDriver] = []
        self._extra_buckets: list[str] = []
        self._elsewhere: list[ObjectStore] = []  # containers on other servers
        self.admin = self.kind.admin(backend.endpoint)
        self.admin.create_container(self.bucket)
        self.objects = CaseObjects(self.admin, self.bucket, backend, node)

    def _private_dir(self) -> Path:
        path = self.tmp / "driver-private"
        path.mkdir(exist_ok=True)
        return path

    # locations and drivers -------------------------------------------------------------
    def artifact(self, key: str, **extra: Any) -> Artifact:
        """An artifact at `key` in this case's bucket (extra Artifact fields as keywords)."""
        return self.artifact_in(self.location, key, **extra)

    @property
    def driver(self) -> GuardedDriver:
        if not self._drivers:
            self.new_driver()
        return self._drivers[0]

    def new_driver(
        self,
        artifact: Artifact | None = None,
        secrets: Any = None,
        context: DriverContext | None = None,
    ) -> GuardedDriver:
        driver = self.target.new_driver(
            artifact or self.artifact(""), secrets or self.secrets, context or self.context
        )
        self._drivers.append(driver)
        return driver

    def fresh_bucket_name(self) -> str:
        """A bucket name nobody created yet; removed after the case if something creates it."""
        name = unique_bucket()
        self._extra_buckets.append(name)
        return name

    # variants of the location ----------------------------------------------------------
    def artifact_in(self, location: Location, key: str, **extra: Any) -> Artifact:
        """An artifact at `key` of `location` (a variant the kind adapter made)."""
        with representable(self.backend, self.node):
            placed = location.with_key(key)
        return parse_artifact(placed.artifact("artifact", **extra))

    def context_with(self, location: Location | None = None, **overrides: Any) -> DriverContext:
        """The pod-side context of `location` (default: the case's), in the case's private
        temp directory, with `overrides` (e.g. `sleep=checks.Backoff()`)."""
        location = location or self.location
        return location.driver_context(**{"temp_dir": self._private_dir(), **overrides})

    def driver_for(self, location: Location, **context: Any) -> GuardedDriver:
        """A driver for `location` with its own secrets and context (`context` overrides)."""
        return self.new_driver(
            self.artifact_in(location, ""),
            MemorySecretSource(location.secrets),
            self.context_with(location, **context),
        )

    def reference_for(self, location: Location) -> Any:
        """The kit's reference driver for `location`: the yardstick of the differential lane
        (`conformance.differential`), closed with the case's other drivers."""
        from drivers import new_driver

        driver = new_driver(
            self.artifact_in(location, ""),
            MemorySecretSource(location.secrets),
            self.context_with(location),
        )
        self._drivers.append(driver)
        return driver

    # other servers of the case's kind --------------------------------------------------
    @property
    def server(self) -> Server:
        """The module of the server behind this case (`emulators/<server>.py`)."""
        return SERVERS[self.backend.server]

    def server_with(self, private_server: Any, **settings: Any) -> Endpoint:
        """This case's server, in its mode, configured with `settings` (the keywords of the
        server module's `settings_env`): the shared server when they need no change, else a
        private one from `private_server` (the `artconf_private_server` fixture)."""
        settings_env = getattr(self.server, "settings_env", None)
        if settings_env is None:
            raise NotImplementedError(
                f"server {self.backend.server} has no settings_env: it cannot be started "
                f"with {sorted(settings)}"
            )
        env = settings_env(**settings)
        if not env:
            return self.backend.endpoint
        return private_server(self.backend.server, tls=self.backend.mode == "tls", env=env)

    def bucket_on(
        self, endpoint: Endpoint, *, region: str | None = None
    ) -> tuple[Location, ObjectStore]:
        """A fresh bucket on `endpoint` (a server of the case's kind, in `region` if given),
        removed with everything in it after the case: its location and its objects."""
        admin = self.kind.admin_in_region(endpoint, region) if region else self.kind.admin(endpoint)
        objects = ObjectStore(admin, unique_bucket())
        admin.create_container(objects.container)
        self._elsewhere.append(objects)
        return self.kind.location(endpoint, objects.container), objects

    # local files -----------------------------------------------------------------------
    def local_file(self, relative: str, data: bytes = b"") -> Path:
        path = self.tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def local_tree(self, root: str, files: dict[str, bytes]) -> Path:
        base = self.tmp / root
        base.mkdir(parents=True, exist_ok=True)
        for relative, data in files.items():
            self.local_file(f"{root}/{relative}", data)
        return base

    def close(self) -> None:
        errors = []
        for driver in self._drivers:
            try:
                driver.close()
            except Exception as exc:  # still clean up the buckets
                errors.append(exc)
        for name in [self.bucket, *self._extra_buckets]:
            self.admin.delete_container(name)
        for objects in self._elsewhere:
            objects.admin.delete_container(objects.container)
        if errors:
            raise errors[0]


def unique_bucket() -> str:
    return f"artconf-{uuid.uuid4().hex[:16]}"
