"""`Store`: what a suite case gets: a fresh bucket on one backend, and the target's driver.

    def test_roundtrip(store):
        store.local_file("in.txt", b"hello")
        artifact = store.artifact("dir/in.txt")
        store.driver.save(str(store.tmp / "in.txt"), artifact)
        assert store.objects.get("dir/in.txt") == b"hello"

The bucket (container) is created before the case and removed with everything in it after;
every driver the case made is closed, even when the case fails.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import kinds
from conformance.columns import Column
from conformance.kinds import Kind, Location, ObjectStore
from conformance.profiles import Profile
from conformance.targets import GuardedDriver, Target
from drivers.core.context import DriverContext
from drivers.core.model import Artifact, parse_artifact
from drivers.core.secrets import MemorySecretSource
from emulators.endpoint import Endpoint


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


class Store:
    def __init__(self, backend: Backend, target: Target, tmp: Path):
        self.backend = backend
        self.kind = backend.kind
        self.target = target
        self.tmp = tmp
        self.bucket = unique_bucket()
        self.location: Location = self.kind.location(backend.endpoint, self.bucket)
        self.secrets = MemorySecretSource(self.location.secrets)
        self.context = self.location.driver_context(temp_dir=self._private_dir())
        self._drivers: list[GuardedDriver] = []
        self._extra_buckets: list[str] = []
        self.admin = self.kind.admin(backend.endpoint)
        self.admin.create_container(self.bucket)
        self.objects = ObjectStore(self.admin, self.bucket)

    def _private_dir(self) -> Path:
        path = self.tmp / "driver-private"
        path.mkdir(exist_ok=True)
        return path

    # locations and drivers -------------------------------------------------------------
    def artifact(self, key: str, **extra: Any) -> Artifact:
        """An artifact at `key` in this case's bucket (extra Artifact fields as keywords)."""
        return parse_artifact(self.location.with_key(key).artifact("artifact", **extra))

    def artifact_with(self, key: str, **fields: Any) -> Artifact:
        """An artifact at `key` whose location has extra or replaced Argo fields (None
        removes one)."""
        return parse_artifact(self.location.with_key(key).replace(**fields).artifact())

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
        if errors:
            raise errors[0]


def unique_bucket() -> str:
    return f"artconf-{uuid.uuid4().hex[:16]}"
