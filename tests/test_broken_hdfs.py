"""The suites catch the broken HDFS driver of tests/broken/hdfs.py, and only it (issue 18).

It accepts directories where Argo's HDFS driver refuses them; `artconf run` must fail exactly
the directory-refusal cell, through its two cases, and nothing else.
"""

from __future__ import annotations

from tests.matrix_runs import failing_cases, failing_cells, run_matrix


def test_accepting_directories_fails_exactly_the_refusal_cell(artconf_server, tmp_path):
    result, records = run_matrix(
        artconf_server,
        tmp_path,
        target="python:tests.broken.hdfs:accepts_directories",
        backends=("hdfs",),
    )
    assert records, f"no records written:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert failing_cells(records) == {("hdfs", "refuses_directories", "hdfs")}, result.stdout[
        -3000:
    ]
    assert failing_cases(records) == {
        "test_directories::test_save_of_a_directory_is_refused",
        "test_directories::test_load_of_a_directory_is_refused",
    }
    assert result.returncode != 0
