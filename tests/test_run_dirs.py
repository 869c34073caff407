"""Run directories are exclusive: two runs never write into one, whatever their ids."""

from __future__ import annotations

import argparse
import re
import threading

import pytest

from conformance.commands import run
from conformance.commands.common import EXIT_USAGE
from conformance.commands.run import claim_run_dir, cmd_run, link_latest, new_run_id


def test_default_run_ids_sort_by_time_and_differ_within_a_millisecond():
    ids = [new_run_id() for _ in range(50)]
    assert len(set(ids)) == len(ids)
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{3}-[0-9a-f]{6}", ids[0])
    stamps = [i.rsplit("-", 1)[0] for i in ids]
    assert stamps == sorted(stamps)


def test_a_default_id_taken_in_the_same_instant_is_drawn_anew(tmp_path, monkeypatch):
    drawn = iter(["same", "same", "other"])
    monkeypatch.setattr(run, "new_run_id", lambda: next(drawn))
    assert run.claim_run(tmp_path, None, None) == ("same", tmp_path / "same")
    assert run.claim_run(tmp_path, None, None) == ("other", tmp_path / "other")
    with pytest.raises(FileExistsError):
        run.claim_run(tmp_path, "same", None)  # a given id is never replaced


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


@pytest.mark.parametrize("contents", [[], ["records.jsonl"]], ids=["empty", "with-records"])
def test_artconf_run_refuses_an_existing_run_id(tmp_path, capsys, contents):
    existing = tmp_path / "r1"
    existing.mkdir()
    for name in contents:
        (existing / name).write_text("kept\n")
    args = argparse.Namespace(run_id="r1", reports=str(tmp_path), shard=None, target="reference")
    assert cmd_run(args) == EXIT_USAGE
    assert "already exists; pick another --run-id" in capsys.readouterr().err
    assert sorted(p.name for p in existing.iterdir()) == contents  # untouched


def test_latest_points_to_the_run_that_finished_last(tmp_path):
    first, second = (claim_run_dir(tmp_path, run_id, None) for run_id in ("b-run", "a-run"))
    link_latest(tmp_path, first)
    link_latest(tmp_path, second)  # finished later, though its id sorts first
    assert (tmp_path / "latest").resolve() == second.resolve()
