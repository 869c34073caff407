"""`artconf run` checks the target's factory once per location kind before anything starts
(conformance.preflight): a factory that raises, returns None or lacks methods is one line,
exit 2, no run directory; an undeclared target's kinds are inferred and said so (issue 12)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from conformance.cli import main
from conformance.commands.common import EXIT_USAGE
from conformance.preflight import target_scope
from conformance.targets import parse_target
from tests.matrix_runs import REPO, endpoints_file

FACTORIES = """
    from drivers import new_driver


    def raising(artifact, secrets, context):
        raise RuntimeError("cannot read the config file")


    raising.kinds = ["s3"]


    def none(artifact, secrets, context):
        return None


    class Half:
        def load(self, artifact, path):
            pass


    def half(artifact, secrets, context):
        return Half()


    def s3_only(artifact, secrets, context):
        artifact.s3.access_key_secret  # AttributeError for any other kind, as many drivers do
        return new_driver(artifact, secrets, context)


    def declared(artifact, secrets, context):
        return new_driver(artifact, secrets, context)


    declared.kinds = ["gcs"]
"""


@pytest.fixture
def factories(tmp_path, monkeypatch):
    (tmp_path / "factories.py").write_text(textwrap.dedent(FACTORIES))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "python:factories"
    sys.modules.pop("factories", None)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("raising", "no usable driver for s3: the factory raised RuntimeError: cannot read"),
        (
            "none",
            "artifactory, azure, gcs, git, hdfs, http, oss, raw, s3: "
            "the driver factory returned None",
        ),
        ("half", "has no method(s) open_stream, save, save_stream, delete, list_objects"),
    ],
)
def test_an_unusable_factory_is_one_line_exit_2_and_no_run_dir(
    factories, tmp_path, capsys, name, message
):
    reports = tmp_path / "reports"
    argv = ["run", "--target", f"{factories}:{name}", "--reports", str(reports)]
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not reports.exists()


def test_an_undeclared_target_runs_the_kinds_its_factory_serves(factories):
    scope = target_scope(parse_target(f"{factories}:s3_only"), ["azure", "gcs", "s3"])
    assert scope.kinds == ("s3",)
    assert "declare `factory.kinds = ['s3']`" in scope.note


def test_declared_kinds_choose_the_run(factories):
    scope = target_scope(parse_target(f"{factories}:declared"), ["azure", "gcs", "s3"])
    assert scope.kinds == ("gcs",) and not scope.note


def test_declared_kinds_no_backend_serves_are_refused(factories, tmp_path, capsys):
    argv = ["run", "--target", f"{factories}:declared", "--backends", "minio"]
    assert main([*argv, "--reports", str(tmp_path / "reports")]) == EXIT_USAGE
    assert "none of the chosen backends does" in capsys.readouterr().err


def run_on_plain_minio(artconf_server, tmp_path, *args: str) -> subprocess.CompletedProcess:
    """`artconf run --endpoints` with a file holding only the session's plain MinIO."""
    path = endpoints_file(artconf_server, ["minio"], tmp_path / "ep.json")
    argv = [sys.executable, "-m", "conformance.cli", "run", "--endpoints", str(path)]
    argv += ["--backends", "minio", *args, "--reports", str(tmp_path / "reports"), "-n", "0"]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)


def test_endpoints_file_runs_only_the_modes_it_holds(artconf_server, tmp_path):
    """A plain `emulators up --json` file: the TLS column is not-run, with its reason, and no
    case of it is counted (it used to give one error per TLS case)."""
    result = run_on_plain_minio(artconf_server, tmp_path, "--tls", "both", "-k", "overwrites")
    assert result.returncode == 0, result.stderr[-3000:]
    latest = tmp_path / "reports" / "latest"
    meta = json.loads((latest / "run.json").read_text())
    assert meta["backends"] == ["minio"]
    assert "not in the endpoints file" in meta["not_run"]["minio-tls"]
    assert "not run: minio-tls: server minio-tls is not in the endpoints file" in result.stdout
    lines = (latest / "records.jsonl").read_text().splitlines()
    assert [json.loads(line)["mode"] for line in lines] == ["plain"]


def test_an_empty_selection_is_an_error_and_never_latest(artconf_server, tmp_path):
    result = run_on_plain_minio(artconf_server, tmp_path, "--tls", "off", "-k", "no_such_case")
    assert result.returncode == 1
    assert "the selection ran no case (check --backends, --drivers and -k)" in result.stderr
    assert not (tmp_path / "reports" / "latest").exists()
