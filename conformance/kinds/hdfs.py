"""The HDFS kind (Argo's `hdfs` location): a file of a Hadoop cluster, checked through
hdfs-native (`emulators/hdfs.py` runs the cluster).

HDFS has a path, not a bucket and a key: a container is a top-level directory `/<container>`
owned by the server's plain user, and a key the path under it, `path: /<container>/<key>`.
The location names that user as `hdfsUser`; the admin works inside a container as the same user
(so what it lays out, the driver may replace), and creates and removes containers as the
superuser. A key HDFS cannot hold as it is (`.`, `..`, empty segments, a `:`) is unrepresentable.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hdfs_native import Client, WriteOptions

from conformance.kinds.base import Admin, Kind, Location, Unrepresentable, capabilities
from drivers.hdfs.connection import as_user, client
from emulators.endpoint import Endpoint


@dataclass(frozen=True)
class PathKeys:
    """Places a key as `path: /<container>/<key>`."""

    container: str

    def __call__(self, key: str) -> dict[str, Any]:
        return {"path": self.path(key)}

    def path(self, key: str) -> str:
        segments = key.split("/")
        if {".", ".."} & set(segments) or "" in segments[:-1] or ":" in key:
            raise Unrepresentable(
                f"HDFS normalises or refuses '.', '..', empty segments and ':' in a path "
                f"(DFSUtil.isValidName), so the key {key!r} is not kept as it is"
            )
        return f"/{self.container}/{key}"


def path_keys(location: Location) -> PathKeys:
    assert isinstance(location.placed, PathKeys), "an HDFS location places its keys in its path"
    return location.placed


class HDFSAdmin(Admin):
    """The cluster seen through hdfs-native: containers as the superuser, files as their user."""

    def __init__(self, endpoint: Endpoint):
        super().__init__(endpoint)
        self.user = endpoint.credentials["user"]
        self.superuser = endpoint.credentials["superuser"]
        self.address = f"{endpoint.host}:{endpoint.port}"
        self._clients: dict[str, Client] = {}

    @contextlib.contextmanager
    def _as(self, user: str) -> Iterator[Client]:
        """The client acting as `user`, for the block (hdfs-native reads the user per call)."""
        with as_user(user):
            if user not in self._clients:
                self._clients[user] = client([self.address])
            yield self._clients[user]

    def create_container(self, name: str) -> None:
        with self._as(self.superuser) as fs:
            fs.mkdirs(f"/{name}", 0o755, create_parent=True)
            fs.set_owner(f"/{name}", owner=self.user)

    def delete_container(self, name: str) -> None:
        with self._as(self.superuser) as fs:
            fs.delete(f"/{name}", recursive=True)

    def container_exists(self, name: str) -> bool:
        with self._as(self.superuser) as fs:
            try:
                return fs.get_file_info(f"/{name}").isdir
            except FileNotFoundError:
                return False

    def put(self, container: str, key: str, data: bytes = b"") -> None:
        path = PathKeys(container).path(key)
        options = WriteOptions(overwrite=True, create_parent=True)
        with self._as(self.user) as fs:
            try:
                with fs.create(path, options) as writer:
                    writer.write(data)
            except (FileExistsError, RuntimeError) as exc:
                if (
                    "is a directory" in str(exc).lower()
                    or "parent path is not a dir" in str(exc).lower()
                    or isinstance(exc, FileExistsError)
                ):
                    raise Unrepresentable(
                        f"on HDFS {key!r} cannot be a file beside a directory of the same name"
                    ) from exc
                raise

    def get(self, container: str, key: str) -> bytes | None:
        path = PathKeys(container).path(key)
        with self._as(self.user) as fs:
            try:
                if fs.get_file_info(path).isdir:
                    return None
                with fs.read(path) as reader:
                    return reader.readall()
            except FileNotFoundError:
                return None

    def keys(self, container: str, prefix: str = "") -> list[str]:
        root = f"/{container}/"
        with self._as(self.user) as fs:
            try:
                found = list(fs.list_status(root, recursive=True))
            except FileNotFoundError:
                return []
        names = [s.path[len(root) :] for s in found if not s.isdir]
        return sorted(n for n in names if n.startswith(prefix))

    def delete(self, container: str, key: str) -> None:
        with self._as(self.user) as fs, contextlib.suppress(FileNotFoundError):
            fs.delete(PathKeys(container).path(key), recursive=False)


class HDFS(Kind):
    name = "hdfs"
    credential_keys = ()  # simple authentication: a user name, no secret
    sdk_packages = ("hdfs-native",)
    # Files only, both ways; streams through temp files; a repository (`pathFormat`, `force`);
    # no Delete, ListObjects or IsDirectory (spec 1.3 HDFS row, 2.8).
    argo_capabilities = capabilities(
        """load save save_stream open_stream archive_tar archive_zip archive_none key_format
        refuses_unsupported refuses_directories save_force""",
        where="kinds.hdfs",
    )

    def location(self, endpoint: Endpoint, container: str, key: str = "") -> Location:
        # `force: true` as Argo's own example (examples/hdfs-artifact.yaml) writes it: a save
        # replaces an existing file, as on the other kinds; the save_force cases unset it.
        fields = {
            "addresses": [f"{endpoint.host}:{endpoint.port}"],
            "hdfsUser": endpoint.credentials["user"],
            "force": True,
        }
        return Location(self.type, self.key_field, fields, {}, {}, PathKeys(container)).with_key(
            key
        )

    def admin(self, endpoint: Endpoint) -> HDFSAdmin:
        return HDFSAdmin(endpoint)

    def repository(self, location: Location, key_format: str) -> dict[str, Any]:
        """`pathFormat` is an absolute path: the container's directory, then the format."""
        fields = {k: v for k, v in location.fields.items() if k != self.key_field}
        return {self.type: {**fields, "pathFormat": path_keys(location).path(key_format)}}

    def key_only(self, key: str, location: Location | None = None) -> dict[str, Any]:
        """Argo records the whole path, the container's directory included."""
        path = path_keys(location).path(key) if location is not None else "/" + key.lstrip("/")
        return {self.type: {"path": path}}

    def in_container(self, location: Location, container: str) -> Location:
        return location.placing(dataclasses.replace(path_keys(location), container=container))

    def object_key(self, artifact: Any) -> str:
        """`/<container>/<key>` -> `<key>`."""
        return artifact.get_key().split("/", 2)[2]

    def wrong_secrets(self, location: Location) -> dict[str, dict[str, str]]:
        raise self._lacks("credentials: simple authentication has no secret to get wrong")

    def forcing(self, location: Location, force: bool = True) -> Location:
        """`location` with `force` set: a save replaces an existing file (spec 1.3, 2.8)."""
        return location.replace(force=force)


KIND = HDFS()
