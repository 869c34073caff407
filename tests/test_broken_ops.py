"""The operation suites catch each broken variant of tests/broken/ops.py, and only it.

Each variant breaks one behaviour of the reference driver; `artconf run` against MinIO (plain
and TLS) must fail exactly the cells written below. The delete and streaming variants (b), (c),
(d) run every suite, so they also show that no other suite depends on the broken behaviour (the
directory delete variants fail GC's directory cells too: GC deletes through them); the others
run only the suite module that owns the behaviour, to keep the run short.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.broken.ops import LEAK_PREFIX
from tests.matrix_runs import failing_cases, failing_cells, run_matrix

BOTH = ("minio", "minio-tls")
# Every suite, except the `../` keys case: MinIO refuses such object names whatever the driver
# does (minio/minio#13022), so the reference fails it there too until the MinIO profile lists it.
EVERY_SUITE = "not test_save_keeps_dot_dot_keys_verbatim"


def cells(capability: str) -> set[tuple[str, str, str]]:
    return {("s3", capability, column) for column in BOTH}


VARIANTS = {
    # name: (-k selection, failing cells, failing cases)
    "directory_delete_leaves_objects": (  # (b)
        EVERY_SUITE,
        cells("delete_directory") | cells("gc_directory"),
        {
            "test_delete::test_delete_directory_with_trailing_slash",
            "test_delete::test_delete_directory_without_trailing_slash",
            "test_delete::test_delete_directory_spares_siblings",
            "test_delete::test_delete_directory_twice_is_a_success",
            "test_directories::test_delete_directory_pages_past_1000_objects",
            "test_gc::test_gc_removes_directory_outputs",
        },
    ),
    "stream_truncated_at_1mib": (  # (c)
        EVERY_SUITE,
        cells("open_stream"),
        {
            "test_streaming::test_open_stream_gives_the_object_bytes",
            "test_streaming::test_open_stream_reads_what_save_wrote",
            "test_streaming::test_open_stream_leaves_no_temp_files",
            "test_streaming::test_open_stream_reads_what_save_stream_wrote",
        },
    ),
    "delete_removes_sibling_prefix": (  # (d)
        EVERY_SUITE,
        cells("delete_directory") | cells("gc_directory"),
        {
            "test_delete::test_delete_directory_spares_siblings",
            "test_directories::test_delete_directory_pages_past_1000_objects",
            "test_gc::test_gc_removes_directory_outputs",
        },
    ),
    # Success without deleting: every GC cell fails on the server, whatever the status says.
    # (The outputs already gone pass: there is nothing left to delete.)
    "delete_does_nothing": (
        "test_gc",
        cells("gc_file") | cells("gc_directory"),
        {"test_gc::test_gc_removes_file_outputs", "test_gc::test_gc_removes_directory_outputs"},
    ),
    "save_skips_empty_file": (
        f"test_roundtrip and {EVERY_SUITE}",
        cells("save"),
        {
            "test_roundtrip::test_save_empty_file_creates_empty_object",
            "test_roundtrip::test_save_keeps_bytes",
        },
    ),
    "list_includes_folder_markers": (
        "test_directories",
        cells("list_objects"),
        {"test_directories::test_list_objects_gives_full_keys_without_markers_or_siblings"},
    ),
    "save_stream_leaks_temp_file": (
        "test_streaming",
        cells("save_stream"),
        {
            "test_streaming::test_save_stream_leaves_no_temp_files",
            "test_streaming::test_save_stream_failing_midway_leaves_nothing",
        },
    ),
    "save_uses_base_name_key": (
        "test_keys",
        cells("save") | cells("key_format"),
        {
            "test_keys::test_output_lands_at_rendered_key_format",
            "test_keys::test_output_key_derivation",
            "test_keys::test_explicit_key_is_used_verbatim",
        },
    ),
}


def _leaked(directory: Path) -> set[Path]:
    return set(directory.glob(f"{LEAK_PREFIX}*"))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_broken_variant_fails_exactly_its_cells(variant, artconf_server, tmp_path):
    k, expected_cells, expected_cases = VARIANTS[variant]
    # The run's temp files (a leaking variant's above all) go under tmp_path, not the system's
    # temp directory; the suite's no-temp-file cases point TMPDIR at an empty one of their own.
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    before = _leaked(Path(tempfile.gettempdir()))
    result, records = run_matrix(
        artconf_server,
        tmp_path,
        target=f"python:tests.broken.ops:{variant}",
        k=k,
        env={"TMPDIR": str(tmpdir)},
    )
    assert records, f"no records written:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert failing_cells(records) == expected_cells, result.stdout[-3000:]
    assert failing_cases(records) == expected_cases
    assert result.returncode != 0
    if variant == "save_stream_leaks_temp_file":
        assert _leaked(tmpdir), "the variant leaks outside its cases' TMPDIR too"
    assert _leaked(Path(tempfile.gettempdir())) <= before, "temp files left outside tmp_path"
