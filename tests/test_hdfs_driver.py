"""The reference HDFS driver (drivers/hdfs): Argo's validation errors name the field, the
Kerberos fields and dataTransferProtection are refused by name, `force` decides whether a save
replaces a file, a missing path is ERR_NOT_FOUND, `hdfsUser` is the user the NameNode sees,
and `addresses` are tried in order.

A server this module needs that fails to start is an ERROR, never a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.core.context import DriverContext
from drivers.core.errors import Code
from drivers.core.model import parse_artifact
from drivers.core.secrets import MemorySecretSource
from drivers.hdfs import HDFSDriver
from drivers.hdfs.connection import USER_ENV
from emulators import tools
from emulators.endpoint import Endpoint
from emulators.fleet import Fleet
from emulators.sessions import new_session_dir

BASE = {"addresses": ["127.0.0.1:1"], "hdfsUser": "artconf", "path": "/c/k"}
KRB = {"krbServicePrincipalName": "nn/host", "krbConfigConfigMap": {"name": "m", "key": "k"}}


def artifact(**fields) -> object:
    hdfs = {k: v for k, v in {**BASE, **fields}.items() if v is not None}
    return parse_artifact({"name": "art", "hdfs": hdfs})


def driver(art, tmp_path: Path) -> HDFSDriver:
    return HDFSDriver(art, MemorySecretSource({}), DriverContext(temp_dir=tmp_path / "private"))


def raises(code: Code, match: str, call) -> str:
    with pytest.raises(Exception) as info:
        call()
    assert getattr(info.value, "code", None) == code, repr(info.value)
    assert match in str(info.value), str(info.value)
    return str(info.value)


# --- validation, before any connection --------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"addresses": []}, "art.hdfs.addresses is required"),
        (
            {"hdfsUser": ""},
            "either art.hdfs.hdfsUser, art.hdfs.krbCCacheSecret or art.hdfs.krbKeytabSecret "
            "is required",
        ),
        (
            {"krbKeytabSecret": {"name": "s", "key": "k"}, **KRB},
            "art.hdfs.krbServicePrincipalName, art.hdfs.krbConfigConfigMap, art.hdfs.krbUsername "
            "and art.hdfs.krbRealm are required with art.hdfs.krbKeytabSecret",
        ),
        (
            {"krbCCacheSecret": {"name": "s", "key": "k"}},
            "art.hdfs.krbServicePrincipalName and art.hdfs.krbConfigConfigMap are required with "
            "art.hdfs.krbCCacheSecret",
        ),
    ],
)
def test_config_errors_are_argos_and_name_the_field(fields, message, tmp_path):
    raises(Code.BAD_REQUEST, message, lambda: driver(artifact(**fields), tmp_path))


@pytest.mark.parametrize(
    ("path", "message"),
    [("", "art.hdfs.path is required"), ("rel/k", "art.hdfs.path must be a absolute file path")],
)
def test_path_errors_are_argos(path, message, tmp_path):
    d = driver(artifact(), tmp_path)
    raises(Code.BAD_REQUEST, message, lambda: d.load(artifact(path=path), str(tmp_path / "o")))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"krbCCacheSecret": {"name": "s", "key": "k"}, **KRB}, "krbCCacheSecret"),
        (
            {
                "krbKeytabSecret": {"name": "s", "key": "k"},
                "krbUsername": "u",
                "krbRealm": "R",
                **KRB,
            },
            "krbKeytabSecret",
        ),
        ({"krbRealm": "R"}, "krbRealm"),
        ({"dataTransferProtection": "privacy"}, "dataTransferProtection"),
    ],
)
def test_kerberos_and_data_transfer_protection_are_refused_by_name(fields, field, tmp_path):
    message = raises(
        Code.NOT_IMPLEMENTED,
        f"art.hdfs.{field} is not supported",
        lambda: driver(artifact(**fields), tmp_path),
    )
    assert "hdfsUser" in message  # the fix


def test_refusals_are_argos(tmp_path):
    d = driver(artifact(), tmp_path)
    raises(
        Code.INTERNAL,
        "delete not supported for this artifact storage",
        lambda: d.delete(artifact()),
    )
    raises(
        Code.INTERNAL, "ListObjects is currently not supported", lambda: d.list_objects(artifact())
    )
    raises(
        Code.NOT_IMPLEMENTED,
        "IsDirectory currently unimplemented for HDFS",
        lambda: d.is_directory(artifact()),
    )


# --- against the cluster --------------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    try:
        tools.binary("hdfs")
    except tools.ToolError as exc:
        pytest.fail(f"the hdfs server is needed but not installed: {exc}", pytrace=False)
    fleet = Fleet(new_session_dir("hdfs-driver"))
    try:
        fleet.start([("hdfs", "hdfs", False)])
        if fleet.errors:
            pytest.fail(f"the hdfs server failed to start: {fleet.errors}", pytrace=False)
        yield fleet.endpoints()["hdfs"]
    finally:
        fleet.close()


@pytest.fixture
def at(endpoint, request):
    """An artifact in a fresh container `/<test name>` owned by the server's user."""
    from conformance.kinds.hdfs import KIND

    admin = KIND.admin(endpoint)
    container = request.node.name.replace("[", "-").replace("]", "").lower()[:60]
    admin.create_container(container)

    def make(key: str, **fields):
        where = {"addresses": [f"127.0.0.1:{endpoint.port}"], "path": f"/{container}/{key}"}
        return artifact(**{**where, "hdfsUser": endpoint.credentials["user"], **fields})

    make.admin, make.container = admin, container
    try:
        yield make
    finally:
        admin.delete_container(container)


def test_missing_path_is_not_found(at, tmp_path):
    art = at("absent.txt")
    d = driver(art, tmp_path)
    raises(Code.NOT_FOUND, "file does not exist", lambda: d.load(art, str(tmp_path / "out")))
    assert not (tmp_path / "out").exists()


def test_force_decides_whether_a_save_replaces_a_file(at, tmp_path):
    at.admin.put(at.container, "f.txt", b"old")
    local = tmp_path / "new.txt"
    local.write_bytes(b"new")
    keep = at("f.txt", force=False)
    raises(
        Code.INTERNAL, "file already exists", lambda: driver(keep, tmp_path).save(str(local), keep)
    )
    assert at.admin.get(at.container, "f.txt") == b"old"
    replace = at("f.txt", force=True)
    driver(replace, tmp_path).save(str(local), replace)
    assert at.admin.get(at.container, "f.txt") == b"new"


def test_save_makes_the_parents_and_loads_back(at, tmp_path):
    art = at("a/b/c.bin")
    data = os.urandom(3 * 1024 * 1024 + 5)  # several blocks of the cluster's 1 MiB
    local = tmp_path / "in.bin"
    local.write_bytes(data)
    d = driver(art, tmp_path)
    d.save(str(local), art)
    d.load(art, str(tmp_path / "deep" / "out.bin"))  # the local parent is made
    assert (tmp_path / "deep" / "out.bin").read_bytes() == data
    assert not Path(f"/{at.container}").exists(), "the HDFS path's parent was made locally"


def test_hdfs_user_is_the_user_the_namenode_sees(at, tmp_path, monkeypatch):
    monkeypatch.setenv(USER_ENV, "someone-from-the-environment")
    local = tmp_path / "x.txt"
    local.write_bytes(b"x")
    stranger = at("x.txt", hdfsUser="stranger")
    raises(
        Code.INTERNAL,
        "Permission denied: user=stranger",
        lambda: driver(stranger, tmp_path).save(str(local), stranger),
    )
    owner = at("x.txt")
    driver(owner, tmp_path).save(str(local), owner)
    assert at.admin.get(at.container, "x.txt") == b"x"
    assert os.environ[USER_ENV] == "someone-from-the-environment"  # restored after each call


def test_addresses_are_tried_in_order(at, tmp_path):
    art = at("ha.txt")
    at.admin.put(at.container, "ha.txt", b"ha")
    first_down = at("ha.txt", addresses=["127.0.0.1:1", art.hdfs.addresses[0]])
    driver(first_down, tmp_path).load(first_down, str(tmp_path / "ha"))
    assert (tmp_path / "ha").read_bytes() == b"ha"
    none_up = at("ha.txt", addresses=["127.0.0.1:1"])
    raises(
        Code.INTERNAL,
        "onnection refused",
        lambda: driver(none_up, tmp_path).load(none_up, str(tmp_path / "x")),
    )
