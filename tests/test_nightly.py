"""The nightly workflow (.github/workflows/nightly.yml), run locally: its shard, merge and report
commands, read from the workflow itself, on a small selection give the same cells as an
unsharded run of that selection, and the report's job summary says so (no new failures).

The workflow's commands are taken from its steps (so an edit there is what runs here); only the
selection (`--backends`, `--tls`, `-k`, `-n`, `--endpoints`, `--reports`) is added, and the
GitHub expressions and shell variables are given local values.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance import report
from conformance.matrix import cells
from conformance.records import read_records
from emulators import tools
from tests.matrix_runs import REPO, endpoints_file, run_matrix, verified_cells

WORKFLOW = REPO / ".github" / "workflows" / "nightly.yml"
SHARDS = 2
GITHUB_RUN_ID = "42"
BACKENDS = ("minio", "fake-gcs")
K = "open_stream or test_buckets"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _github(template: str, **values: str) -> str:
    """`template` with each `${{ name }}` replaced by values[name], dots as underscores."""

    def value(match: re.Match) -> str:
        name = match.group(1).replace(".", "_").replace("-", "_")
        assert name in values, f"{WORKFLOW.name}: no local value for ${{{{ {match.group(1)} }}}}"
        return values[name]

    return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", value, template)


def _command(job: dict, program: str) -> str:
    """The one shell line of `job` that runs `.venv/bin/artconf <program>` (continuations
    joined)."""
    found = []
    for step in job["steps"]:
        script = step.get("run", "").replace("\\\n", " ")
        found += [
            " ".join(line.split())
            for line in script.splitlines()
            if line.strip().startswith(f".venv/bin/artconf {program}")
        ]
    assert len(found) == 1, f"{WORKFLOW.name}: expected one `artconf {program}` line: {found}"
    return found[0]


def _argv(line: str, variables: dict[str, str], arrays: dict[str, list[str]]) -> list[str]:
    """The argument list bash would run for `line`: "$X" from variables, "${a[@]}" from arrays,
    the kit's artconf in place of .venv/bin/artconf."""
    argv: list[str] = []
    for word in shlex.split(line):
        array = re.fullmatch(r"\$\{(\w+)\[@\]\}", word)
        if array:
            argv += arrays[array.group(1)]
            continue
        argv.append(re.sub(r"\$(\w+)|\$\{(\w+)\}", lambda m: variables[m[1] or m[2]], word))
    assert argv[0] == ".venv/bin/artconf"
    return [sys.executable, "-m", "conformance.cli", *argv[1:]]


def _artconf(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run in `cwd` as the job runs in its checkout: the workflow's relative paths land there."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("ARTCONF_REQUIRE", None)  # `artconf run` requires exactly its backends
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, cwd=cwd)


def _state_of_cells(records) -> dict[tuple[str, str, str], str]:
    table = cells(records)
    return {(row.driver, row.capability, row.column): row.state for row in table.itertuples()}


def test_actionlint_of_the_bootstrap_passes_the_workflows():
    """`make lint` runs the same binary: the pinned actionlint, built into the tool cache."""
    binary = tools.binary("actionlint")
    assert tools.go_module_version(binary) == tools.ACTIONLINT_VERSION
    workflows = sorted(str(p) for p in (REPO / ".github" / "workflows").glob("*.yml"))
    assert str(WORKFLOW) in workflows
    result = subprocess.run([binary, *workflows], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_runs_the_shard_merge_report_path(workflow):
    """What the local run below relies on: the jobs, their order and their commands."""
    jobs = workflow["jobs"]
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}  # YAML 1.1 reads `on` as True
    assert workflow["permissions"] == {"contents": "read", "actions": "read"}
    assert jobs["merge"]["needs"] == "shard" and jobs["merge"]["if"] == "always()"
    assert (
        _command(jobs["shard"], "run")
        == '.venv/bin/artconf run --shard "$SHARD" --run-id "$RUN_ID"'
    )
    assert _command(jobs["merge"], "merge").startswith(
        '.venv/bin/artconf merge --out "reports/$RUN_ID"'
    )
    report = _command(jobs["merge"], "report")
    for option in ("--previous", "--out", '--summary-md "$GITHUB_STEP_SUMMARY"'):
        assert option in report + " ".join(s.get("run", "") for s in jobs["merge"]["steps"])
    uploads = [s for s in jobs["shard"]["steps"] if s.get("uses", "").startswith("actions/upload")]
    assert [s["with"]["path"] for s in uploads] == ["${{ env.SHARD_DIR }}"]
    assert uploads[0]["if"] == "always()"  # a failing shard's records still reach the merge


def test_sharded_merged_and_reported_as_the_workflow_does_equals_one_run(
    artconf_server, tmp_path, workflow
):
    jobs = workflow["jobs"]
    run_id = _github(workflow["env"]["RUN_ID"], github_run_id=GITHUB_RUN_ID)
    reports = tmp_path / "reports"
    keys = list(BACKENDS)
    endpoints = endpoints_file(artconf_server, keys, tmp_path / "endpoints.json")
    selection = ["--backends", ",".join(BACKENDS), "--tls", "off", "-k", K, "-n", "0"]
    selection += ["--endpoints", str(endpoints), "--reports", str(reports)]

    # The shard jobs: one `artconf run --shard I/N` each, into the directory the job uploads.
    shard_dirs = []
    for index in range(1, SHARDS + 1):
        values = dict(
            matrix_shard=str(index), strategy_job_total=str(SHARDS), github_run_id=GITHUB_RUN_ID
        )
        env = {name: _github(text, **values) for name, text in jobs["shard"]["env"].items()}
        argv = _argv(_command(jobs["shard"], "run"), {**env, "RUN_ID": run_id}, {})
        result = _artconf(argv + selection, tmp_path)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        shard_dir = tmp_path / env["SHARD_DIR"]
        assert shard_dir.is_dir(), f"the shard wrote no {env['SHARD_DIR']} for the upload"
        assert read_records(shard_dir / "records.jsonl"), f"shard {index} ran no case"
        shard_dirs.append(str(shard_dir))

    # The merge job: `artconf merge` of the downloaded shards, then the report and its summary.
    variables = {"RUN_ID": run_id, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    merge = _argv(_command(jobs["merge"], "merge"), variables, {"found": shard_dirs})
    result = _artconf(merge, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    merged = read_records(reports / run_id / "records.jsonl")

    (tmp_path / "whole").mkdir()
    # The same selection unsharded, in its own reports directory: the same cells, state by state.
    whole_result, whole = run_matrix(
        artconf_server, tmp_path / "whole", backends=BACKENDS, tls="off", k=K, workers="0",
        shared_servers=True,
    )  # fmt: skip
    assert whole_result.returncode == 0, whole_result.stderr[-3000:]
    assert sorted(r.case for r in merged) == sorted(r.case for r in whole)
    assert _state_of_cells(merged) == _state_of_cells(whole)
    assert verified_cells(merged) == verified_cells(whole) != set()

    # The report of the merged run against the unsharded one as "the previous night".
    previous = str(tmp_path / "whole" / "reports" / "latest")
    report = _argv(
        _command(jobs["merge"], "report"), variables, {"previous": ["--previous", previous]}
    )
    result = _artconf(report, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "report.html").stat().st_size > 0
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith(f"## Conformance run {run_id}: all cells pass or are declared\n")
    assert f"{len(whole)} cases, " in summary
    assert f": {len(verified_cells(whole))} verified," in summary
    assert "0 new failures, 0 fixes, 0 declaration changes" in summary
    assert "### No new failures" in summary


def test_the_summary_lists_the_new_failures_since_the_previous_run(tmp_path):
    """`artconf report --summary-md`: the headline, then the report's own diff (new failures
    only as rows, pipes escaped); without a previous run it says there is nothing to compare."""
    from conformance.cli import main
    from conformance.report.summary import _cell, summary_markdown
    from tests.test_report_diff import _write

    before = _write(tmp_path, "r1", {"load": "pass", "save": "pass", "delete": "fail"})
    now = _write(tmp_path, "r2", {"load": "fail", "save": "pass", "delete": "pass"})
    assert _cell("a | b\n c") == "a \\| b c"  # one Markdown table cell
    first = summary_markdown(report.load_run(before), None)
    assert first.startswith("## Conformance run r1: 1 failing cell\n")
    assert "No previous run to compare with" in first and "New failures" not in first

    out = tmp_path / "summary.md"
    out.write_text("earlier step\n")  # a job summary is appended to, never overwritten
    html = tmp_path / "r2.html"
    argv = ["report", str(now), "--previous", str(before), "--out", str(html)]
    assert main([*argv, "--summary-md", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("earlier step\n## Conformance run r2: 1 failing cell\n")
    assert "3 cases, " in text and "Compared with r1: 1 new failures, 1 fixes, " in text
    assert "### New failures (1)\n" in text
    rows = [line for line in text.splitlines() if line.startswith("| s3 ")]
    assert rows == ["| s3 | load | minio | failed | verified | AssertionError: load differs |"]
    assert f"`{html}`" in text
