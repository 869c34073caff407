"""Run directories (conformance.rundir): exclusive creation, the writer, the partial marker,
merging shards. Two runs never write into one, whatever their ids."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import threading
from pathlib import Path

import pytest

from conformance import rundir
from conformance.cli import main
from conformance.commands.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from conformance.commands.run import cmd_run, mark_partial
from conformance.records import Record, read_records
from conformance.rundir import RunWriter, claim_run_dir, link_latest, new_run_id

REPO = Path(__file__).resolve().parent.parent
PROFILES = REPO / "emulators" / "profiles"
PROFILE_FILES = sorted(PROFILES.glob("*.yaml"))
DEVIATIONS = REPO / "drivers" / "core" / "deviations.yaml"


def test_default_run_ids_sort_by_time_and_differ_within_a_millisecond():
    ids = [new_run_id() for _ in range(50)]
    assert len(set(ids)) == len(ids)
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{3}-[0-9a-f]{6}", ids[0])
    stamps = [i.rsplit("-", 1)[0] for i in ids]
    assert stamps == sorted(stamps)


def test_a_default_id_taken_in_the_same_instant_is_drawn_anew(tmp_path, monkeypatch):
    drawn = iter(["same", "same", "other"])
    monkeypatch.setattr(rundir, "new_run_id", lambda: next(drawn))
    assert rundir.claim_run(tmp_path, None, None) == ("same", tmp_path / "same")
    assert rundir.claim_run(tmp_path, None, None) == ("other", tmp_path / "other")
    with pytest.raises(FileExistsError):
        rundir.claim_run(tmp_path, "same", None)  # a given id is never replaced


def test_a_run_directory_is_claimed_once_even_by_concurrent_runs(tmp_path):
    claimed, refused = [], []

    def claim() -> None:
        try:
            claimed.append(claim_run_dir(tmp_path, "nightly", "1/2"))
        except FileExistsError:
            refused.append(True)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert claimed == [tmp_path / "nightly-shard1of2"]
    assert len(refused) == 7


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target", "python:nosuchpkg_xyz.driver:make"], "set PYTHONPATH=<that directory>"),
        (["--target", "mystery"], "expected `reference`, `python:package.module:callable`"),
        (["--backends", "minio,nosuch"], "--backends: unknown nosuch; choose from"),
    ],
    ids=["unimportable", "unknown-scheme", "unknown-backend"],
)
def test_artconf_run_refuses_a_bad_target_or_backend_before_claiming_a_directory(
    tmp_path, capsys, argv, message
):
    reports = tmp_path / "reports"
    assert main(["run", *argv, "--reports", str(reports)]) == EXIT_USAGE
    assert message in capsys.readouterr().err
    assert not reports.exists()  # no run directory, and no server was needed to find out


@pytest.mark.parametrize("contents", [[], ["records.jsonl"]], ids=["empty", "with-records"])
def test_artconf_run_refuses_an_existing_run_id(tmp_path, capsys, contents):
    existing = tmp_path / "r1"
    existing.mkdir()
    for name in contents:
        (existing / name).write_text("kept\n")
    args = argparse.Namespace(
        run_id="r1", reports=str(tmp_path), shard=None, target="reference", declaration=None
    )
    assert cmd_run(args) == EXIT_USAGE
    assert "already exists; pick another --run-id" in capsys.readouterr().err
    assert sorted(p.name for p in existing.iterdir()) == contents  # untouched


def test_latest_points_to_the_run_that_finished_last(tmp_path):
    first, second = (claim_run_dir(tmp_path, run_id, None) for run_id in ("b-run", "a-run"))
    link_latest(tmp_path, first)
    link_latest(tmp_path, second)  # finished later, though its id sorts first
    assert (tmp_path / "latest").resolve() == second.resolve()


def rec(case: str, outcome: str = "pass", run_id: str = "r1", **kw) -> Record:
    fields = dict(
        run_id=run_id, kit_sha="abc", target="reference", driver="s3", backend="minio",
        mode="plain", capability="load", case=case, case_id=f"{case}[s3-minio]", outcome=outcome,
    )  # fmt: skip
    return Record(**{**fields, **kw})


def test_the_writer_journals_each_record_at_once_then_writes_the_run(tmp_path):
    run_dir = tmp_path / "r1"
    with RunWriter(run_dir) as writer:
        writer.journal(rec("a"))
        writer.journal(rec("b", "fail"))
        # flushed at once: a run killed now keeps both cases
        assert [r.case for r in read_records(run_dir / "records.jsonl")] == ["a", "b"]
        assert writer.copy_log("minio", "first part\n") == "logs/minio.log"
        assert writer.copy_log("minio", "the whole log\n") == "logs/minio.log"
        meta = {"run_id": "r1", "target": "reference", "shard": ""}
        path = writer.finish(
            [rec("a"), rec("b", "fail", log="logs/minio.log")],
            meta,
            shard=None,
            profiles=PROFILE_FILES,
            deviations_path=DEVIATIONS,
        )
    assert path == run_dir / "run.json"
    assert json.loads(path.read_text()) == meta
    assert (run_dir / "logs" / "minio.log").read_text() == "the whole log\n"
    assert sorted(p.name for p in (run_dir / "profiles").iterdir()) == [
        p.name for p in PROFILE_FILES
    ]
    run = rundir.load_run(run_dir)
    assert not run.warnings and run.deviations and "minio" in run.profiles
    assert run.log_path(run.records[1]) == run_dir / "logs" / "minio.log"
    assert not [p for p in run_dir.rglob(".*")]  # no temporary file left behind


def test_a_shard_writes_its_own_meta_and_an_interrupted_run_is_marked_partial(tmp_path):
    run_dir = tmp_path / "r1-shard2of3"
    writer = RunWriter(run_dir)
    path = writer.finish(
        [rec("a")], {"run_id": "r1", "shard": "2/3"}, shard=(2, 3),
        profiles=PROFILE_FILES, deviations_path=DEVIATIONS, interrupted_by="SIGTERM",
    )  # fmt: skip
    writer.close()
    assert path.name == "run-2of3.json" == rundir.meta_name("2/3")
    assert json.loads(path.read_text())["partial"] is True
    run = rundir.load_run(run_dir)
    assert run.partial and run.warnings[0] == rundir.partial_note({"interrupted_by": "SIGTERM"})


def test_profiles_of_two_directories_with_one_file_name_are_both_kept(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    text = (PROFILES / "minio.yaml").read_text()
    (extra / "minio.yaml").write_text("backend: minio-ec\n" + text)
    run_dir = tmp_path / "r1"
    RunWriter(run_dir).finish(
        [rec("a")], {"run_id": "r1"}, shard=None,
        profiles=[PROFILES / "minio.yaml", extra / "minio.yaml"], deviations_path=DEVIATIONS,
    )  # fmt: skip
    assert sorted(p.name for p in (run_dir / "profiles").iterdir()) == [
        "minio.2.yaml",
        "minio.yaml",
    ]
    assert set(rundir.load_run(run_dir).profiles) == {"minio", "minio-ec"}  # by backend


@pytest.mark.parametrize("key", ["", "../up", "a/b", ".hidden"])
def test_a_log_key_names_one_file_in_logs(tmp_path, key):
    with pytest.raises(ValueError, match="names one log file"):
        RunWriter(tmp_path).copy_log(key, "text")


def test_mark_partial_writes_a_minimal_meta_or_marks_the_existing_ones(tmp_path):
    args = argparse.Namespace(target="reference", shard="1/2")
    mark_partial(args, tmp_path, "r1", "SIGKILL")  # pytest was killed before writing any
    assert json.loads((tmp_path / "run-1of2.json").read_text()) == {
        "run_id": "r1", "target": "reference", "shard": "1/2",
        "partial": True, "interrupted_by": "SIGKILL",
    }  # fmt: skip
    (tmp_path / "run-1of2.json").write_text(json.dumps({"run_id": "r1", "kit_sha": "abc"}))
    mark_partial(args, tmp_path, "r1", "pytest crashed")
    assert json.loads((tmp_path / "run-1of2.json").read_text()) == {
        "run_id": "r1", "kit_sha": "abc", "partial": True, "interrupted_by": "pytest crashed",
    }  # fmt: skip


def _shard(reports: Path, index: int, cases: list[str], run_id: str = "nightly") -> Path:
    run_dir = claim_run_dir(reports, run_id, f"{index}/2")
    with RunWriter(run_dir) as writer:
        log = writer.copy_log(f"minio-{index}", f"log of shard {index}\n")
        writer.finish(
            [rec(c, "fail", run_id=run_id, log=log) for c in cases],
            {"run_id": run_id, "shard": f"{index}/2", "duration_seconds": float(index)},
            shard=(index, 2), profiles=PROFILE_FILES, deviations_path=DEVIATIONS,
        )  # fmt: skip
    return run_dir


def test_merge_joins_the_shards_of_one_run(tmp_path, capsys):
    reports = tmp_path / "reports"
    shards = [_shard(reports, 1, ["a", "b"]), _shard(reports, 2, ["c"])]
    assert main(["merge", *map(str, shards)]) == EXIT_OK
    merged = reports / "nightly"
    assert f"merged 3 records into {merged}" in capsys.readouterr().err
    run = rundir.load_run(merged)
    assert sorted(r.case for r in run.records) == ["a", "b", "c"]
    assert sorted(p.name for p in merged.glob("run*.json")) == ["run-1of2.json", "run-2of2.json"]
    assert (run.meta["shard"], run.meta["duration_seconds"]) == ("1/2, 2/2", 2.0)
    assert all(run.log_path(r) is not None for r in run.records)
    assert run.profiles and run.deviations and not run.warnings


def test_merge_refuses_shards_of_two_runs_and_a_shard_without_records(tmp_path, capsys):
    reports = tmp_path / "reports"
    one, other = _shard(reports, 1, ["a"]), _shard(reports, 2, ["b"], run_id="other")
    with pytest.raises(rundir.RunDirError, match="mixed run ids"):
        rundir.merge_runs([one, other])
    assert main(["merge", str(one), str(other)]) == EXIT_FAILED
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(rundir.NotARunDir, match="no records in"):
        rundir.merge_runs([one, empty])
    assert main(["merge", str(one), str(empty)]) == EXIT_USAGE
    assert not (reports / "nightly").exists()  # nothing written by a refused merge


@pytest.mark.parametrize(("status", "reported", "expected"), [(1, 0, 1), (0, 1, 1), (0, 0, 0)])
def test_run_report_is_rendered_whatever_the_run_status(monkeypatch, status, reported, expected):
    from conformance.commands import report as report_command
    from conformance.commands import run as run_command

    calls = []
    monkeypatch.setattr(report_command, "cmd_report", lambda args: calls.append(args) or reported)
    assert run_command.render_report(Path("reports/r1"), status) == expected
    assert [c.run_dirs for c in calls] == [["reports/r1"]]  # also after failing cells


def test_run_report_renders_through_the_report_command(tmp_path, capsys):
    """`artconf run --report` (what `make report` does) hands the report command every option
    it reads: an option added to `artconf report` must not break the run's report."""
    from conformance.commands.run import render_report

    runs = REPO / "tests" / "fixtures" / "runs"
    run_dir = tmp_path / "run"
    shutil.copytree(max(runs.iterdir()), run_dir)
    assert render_report(run_dir, 0) == 0
    assert (run_dir / "report.html").is_file()
