"""The wheel carries what the kit needs at run time besides code: profiles, lockfiles."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_wheel_ships_profiles_and_the_azurite_lockfile(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("artifact_conformance-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for server in ("minio", "moto", "azurite", "fake-gcs"):
        assert f"emulators/profiles/{server}.yaml" in names
    assert "emulators/azurite/package-lock.json" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "artconf = conformance.plugin" in text and "artconf = conformance.entry:main" in text
