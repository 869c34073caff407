"""How the HDFS driver reaches the NameNode: Argo's fields checked, then an hdfs-native client.

* `check_config`: Argo's ``ValidateArtifact`` (``workflow/artifacts/hdfs/hdfs.go``), word for
  word, each error prefixed by the field path; then what this driver cannot do refused by
  field: Kerberos and ``dataTransferProtection`` need a KDC and a secured cluster to prove, which
  the kit has not got (deviation ``hdfs-kerberos-refused``).
* `client`: one hdfs-native client for ``addresses``, tried in order as colinmarc/hdfs's
  failover does (a name service of one NameNode per address), with no Hadoop configuration from
  the environment (Argo's client reads none).
* `as_user`: the simple-auth user. hdfs-native has no option for it; it reads
  ``HADOOP_USER_NAME`` whenever it (re)connects. So every call of a driver runs with that
  variable set to its ``hdfsUser``, under one process-wide lock, and the environment is restored
  after: no other driver's call ever sees it.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import threading
from collections.abc import Iterator

from hdfs_native import Client

from drivers.core.errors import BadRequest, Unimplemented
from drivers.core.model import HDFSArtifact

USER_ENV = "HADOOP_USER_NAME"
#: hdfs-native would act for this user on top of the simple one (Argo's client has no such
#: thing): cleared for every call, like `USER_ENV` set.
PROXY_ENV = "HADOOP_PROXY_USER"
#: The name service under which `addresses` become NameNodes (a name, never resolved).
NAMESERVICE = "argo-hdfs"
_ENV_LOCK = threading.RLock()

#: Argo fields this driver parses and refuses: (field, model attribute).
_REFUSED = (
    ("krbCCacheSecret", "krb_ccache_secret"),
    ("krbKeytabSecret", "krb_keytab_secret"),
    ("krbUsername", "krb_username"),
    ("krbRealm", "krb_realm"),
    ("krbConfigConfigMap", "krb_config_config_map"),
    ("krbServicePrincipalName", "krb_service_principal_name"),
    ("dataTransferProtection", "data_transfer_protection"),
)


def check_config(hdfs: HDFSArtifact, prefix: str) -> None:
    """Argo's checks of the connection fields, then the refusal of the unsupported ones."""
    p = prefix
    if not hdfs.addresses:
        raise BadRequest(f"{p}.addresses is required")
    ccache, keytab = hdfs.krb_ccache_secret is not None, hdfs.krb_keytab_secret is not None
    if not hdfs.hdfs_user and not ccache and not keytab:
        raise BadRequest(
            f"either {p}.hdfsUser, {p}.krbCCacheSecret or {p}.krbKeytabSecret is required"
        )
    krb_common = hdfs.krb_service_principal_name and hdfs.krb_config_config_map is not None
    if keytab and not (krb_common and hdfs.krb_username and hdfs.krb_realm):
        raise BadRequest(
            f"{p}.krbServicePrincipalName, {p}.krbConfigConfigMap, {p}.krbUsername and "
            f"{p}.krbRealm are required with {p}.krbKeytabSecret"
        )
    if ccache and not krb_common:
        raise BadRequest(
            f"{p}.krbServicePrincipalName and {p}.krbConfigConfigMap are required with "
            f"{p}.krbCCacheSecret"
        )
    for name, attribute in _REFUSED:
        if getattr(hdfs, attribute):
            raise Unimplemented(
                f"{p}.{name} is not supported by this HDFS driver: it speaks simple "
                f"authentication only (Kerberos and data-transfer protection are untested "
                f"here); remove {p}.{name} and set {p}.hdfsUser "
                f"(deviation hdfs-kerberos-refused)"
            )


def check_path(hdfs: HDFSArtifact, prefix: str) -> None:
    """Argo's checks of ``path`` (``ValidateArtifact``)."""
    if not hdfs.path:
        raise BadRequest(f"{prefix}.path is required")
    if not posixpath.isabs(hdfs.path):
        raise BadRequest(f"{prefix}.path must be a absolute file path")


def client(addresses: list[str]) -> Client:
    """A client trying `addresses` in order; nothing read from HADOOP_CONF_DIR/HADOOP_HOME."""
    names = [f"nn{i}" for i in range(len(addresses))]
    config = {
        f"dfs.ha.namenodes.{NAMESERVICE}": ",".join(names),
        # One pass over the NameNodes, as colinmarc/hdfs makes: Argo never retries HDFS (6.4).
        "dfs.client.failover.max.attempts": "1",
        "dfs.client.failover.sleep.base.millis": "50",
        "dfs.client.failover.sleep.max.millis": "200",
        "dfs.client.failover.random.order": "false",
    }
    for name, address in zip(names, addresses, strict=True):
        config[f"dfs.namenode.rpc-address.{NAMESERVICE}.{name}"] = address
    with _no_hadoop_conf():
        return Client(f"hdfs://{NAMESERVICE}", config=config)


@contextlib.contextmanager
def as_user(user: str) -> Iterator[None]:
    """Run the block as the simple-auth `user` (see the module docstring)."""
    with _ENV_LOCK:
        saved = {name: os.environ.get(name) for name in (USER_ENV, PROXY_ENV)}
        os.environ[USER_ENV] = user
        os.environ.pop(PROXY_ENV, None)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@contextlib.contextmanager
def _no_hadoop_conf() -> Iterator[None]:
    """hdfs-native reads core-site.xml/hdfs-site.xml from these when it builds a client."""
    with _ENV_LOCK:
        saved = {name: os.environ.pop(name, None) for name in ("HADOOP_CONF_DIR", "HADOOP_HOME")}
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is not None:
                    os.environ[name] = value
