"""`artconf run`'s terminal output for a failing driver: progress, the grid, the failures grouped
by (capability, cause), one summary line; pytest's tracebacks only when asked for (`--tb`, `-v`).

Each run is a few dozen cases on the session's plain MinIO (shared through an endpoints file).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.matrix_runs import REPO, endpoints_file

# The reference S3 driver, except that `load` raises a plain ValueError: every load case fails
# with one cause, every save case passes.
LOAD_RAISES = """
from drivers import new_driver


class LoadRaises:
    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def load(self, artifact, path):
        raise ValueError("planted: load is broken")


def make(artifact, secrets, context):
    return LoadRaises(new_driver(artifact, secrets, context))


make.kinds = ["s3"]
"""
SELECTION = "test_load_ or test_save_file_lands_at_its_key"
HEADER = re.compile(r"^([FXE]) (\w+) x(\d+)  (\S.*)$")  # interface 3's group line
MAX_LINES = 200  # the acceptance: a failing run fits in 200 terminal lines


def run(artconf_server, tmp_path: Path, *extra: str) -> tuple[int, list[str]]:
    """`artconf run` of the LOAD_RAISES driver; its exit status and stdout+stderr lines."""
    package = tmp_path / "pkg" / "load_raises"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(LOAD_RAISES)
    argv = [
        sys.executable, "-m", "conformance.cli", "run",
        "--target", "python:load_raises:make",
        "--backends", "minio", "--tls", "off", "-n", "0", "-k", SELECTION,
        "--endpoints", str(endpoints_file(artconf_server, ["minio"], tmp_path / "ep.json")),
        "--reports", str(tmp_path / "reports"),
        *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path / "pkg")])}
    env.pop("ARTCONF_REQUIRE", None)
    result = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=900, stdin=subprocess.DEVNULL
    )
    return result.returncode, (result.stdout + result.stderr).splitlines()


@pytest.fixture(scope="module")
def default_output(artconf_server, tmp_path_factory) -> tuple[int, list[str]]:
    return run(artconf_server, tmp_path_factory.mktemp("default"))


def test_failures_are_grouped_with_the_first_case_and_a_hint(default_output):
    status, lines = default_output
    assert status == 1, "\n".join(lines[-30:])
    (summary,) = [i for i, line in enumerate(lines) if line.startswith("failures: ")]
    match = re.fullmatch(
        r"failures: (\d+) cases in (\d+) groups \(by capability and cause\); first case of each:",
        lines[summary],
    )
    assert match, lines[summary]
    groups = [HEADER.match(line) for line in lines[summary + 1 :]]
    groups = [g for g in groups if g]
    assert len(groups) == int(match[2])
    assert sum(int(g[3]) for g in groups) == int(match[1])
    # Every load case fails for one reason; the negative ones ("expected ERR_NOT_FOUND, got
    # ...") say so differently and are a group of their own. The largest group comes first.
    load = [g for g in groups if g[2] == "load" and "planted: load is broken" in g[4]]
    assert load and load[0] is groups[0] and load[0][1] == "F", [g[0] for g in groups]
    assert int(load[0][3]) >= 10  # one group for the many cases, not a line each
    at = lines.index(load[0][0])
    assert re.match(r"^    first: \S+::test_load_\w+\[s3-minio[^\]]*\]: \S", lines[at + 1])
    assert "(spec " in lines[at + 1]
    assert lines[at + 2].startswith("    hint: load must raise a drivers.core.errors.ArtifactError")
    assert not any(g[2] == "save" for g in groups)  # the save case passed


def test_default_output_is_bounded_and_has_no_tracebacks(default_output):
    _, lines = default_output
    print(f"default output: {len(lines)} lines")  # a number to report, not a timing
    assert len(lines) <= MAX_LINES
    text = "\n".join(lines)
    assert "Traceback (most recent call last)" not in text
    assert "def test_" not in text
    assert "= FAILURES =" not in text and "short test summary" not in text
    assert lines[-1].startswith("artconf: ") and " fail" in lines[-1]  # the one summary line


def test_tb_short_passes_through_to_pytest(artconf_server, tmp_path):
    status, lines = run(artconf_server, tmp_path, "--tb=short")
    assert status == 1
    text = "\n".join(lines)
    assert "= FAILURES =" in text
    assert re.search(r"^E\s+.*planted: load is broken", text, re.M), text[-3000:]
    assert any(HEADER.match(line) for line in lines)  # the grouped list follows all the same
