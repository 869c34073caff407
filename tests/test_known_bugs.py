"""A server's known bug absorbs only the failure it declares, never a driver's own exception
(issue 12): the kit's acceptance case, through `artconf run` against a real MinIO."""

from __future__ import annotations

import textwrap

from tests.matrix_runs import REPO, run_matrix

DOT_REFUSING = '''
    from drivers import new_driver


    class DotRefusing:
        """The reference driver, except that save refuses `..` itself, with a ValueError."""

        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def save(self, path, artifact):
            if ".." in artifact.s3.key:
                raise ValueError(f"keys with '..' are not allowed: {artifact.s3.key}")
            return self.inner.save(path, artifact)


    def make(artifact, secrets, context):
        return DotRefusing(new_driver(artifact, secrets, context))


    make.capabilities = {"s3": ["save", "load"]}
'''


def _run(artconf_server, tmp_path, target, pythonpath):
    return run_matrix(
        artconf_server,
        tmp_path,
        target=target,
        backends=("minio",),
        tls="off",
        k="dot_dot",
        workers="0",
        env={"PYTHONPATH": pythonpath},
        shared_servers=True,
    )


def test_minio_known_bug_does_not_absorb_a_drivers_value_error(artconf_server, tmp_path):
    (tmp_path / "dotbug.py").write_text(textwrap.dedent(DOT_REFUSING))
    result, records = _run(artconf_server, tmp_path, "python:dotbug:make", f"{REPO}:{tmp_path}")
    assert result.returncode == 1, result.stderr[-2000:]
    assert [r.outcome for r in records] == ["fail", "fail"], [r.reason for r in records]
    for record in records:
        assert "ValueError: keys with '..' are not allowed" in record.reason
        assert "not the declared failure" in record.reason


def test_minio_known_bug_absorbs_the_servers_refusal(artconf_server, tmp_path):
    """The same cases with drivers that send the name to MinIO: its refusal is the bug."""
    for index, target in enumerate(("reference", "python:minio_driver:make_driver")):
        (tmp_path / str(index)).mkdir()
        result, records = _run(
            artconf_server,
            tmp_path / str(index),
            target,
            f"{REPO}:{REPO / 'examples/minio_driver'}",
        )
        assert result.returncode == 0, (target, result.stderr[-2000:])
        assert [r.outcome for r in records] == ["xfail", "xfail"], (target, records)
