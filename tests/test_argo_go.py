"""`argo-go` (NEEDS GO 1.25.7+): Argo's own plugin client against Argo's own drivers served
as a plugin, on MinIO.

These tests build `drivers/plugin/argo-go` with `argo_go.binary()` (a cold build takes minutes,
then the tool cache has it). They are never skipped: without Go the build raises ToolError,
and the test is an ERROR telling what to install.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conformance import kinds
from drivers.plugin import argo_go
from emulators.tools import ToolError
from tests.servers import unique_name

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.servers("minio")

#: Every step the client reports, each of which must behave.
STEPS = {
    "Save",
    "Load",
    "OpenStream",
    "ListObjects",
    "IsDirectory",
    "SaveDirectory",
    "LoadDirectory",
    "Delete",
    "LoadMissing",
    "GetCapabilities",
    "SaveStream",
}


@pytest.fixture(scope="module")
def argo_go_binary() -> Path:
    return argo_go.binary()  # ToolError (a test ERROR) when Go is missing or the build fails


def _wait_for(path: Path, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, f"argo-go serve exited {process.returncode}"
        assert time.monotonic() < deadline, f"argo-go serve made no socket at {path}"
        time.sleep(0.05)


def test_version(argo_go_binary):
    out = subprocess.run(
        [str(argo_go_binary), "version"], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == argo_go.ARGO_VERSION


def test_binary_is_reused(argo_go_binary):
    assert argo_go.binary() == argo_go_binary
    assert argo_go_binary.parent.name == argo_go.source_digest()


def test_usage_error_exits_2(argo_go_binary, tmp_path):
    out = subprocess.run(
        [str(argo_go_binary), "client", str(tmp_path / "socket")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2, out.stderr


def _client_report(argo_go_binary, artconf_server, tmp_path, serve_argv):
    """Argo's own client (argo-go client) against the plugin `serve_argv + [SOCKET]` on MinIO:
    (its JSON report, the plugin's exit code after SIGTERM, the socket path)."""
    endpoint = artconf_server("minio")
    kind = kinds.get("s3")
    bucket = unique_name()
    kind.admin(endpoint).create_container(bucket)
    location = kind.location(endpoint, bucket)
    fields = {k: v for k, v in location.fields.items() if k != location.key_field}
    config = tmp_path / "configuration.yaml"
    config.write_text(yaml.safe_dump({location.type: fields, "secrets": location.secrets}))

    # A socket in a directory that does not exist yet (Argo issue #16784).
    socket = tmp_path / "plugins" / "under-test" / "socket"
    env = {**os.environ, "EXECUTOR_RETRY_BACKOFF_STEPS": "2", "PYTHONPATH": str(REPO)}
    with open(tmp_path / "serve.log", "wb") as log:
        serve = subprocess.Popen(
            [*serve_argv, str(socket)], stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env
        )
    try:
        _wait_for(socket, serve)
        client = subprocess.run(
            [
                str(argo_go_binary),
                "client",
                str(socket),
                "--configuration",
                str(config),
                "--key-prefix",
                "argo-go/run",
                "--workdir",
                str(tmp_path / "work"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
    finally:
        serve.send_signal(signal.SIGTERM)
        serve_rc = serve.wait(timeout=30)
    assert client.stdout, client.stderr[-3000:]
    report = json.loads(client.stdout)
    failed = {name: r for name, r in report["rpcs"].items() if not r["ok"]}
    assert not failed, json.dumps(failed, indent=2)
    assert report["ok"] and client.returncode == 0
    assert set(report["rpcs"]) == STEPS
    assert report["argo_version"] == argo_go.ARGO_VERSION
    return report, serve_rc, socket


def test_argo_client_against_argo_drivers_on_minio(argo_go_binary, artconf_server, tmp_path):
    report, serve_rc, socket = _client_report(
        argo_go_binary, artconf_server, tmp_path, [str(argo_go_binary)]
    )
    rpcs = {name: r.get("detail", {}) for name, r in report["rpcs"].items()}
    assert rpcs["OpenStream"]["bytes"] > 2 * 2**20  # more than one 2 MiB frame
    assert rpcs["IsDirectory"] == {"file": False, "prefix": True}
    # Argo's S3 driver says ERR_NOT_FOUND for a missing key, carried by the kit's trailers.
    assert rpcs["LoadMissing"]["code"] == "ERR_NOT_FOUND"
    assert rpcs["LoadMissing"]["transient"] == "false"
    # v4.0.5's server has no GetCapabilities: Argo's client falls back to temp file + Save.
    assert rpcs["GetCapabilities"] == {"unimplemented": True}
    assert rpcs["SaveStream"]["fallback"] is True
    assert serve_rc == 0  # SIGTERM is a graceful stop
    assert not socket.exists()  # ... that removes its socket


def test_argo_client_drives_artconf_plugin_serve_through_all_eight_rpcs(
    argo_go_binary, artconf_server, tmp_path
):
    """Wire compatibility proven by Argo's own client, not the kit's: the six RPCs of v4.0.5
    through `workflow/artifacts/plugin`, GetCapabilities and SaveStream framed by hand."""
    serve = [sys.executable, "-m", "conformance.cli", "plugin", "serve", "--driver", "s3"]
    report, serve_rc, socket = _client_report(argo_go_binary, artconf_server, tmp_path, serve)
    rpcs = {name: r.get("detail", {}) for name, r in report["rpcs"].items()}
    assert rpcs["OpenStream"]["bytes"] > 2 * 2**20
    assert rpcs["IsDirectory"] == {"file": False, "prefix": True}
    assert rpcs["LoadMissing"]["code"] == "ERR_NOT_FOUND"
    assert rpcs["GetCapabilities"] == {"supports_save_stream": True}
    assert rpcs["SaveStream"].get("fallback") is not True  # streamed, not buffered
    assert serve_rc == 0 and not socket.exists()


def test_missing_go_is_a_tool_error(monkeypatch, tmp_path):
    monkeypatch.setenv("ARTCONF_TOOLS_DIR", str(tmp_path / "tools"))  # no cached binary
    monkeypatch.setattr(argo_go.shutil, "which", lambda name: None)
    with pytest.raises(ToolError, match="install Go"):
        argo_go.binary()
