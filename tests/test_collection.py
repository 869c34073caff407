"""Collection is deterministic: every process collects the same node ids in the same order.

pytest-xdist collects in each worker and refuses to run when the lists differ ("Different tests
were collected between gw0 and gw1"). An id built from the time (a gzip header's mtime), from
randomness, from object addresses or from set order differs between processes; collecting twice,
in two processes with different hash seeds and more than a second apart, shows it.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Variables of the outer run that would change how the inner one collects or reports.
_OUTER_RUN_PREFIXES = ("PYTEST_ADDOPTS", "PYTEST_XDIST_", "PYTEST_CURRENT_TEST", "COV_CORE_")


def collected(args: list[str], hash_seed: str) -> list[str]:
    """The node ids ``pytest --collect-only`` prints for ``args``, in order."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUTER_RUN_PREFIXES)}
    env["PYTHONHASHSEED"] = hash_seed
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"collection failed:\n{result.stdout[-3000:]}{result.stderr}"
    return [line for line in result.stdout.splitlines() if "::" in line]


def assert_same(first: list[str], second: list[str]) -> None:
    if first == second:
        return
    diff = difflib.unified_diff(first, second, "first", "second", n=1, lineterm="")
    pytest.fail("the two collections differ:\n" + "\n".join(list(diff)[:80]), pytrace=False)


@pytest.mark.parametrize(
    "args",
    [
        ["tests"],
        # The suites are collected only for a target; collection alone starts no server.
        ["--artconf-target", "reference", "--pyargs", "conformance.suites"],
    ],
    ids=["kit-tests", "conformance-suites"],
)
def test_collection_is_the_same_in_every_process(args: list[str]) -> None:
    first = collected(args, hash_seed="1")
    time.sleep(1.1)  # a timestamp with one-second resolution now differs
    second = collected(args, hash_seed="2")
    assert len(first) > 100
    assert_same(first, second)


def test_a_time_dependent_id_is_caught(tmp_path: Path) -> None:
    """The check itself: an id made from gzip bytes (mtime in the header) is reported."""
    (tmp_path / "test_timed.py").write_text(
        "import gzip\n"
        "import pytest\n\n"
        "@pytest.mark.parametrize('data', [gzip.compress(b'x')])\n"
        "def test_x(data):\n"
        "    pass\n"
    )
    args = ["--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)]
    first = collected(args, hash_seed="1")
    time.sleep(1.1)
    second = collected(args, hash_seed="1")
    assert len(first) == 1
    with pytest.raises(pytest.fail.Exception, match="the two collections differ"):
        assert_same(first, second)
