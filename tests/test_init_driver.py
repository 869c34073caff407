"""`artconf init-driver KIND DIR`: a skeleton that constructs, declares Argo's set, never
overwrites, and runs through `artconf run` to clean failures (no crash of the kit)."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import cli
from conformance.capabilities import argo_capabilities
from conformance.targets import DRIVER_METHODS, parse_target
from drivers.core.context import DriverContext
from drivers.core.errors import Code, Unimplemented
from drivers.core.model import parse_artifact
from drivers.core.secrets import MemorySecretSource

ROOT = Path(__file__).resolve().parents[1]
ARTCONF = [sys.executable, "-m", "conformance.cli"]
LOCATIONS = {
    "s3": {"s3": {"endpoint": "127.0.0.1:9", "bucket": "b", "key": "k", "insecure": True}},
    "gcs": {"gcs": {"bucket": "b", "key": "k"}},
    "azure": {"azure": {"endpoint": "http://127.0.0.1:9/a", "container": "c", "blob": "k"}},
}


@pytest.mark.parametrize("kind", sorted(LOCATIONS))
def test_skeleton_declares_argos_set_and_every_method_is_a_todo(kind, tmp_path, monkeypatch):
    directory = tmp_path / f"skel-{kind}"
    assert cli.main(["init-driver", kind, str(directory)]) == 0
    package = f"skel_{kind}"
    assert (directory / "README.md").is_file() and (directory / "pyproject.toml").is_file()
    monkeypatch.syspath_prepend(str(directory))
    target = parse_target(f"python:{package}.driver:make_driver")
    factory = target.factory
    assert factory.kinds == [kind]
    assert target.capabilities(kind) == argo_capabilities(kind) != frozenset()
    artifact = parse_artifact({"name": "a", **LOCATIONS[kind]})
    driver = target.new_driver(artifact, MemorySecretSource({}), DriverContext())
    source = inspect.getsource(importlib.import_module(f"{package}.driver"))
    arguments = {"load": [artifact, "x"], "save": ["x", artifact], "save_stream": [None, artifact]}
    for name in DRIVER_METHODS:
        method = getattr(driver, name)
        with pytest.raises(Unimplemented) as raised:
            method(*arguments.get(name, [artifact]))
        assert raised.value.code is Code.NOT_IMPLEMENTED
        assert f"{package}: {name} is not written yet" in str(raised.value)
        body = source.split(f"    def {name}(", 1)[1].split("    def ", 1)[0]
        assert "# TODO: " in body, f"{name} has no TODO line"
    readme = (directory / "README.md").read_text()
    assert f"--target python:{package}.driver:make_driver" in readme
    sys.modules.pop(f"{package}.driver", None)
    sys.modules.pop(package, None)


def test_existing_files_are_never_overwritten(tmp_path, capsys):
    directory = tmp_path / "mine"
    assert cli.main(["init-driver", "s3", str(directory)]) == 0
    driver = directory / "mine" / "driver.py"
    driver.write_text("# my work\n")
    (directory / "README.md").unlink()
    capsys.readouterr()
    assert cli.main(["init-driver", "s3", str(directory)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("artconf: error: DIR ") and str(driver) in err
    assert "nothing was written" in err and "Traceback" not in err
    assert driver.read_text() == "# my work\n"
    assert not (directory / "README.md").exists(), "a refused run wrote some of the files"


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        pytest.param(["init-driver", "ftp", "d"], "KIND 'ftp': unknown; known kinds: ", id="kind"),
        pytest.param(["init-driver", "s3", "FILE"], "exists and is not a directory", id="file"),
    ],
)
def test_bad_kind_or_dir_is_one_line(argv, named, tmp_path, capsys):
    (tmp_path / "FILE").write_text("x")
    argv = [str(tmp_path / a) if a in ("d", "FILE") else a for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1


def test_skeleton_runs_through_the_matrix_to_clean_failures(tmp_path):
    """One suite on plain MinIO: the skeleton preflights, every case fails or skips cleanly."""
    directory = tmp_path / "skeleton_run"
    assert cli.main(["init-driver", "s3", str(directory)]) == 0
    reports = tmp_path / "reports"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(directory), str(ROOT)])}
    command = [
        *ARTCONF, "run", "--target", "python:skeleton_run.driver:make_driver",
        "--backends", "minio", "--tls", "off", "-k", "test_delete", "-n", "0",
        "--reports", str(reports),
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert "Traceback" not in output and "INTERNALERROR" not in output
    runs = [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1, runs
    records = [json.loads(line) for line in (runs[0] / "records.jsonl").read_text().splitlines()]
    assert records, "the run recorded no case"
    outcomes = {r["outcome"] for r in records}
    assert outcomes <= {"fail", "skip"} and "fail" in outcomes, outcomes
    for record in records:
        if record["outcome"] == "fail":
            assert "is not written yet" in record["reason"], record["case_id"]
    assert {r["driver"] for r in records} == {"s3"}
