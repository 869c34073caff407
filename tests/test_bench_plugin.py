"""`artconf bench plugin` (issue 13): its schedule, and a small run end to end.

The small run is the real command (MinIO, one `artconf plugin serve`, a client per transfer)
on 8 transfers of at most 4 MiB: what is asserted is the result's shape, that every byte
arrived intact and that nothing is left running or on disk. Times are never asserted.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import psutil
import pytest

from conformance import cli
from conformance.bench_plugin import OPS, Transfer, rss_growth_bound, schedule

MIB = 2**20


def test_the_default_schedule_mixes_the_four_operations_over_1kib_to_256mib() -> None:
    plan = schedule()
    assert len(plan) == 64 and plan == schedule(), "fixed, whatever the run"
    assert {op: sum(t.op == op for t in plan) for op in OPS} == dict.fromkeys(OPS, 16)
    largest = [t for t in plan if t.size == 256 * MIB]
    assert sorted(t.op for t in largest) == sorted(OPS), "one 256 MiB transfer per operation"
    assert sum(t.size == 64 * MIB for t in plan) == 8
    assert min(t.size for t in plan) == 1024
    assert sum(t.size for t in plan) < 2.5 * 2**30
    assert len({t.key for t in plan}) == 64


def test_the_rss_bound_follows_the_design_not_the_object_size() -> None:
    assert round(rss_growth_bound(schedule()) / MIB) == 497
    # A stream of 1 GiB holds no more than one of 64 MiB: its part buffers are full either way.
    streams = [Transfer(i, "save_stream", 64 * MIB) for i in range(4)]
    larger = [Transfer(i, "save_stream", 2**30) for i in range(4)]
    assert rss_growth_bound(larger) == rss_growth_bound(streams)
    # More transfers than the server's 64 workers only queue.
    assert rss_growth_bound(schedule(64 * 4, MIB)) < rss_growth_bound(schedule(64, 256 * MIB))


def test_a_schedule_needs_every_operation_and_a_size() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        schedule(3, MIB)
    with pytest.raises(ValueError, match="at least 1024"):
        schedule(8, 10)


@pytest.mark.parametrize(
    "arguments", [["--transfers", "2"], ["--max-size", "lots"], ["--max-size", "10"]]
)
def test_bad_arguments_are_a_usage_error(arguments: list[str], tmp_path: Path) -> None:
    assert cli.main(["bench", "plugin", *arguments, "--out", str(tmp_path)]) == 2
    assert not list(tmp_path.iterdir())


def _leftovers() -> tuple[set[str], set[int]]:
    """The benchmark's temp directories, and its plugin processes still running."""
    temp = {p.name for p in Path(tempfile.gettempdir()).glob("artconf-bench-plugin-*")}
    plugins = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if "plugin" in child.cmdline() and "serve" in child.cmdline():
                plugins.add(child.pid)
        except psutil.Error:
            pass
    return temp, plugins


def test_a_small_run_moves_every_byte_intact_and_leaves_nothing(tmp_path: Path) -> None:
    temp_before, _ = _leftovers()
    out = tmp_path / "bench"
    code = cli.main(
        ["bench", "plugin", "--transfers", "8", "--max-size", "4MiB", "--out", str(out)]
    )
    [written] = list(out.glob("*-plugin-s3.json"))
    result = json.loads(written.read_text())
    assert result["errors"] == 0, result["error_messages"]
    assert result["hash_mismatches"] == 0, result["mismatch_messages"]
    assert result["data_intact"] is True
    # All start at a barrier; a small one may end before the last one begins.
    assert result["transfers"] == 8 and 1 <= result["in_flight_peak"] <= 8
    assert result["bytes"] == sum(t.size for t in schedule(8, 4 * MIB))
    assert {op: v["transfers"] for op, v in result["per_op"].items()} == dict.fromkeys(OPS, 2)
    assert sum(v["bytes"] for v in result["per_op"].values()) == result["bytes"]
    for field in ("server_rss_baseline_mib", "server_rss_peak_mib", "server_rss_growth_mib"):
        assert isinstance(result[field], (int, float)) and result[field] >= 0
    assert result["server_rss_peak_mib"] >= result["server_rss_baseline_mib"]
    bound = result["targets"]["server_rss_growth_mib_max"]
    assert bound == round(rss_growth_bound(schedule(8, 4 * MIB)) / MIB, 1)
    assert result["server_exit_code_on_sigterm"] == 0
    assert result["server_temp_bytes_peak"] == 0, "the plugin buffers nothing on disk"
    assert result["machine"]["cpus"] >= 1
    assert result["wall_seconds"] > 0
    assert result["met_targets"] is (result["server_rss_growth_mib"] <= bound)
    assert code == (0 if result["met_targets"] else 1)
    temp_after, plugins = _leftovers()
    assert temp_after <= temp_before, "the work directory is removed"
    assert not plugins, "the plugin server is stopped"
