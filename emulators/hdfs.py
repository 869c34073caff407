"""HDFS: Hadoop's own NameNode and DataNode (MiniDFSCluster 3.5.0) in one JVM, kind ``hdfs``.

Not an emulator of the protocol: the real Hadoop server code, run by the kit's small main class
(`emulators/hdfs/MiniHdfs.java`, compiled by the bootstrap into the tool cache). The NameNode's
RPC port is the kit's; every other listener (DataNode data, IPC and HTTP, NameNode HTTP) is an
ephemeral port on 127.0.0.1. One DataNode, replication 1, simple authentication, permissions on:
the admin is the superuser (the user the JVM runs as) and `hdfsUser` a plain user owning its
containers, so whose name a client gives decides what it may write.

Readiness: an RPC read, through hdfs-native, of `/.artconf/signature`, which the main class
writes with the instance's random nonce once the cluster is up (never just an open port). HDFS
RPC has no TLS: plain mode only. The JVM's own temp files and Hadoop's go under the instance
directory (never /tmp); it stops with its process group (SIGTERM runs the cluster's shutdown).
"""

from __future__ import annotations

import getpass
import shutil

from drivers.hdfs.connection import as_user, client
from emulators import tools
from emulators.endpoint import Endpoint
from emulators.launcher import Command
from emulators.server import Instance, Server, random_secret

#: The plain user that owns the kit's containers and that locations name as `hdfsUser`.
USER = "artconf"
SIGNATURE_PATH = "/.artconf/signature"
#: A small heap and the client compiler: the cluster is idle most of the time, and starts faster.
JVM_FLAGS = (
    "-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
    "-XX:-UsePerfData",  # no /tmp/hsperfdata_<user>
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
    "-Dorg.slf4j.simpleLogger.logFile=System.out",
)  # fmt: skip


def superuser() -> str:
    """The HDFS superuser: the OS user the JVM runs as (the kit's own)."""
    return getpass.getuser()


class MiniHdfs(Server):
    kind = "hdfs"
    tool = "hdfs"
    profile = "hdfs"
    start_timeout = 120.0  # a JVM formatting a NameNode: about 10 s here, slower on CI
    modes = (False,)  # HDFS RPC has no TLS

    def credentials(self) -> dict[str, str]:
        return {"user": USER, "superuser": superuser(), "nonce": random_secret()}

    def command(self, instance: Instance, port: int) -> Command:
        data = instance.workdir / "data"
        jtmp = instance.workdir / "jvm-tmp"
        shutil.rmtree(data, ignore_errors=True)  # a restart formats afresh
        data.mkdir(parents=True)
        jtmp.mkdir(parents=True, exist_ok=True)
        java = shutil.which("java") or "java"
        argv = [
            java, *JVM_FLAGS, f"-Djava.io.tmpdir={jtmp}",
            "-cp", tools.hdfs_classpath(), "MiniHdfs", str(port), str(data),
        ]  # fmt: skip
        env = {
            "ARTCONF_HDFS_SIGNATURE": instance.credentials["nonce"],
            "ARTCONF_HDFS_USERS": USER,
            "HOME": str(instance.workdir),  # Hadoop's web auth looks for a secret file there
        }
        return Command(argv, env, cwd=instance.workdir)

    def probe(self, instance: Instance, port: int) -> bool:
        with as_user(instance.credentials["superuser"]):
            fs = client([f"127.0.0.1:{port}"])
            try:
                with fs.read(SIGNATURE_PATH) as signature:
                    return signature.readall().decode() == instance.credentials["nonce"]
            except (OSError, RuntimeError):  # not up yet, or not the file: not ready
                return False

    def endpoint(self, instance: Instance, port: int) -> Endpoint:
        endpoint = super().endpoint(instance, port)
        endpoint.url = f"hdfs://127.0.0.1:{port}"
        return endpoint

    def version(self) -> str:
        return f"Hadoop MiniDFSCluster {tools.HADOOP_VERSION}"
