"""Installing the kit changes nothing in a pytest run that does not ask for it."""

from __future__ import annotations

import subprocess
import sys

from tests.inner import kit_env, write_project

PROBE = """
    def test_probe(request):
        pm = request.config.pluginmanager
        names = {pm.get_name(p) for p in pm.get_plugins()}
        print("ARTCONF-PLUGIN", "artconf" in names)
        print("SERVER-HARNESS", "emulators.pytest_plugin" in names)
"""


def _run(tmp_path, *args, **env):
    root = write_project(tmp_path / "proj", PROBE)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            f"--basetemp={root / '.basetemp'}",
            str(root),
            *args,
        ],
        env=kit_env(tmp_path / "state", **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_entry_point_plugin_is_loaded_but_inert(tmp_path):
    result = _run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ARTCONF-PLUGIN True" in result.stdout  # registered through the entry point
    assert "SERVER-HARNESS False" in result.stdout  # ... and it did nothing else


def test_target_option_activates_it(tmp_path):
    result = _run(tmp_path, "--artconf-target", "reference")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SERVER-HARNESS True" in result.stdout


def test_target_environment_variable_activates_it(tmp_path):
    result = _run(tmp_path, ARTCONF_TARGET="reference")
    assert "SERVER-HARNESS True" in result.stdout
