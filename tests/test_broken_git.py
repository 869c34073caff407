"""The Git suite catches each broken variant of tests/broken/git.py, and only it (issue 17).

Each variant ignores one setting of the reference Git driver; `artconf run` of the Git suite
must fail exactly the cells written below, on the transports that can show them.
"""

from __future__ import annotations

import pytest

from tests.matrix_runs import failing_cases, failing_cells, run_matrix

ALL = ("git-http", "git-http-tls", "git-daemon", "git-ssh")


def cells(capability: str, columns=ALL) -> set[tuple[str, str, str]]:
    return {("git", capability, column) for column in columns}


VARIANTS = {
    # name: (backends, failing cells, failing cases)
    "ignores_depth": (
        ("git-http", "git-daemon", "git-ssh"),
        cells("clone_depth"),
        {"test_clones::test_depth_keeps_that_many_commits"},
    ),
    "ignores_revision": (
        ("git-http", "git-daemon", "git-ssh"),
        cells("clone_revision"),
        {
            "test_clones::test_revision_is_checked_out",
            "test_clones::test_a_fetched_ref_can_be_the_revision",
        },
    ),
    "skips_host_key_check": (
        ("git-ssh",),
        cells("ssh_host_key_check", ("git-ssh",)),
        {"test_clones::test_an_unknown_host_key_is_refused"},
    ),
    "never_recurses_submodules": (
        ("git-http", "git-daemon", "git-ssh"),
        cells("clone_submodules"),
        {
            "test_clones::test_submodules_are_cloned_recursively",
            "test_clones::test_relative_submodule_urls_follow_the_superproject",
        },
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_broken_variant_fails_exactly_its_cells(variant, artconf_server, tmp_path):
    backends, cells_, cases = VARIANTS[variant]
    result, records = run_matrix(
        artconf_server,
        tmp_path,
        target=f"python:tests.broken.git:{variant}",
        backends=backends,
        k="test_clones",
    )
    assert records, f"no records written:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    expected = {c for c in cells_ if c[2] in _columns(backends)}
    assert failing_cells(records) == expected, result.stdout[-3000:]
    assert failing_cases(records) == cases
    assert result.returncode != 0


def _columns(backends: tuple[str, ...]) -> set[str]:
    """The matrix columns of `backends` in both modes (git-http also runs with TLS)."""
    return {b for b in backends} | {f"{b}-tls" for b in backends if b == "git-http"}
