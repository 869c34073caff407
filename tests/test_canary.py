"""Canary: with fixed secret values, no output of a run contains any of them in any encoding."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

from drivers import new_driver
from tests.matrix_runs import REPO

# Values with characters that URL-encoding changes, so each encoding is a distinct needle.
FIXED = {
    "minio": {"secret_key": "canary+minio/root=1", "user_secret_key": "canary+minio/user=2"},
    "moto": {"secret_key": "canary+moto/key=3"},
    "azurite": {
        "account_key": base64.b64encode(b"canary-azurite-account-key-64-bytes" * 2).decode()
    },
}


def needles() -> dict[str, str]:
    found = {}
    for server, fields in FIXED.items():
        for name, value in fields.items():
            raw = value.encode()
            found[f"{server}.{name} raw"] = value
            found[f"{server}.{name} base64"] = base64.b64encode(raw).decode()
            found[f"{server}.{name} base64url"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            found[f"{server}.{name} url"] = urllib.parse.quote(value, safe="")
            found[f"{server}.{name} url-plus"] = urllib.parse.quote_plus(value)
    return found


class _Truncating:
    """A driver whose open_stream loses data: makes the run fail and copy server logs."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def open_stream(self, artifact):
        import io

        stream = self.inner.open_stream(artifact)
        data = stream.read()[:1]
        stream.close()
        return io.BytesIO(data)


def truncating_driver(artifact, secrets, context):
    return _Truncating(new_driver(artifact, secrets, context))


def test_no_secret_value_appears_in_any_output(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "ARTCONF_FIXED_SECRETS": json.dumps(FIXED),
        "ARTCONF_STATE_DIR": str(tmp_path / "state"),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance.cli",
            "run",
            "--target",
            "python:tests.test_canary:truncating_driver",
            "--backends",
            "minio,moto,azurite",
            "--reports",
            str(tmp_path / "reports"),
            "-n",
            "2",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    run_dir = tmp_path / "reports" / "latest"
    assert (run_dir / "records.jsonl").exists(), result.stdout + result.stderr
    assert result.returncode == 1  # the truncating driver fails its open_stream cells
    assert list((run_dir / "logs").glob("*.log")), "failing cases should have copied logs"
    outputs = {"stdout": result.stdout, "stderr": result.stderr}
    for path in Path(run_dir).resolve().rglob("*"):
        if path.is_file():
            outputs[str(path)] = path.read_text(errors="replace")
    hits = [
        f"{label} in {where}"
        for where, text in outputs.items()
        for label, needle in needles().items()
        if needle in text
    ]
    assert hits == []
