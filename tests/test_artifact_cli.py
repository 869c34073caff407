"""`artconf artifact`: each action a subcommand, options in any order, `--target`, clear errors.

The live tests move artifacts on a plain MinIO (the `artconf_server` fixture) and check what
landed with the server's own client, never with the driver that wrote it.
"""

from __future__ import annotations

import io
import sys
import urllib.parse
from pathlib import Path

import pytest
import yaml

from conformance import cli
from conformance.commands.artifact import ACTIONS
from tests.servers import s3_client, unique_name

EXAMPLE_DRIVER = Path(__file__).resolve().parents[1] / "examples" / "minio_driver"


def artconf(*argv: str) -> int:
    return cli.main(list(argv))


# --- help and parsing (no server) ----------------------------------------------------------


@pytest.mark.parametrize("action", [a.name for a in ACTIONS])
def test_each_action_has_its_own_help_with_an_example(action, capsys):
    with pytest.raises(SystemExit) as exit_:
        artconf("artifact", action, "--help")
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: artconf artifact {action} ")
    assert "--location LOC.yaml" in out and "--target TARGET" in out
    assert "example:\n  " in out and f"artconf artifact {action} --location" in out


def test_parent_help_lists_every_action(capsys):
    with pytest.raises(SystemExit):
        artconf("artifact", "--help")
    out = capsys.readouterr().out
    for action in ACTIONS:
        assert f"    {action.name}" in out, action.name


@pytest.mark.parametrize(
    "argv",
    [
        ["save", "--location", "loc.yaml", "./out"],  # the README's order
        ["save", "./out", "--location", "loc.yaml"],
        ["load", "--secrets-dir", "s", "./out", "--location", "loc.yaml", "--target", "mine"],
    ],
)
def test_options_and_path_in_any_order(argv):
    args = cli.build_parser().parse_args(["artifact", *argv])
    assert (args.location, args.path) == ("loc.yaml", "./out")
    assert args.artifact_action.name == argv[0]
    assert args.target == ("mine" if "--target" in argv else "reference")


def test_save_without_a_path_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        artconf("artifact", "save", "--location", "loc.yaml")
    assert exit_.value.code == 2
    assert "PATH" in capsys.readouterr().err


BAD_LOCATIONS = [
    pytest.param("name: a\ns3:\n  bukket: b\n", "s3.bukket: unknown field", id="unknown-field"),
    pytest.param("name: a\ns3:\n  endpoint: 9000\n", "s3.endpoint:", id="wrong-type"),
    pytest.param("name: [\n", "invalid YAML at line", id="bad-yaml"),
    pytest.param("- name: a\n", "expected a mapping", id="a-list"),
    pytest.param("s3: {bucket: b, key: k}\n", "name", id="no-name"),
    pytest.param("name: a\n", "Unsupported artifact driver", id="no-location"),
]


@pytest.mark.parametrize(("text", "named"), BAD_LOCATIONS)
def test_bad_location_file_is_one_typed_line(tmp_path, capsys, text, named):
    loc = tmp_path / "loc.yaml"
    loc.write_text(text)
    assert artconf("artifact", "ls", "--location", str(loc)) == 2
    err = capsys.readouterr().err
    assert err.startswith("artconf: BAD_REQUEST: "), err
    assert named in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    ("make", "named"),
    [
        pytest.param(lambda p: p / "missing.yaml", "No such file", id="missing"),
        pytest.param(lambda p: p, "is a directory", id="directory"),
        pytest.param(lambda p: _write(p / "bin.yaml", b"\xff\xfe\x00"), "not UTF-8", id="binary"),
    ],
)
def test_unreadable_location_file_is_named(tmp_path, capsys, make, named):
    path = make(tmp_path)
    assert artconf("artifact", "isdir", "--location", str(path)) == 2
    err = capsys.readouterr().err
    assert f"--location {path}: {named}" in err and "Traceback" not in err


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_unknown_target_is_refused_before_any_request(tmp_path, capsys):
    loc = tmp_path / "loc.yaml"
    loc.write_text("name: a\ns3: {endpoint: 127.0.0.1:1, bucket: b, key: k, insecure: true}\n")
    code = artconf("artifact", "ls", "--location", str(loc), "--target", "python:no_such_pkg:f")
    assert code == 2
    err = capsys.readouterr().err
    assert "--target" in err and "no_such_pkg" in err and "Traceback" not in err


# --- against MinIO -------------------------------------------------------------------------


@pytest.fixture
def minio_location(artconf_server, tmp_path):
    """A location file on plain MinIO, its secrets directory, and the server's client."""
    endpoint = artconf_server("minio")
    admin = s3_client(endpoint)
    bucket = unique_name("artcli")
    admin.create_bucket(Bucket=bucket)
    secrets = tmp_path / "secrets" / "creds"
    secrets.mkdir(parents=True)
    (secrets / "accessKey").write_text(endpoint.credentials["access_key"])
    (secrets / "secretKey").write_text(endpoint.credentials["secret_key"])

    def location(key: str, **extra) -> Path:
        s3 = {
            "endpoint": f"{endpoint.host}:{endpoint.port}",
            "bucket": bucket,
            "key": key,
            "insecure": True,
            "accessKeySecret": {"name": "creds", "key": "accessKey"},
            "secretKeySecret": {"name": "creds", "key": "secretKey"},
        }
        path = tmp_path / f"loc-{len(list(tmp_path.glob('loc-*')))}.yaml"
        path.write_text(yaml.safe_dump({"name": "art", "s3": s3, **extra}))
        return path

    location.bucket = bucket
    location.admin = admin
    location.secrets_dir = str(tmp_path / "secrets")
    yield location
    for page in admin.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            admin.delete_object(Bucket=bucket, Key=item["Key"])
    admin.delete_bucket(Bucket=bucket)


def test_save_and_load_round_trip_in_both_orders(minio_location, tmp_path, capsys):
    source = tmp_path / "result.txt"
    source.write_bytes(b"round trip \x00\xff")
    loc = minio_location("runs/result.tgz")
    secrets = ("--secrets-dir", minio_location.secrets_dir)
    assert artconf("artifact", "save", "--location", str(loc), *secrets, str(source)) == 0
    assert capsys.readouterr().out.strip() == "runs/result.tgz"
    stored = minio_location.admin.get_object(Bucket=minio_location.bucket, Key="runs/result.tgz")
    assert stored["Body"].read()[:2] == b"\x1f\x8b", "the default archive is tar.gz"
    back = tmp_path / "back.txt"
    assert artconf("artifact", "load", str(back), *secrets, "--location", str(loc)) == 0
    assert back.read_bytes() == b"round trip \x00\xff"


def test_stream_list_isdir_and_rm(minio_location, tmp_path, capsysbinary, monkeypatch):
    secrets = ("--secrets-dir", minio_location.secrets_dir)
    data = b"streamed \x00\xff" * 1000
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    file_loc = minio_location("dir/stream.bin")
    assert artconf("artifact", "put-stream", "--location", str(file_loc), *secrets) == 0
    assert artconf("artifact", "cat", "--location", str(file_loc), *secrets) == 0
    assert capsysbinary.readouterr().out == data
    dir_loc = minio_location("dir")
    assert artconf("artifact", "isdir", *secrets, "--location", str(dir_loc)) == 0
    assert artconf("artifact", "ls", *secrets, "--location", str(dir_loc)) == 0
    assert capsysbinary.readouterr().out.decode().split() == ["true", "dir/stream.bin"]
    assert artconf("artifact", "rm", *secrets, "--location", str(dir_loc)) == 0
    listed = minio_location.admin.list_objects_v2(Bucket=minio_location.bucket)
    assert listed.get("KeyCount", 0) == 0


def test_missing_key_exits_3_with_the_argo_code(minio_location, tmp_path, capsys):
    loc = minio_location("never/written.bin", archive={"none": {}})
    secrets = ("--secrets-dir", minio_location.secrets_dir)
    assert artconf("artifact", "load", str(tmp_path / "x"), "--location", str(loc), *secrets) == 3
    err = capsys.readouterr().err
    assert err.startswith("artconf: NOT_FOUND: ") and "Traceback" not in err


def test_target_moves_the_artifact_with_the_authors_driver(
    minio_location, tmp_path, capsys, monkeypatch
):
    monkeypatch.syspath_prepend(str(EXAMPLE_DRIVER))
    source = tmp_path / "mine.txt"
    source.write_bytes(b"by my own driver")
    loc = minio_location("mine/mine.txt", archive={"none": {}})
    target = ("--target", "python:minio_driver:make_driver")
    secrets = ("--secrets-dir", minio_location.secrets_dir)
    assert artconf("artifact", "save", str(source), "--location", str(loc), *target, *secrets) == 0
    stored = minio_location.admin.get_object(Bucket=minio_location.bucket, Key="mine/mine.txt")
    assert stored["Body"].read() == b"by my own driver"
    # ... and the author's driver is what ran: its own error wording, not the reference's
    missing = minio_location("mine/absent.txt")
    assert artconf("artifact", "ls", "--location", str(missing), *target, *secrets) == 3
    assert "s3: no key found of name 'mine/absent.txt'" in capsys.readouterr().err


# --- HTTP, Artifactory and Raw, against nginx ------------------------------------------------


@pytest.fixture
def web_secrets(artconf_server, tmp_path):
    """nginx (plain), and its writer's credentials laid out as Argo mounts them."""
    endpoint = artconf_server("nginx")
    secrets = tmp_path / "secrets" / "web"
    secrets.mkdir(parents=True)
    (secrets / "user").write_text(endpoint.credentials["user"])
    (secrets / "password").write_text(endpoint.credentials["password"])
    return endpoint, ("--secrets-dir", str(tmp_path / "secrets"))


def test_http_save_load_cat_and_rm_says_what_argo_says(web_secrets, tmp_path, capsys):
    endpoint, secrets = web_secrets
    url = f"{endpoint.url}/dav/{unique_name('artcli')}/result.tgz"
    basic = {"usernameSecret": {"name": "web", "key": "user"}}
    basic["passwordSecret"] = {"name": "web", "key": "password"}
    loc = tmp_path / "http.yaml"
    loc.write_text(
        yaml.safe_dump({"name": "out", "http": {"url": url, "auth": {"basicAuth": basic}}})
    )
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "a.txt").write_bytes(b"over http \x00\xff")
    assert artconf("artifact", "save", "--location", str(loc), *secrets, str(tree)) == 0
    assert capsys.readouterr().out.strip() == urllib.parse.urlsplit(url).path
    back = tmp_path / "back"
    assert artconf("artifact", "load", str(back), "--location", str(loc), *secrets) == 0
    assert (back / "sub" / "a.txt").read_bytes() == b"over http \x00\xff"  # a tarball, unpacked
    assert artconf("artifact", "rm", "--location", str(loc), *secrets) == 1
    assert "delete not supported for this artifact storage" in capsys.readouterr().err
    wrong = tmp_path / "wrong" / "web"
    wrong.mkdir(parents=True)
    (wrong / "user").write_text(endpoint.credentials["user"])
    (wrong / "password").write_text("not-the-password")
    refused = ("--location", str(loc), "--secrets-dir", str(wrong.parent))
    assert artconf("artifact", "load", str(tmp_path / "x"), *refused) == 4
    assert "401 Unauthorized" in capsys.readouterr().err


def test_artifactory_and_raw_locations(web_secrets, tmp_path, capsysbinary):
    endpoint, secrets = web_secrets
    url = f"{endpoint.url}/dav/{unique_name('artcli')}/blob.bin"
    artifactory = {"url": url, "usernameSecret": {"name": "web", "key": "user"}}
    artifactory["passwordSecret"] = {"name": "web", "key": "password"}
    loc = tmp_path / "artifactory.yaml"
    loc.write_text(yaml.safe_dump({"name": "a", "artifactory": artifactory}))
    source = tmp_path / "blob.bin"
    source.write_bytes(b"artifactory \x00\xff")
    none = ("--location", str(loc), *secrets)
    assert artconf("artifact", "save", *none, str(source)) == 0
    assert capsysbinary.readouterr().out.decode().strip() == urllib.parse.urlsplit(url).path
    assert artconf("artifact", "cat", *none) == 0
    assert capsysbinary.readouterr().out[:2] == b"\x1f\x8b"  # the staged tar.gz, as stored
    raw = tmp_path / "raw.yaml"
    raw.write_text(yaml.safe_dump({"name": "r", "raw": {"data": "inline ☃ text"}}))
    assert artconf("artifact", "cat", "--location", str(raw)) == 0
    assert capsysbinary.readouterr().out == "inline ☃ text".encode()
    assert artconf("artifact", "save", "--location", str(raw), str(source)) == 2
    assert b"raw artifact does not have a key" in capsysbinary.readouterr().err
