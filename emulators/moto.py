"""moto's standalone server (S3 and STS), run from the kit's own Python environment.

It checks no credentials, so on moto a pass cannot prove authentication (see its profile).
State is never reset while a run uses it: tests isolate themselves by unique bucket names.
"""

from __future__ import annotations

import sys

from emulators import tools
from emulators.launcher import Command
from emulators.server import Instance, Server, probe_get, random_secret


class Moto(Server):
    kind = "moto"
    tool = "moto"
    profile = "moto"

    def settings_env(self, *, virtual_host_domain: str | None = None) -> dict[str, str]:
        """No setting needs a private server: moto takes the bucket from the Host of any
        `<bucket>.<name>` request (not of `localhost` itself), whatever the domain."""
        return {}

    def credentials(self) -> dict[str, str]:
        return {"access_key": "artconf-moto", "secret_key": random_secret()}

    def command(self, instance: Instance, port: int) -> Command:
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        if instance.tls:
            argv += ["-c", str(instance.tls.server_cert), "-k", str(instance.tls.server_key)]
        return Command(argv, {"MOTO_ALLOW_NONEXISTENT_REGION": "false"})

    def probe(self, instance: Instance, port: int) -> bool:
        response = probe_get(instance, port, "/moto-api/")
        return response.status_code == 200 and "moto" in response.text.lower()

    def version(self) -> str:
        return tools.version("moto")
