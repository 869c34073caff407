"""The wheel carries what the kit needs at run time besides code: profiles, lockfiles, the
report's templates and static files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Left out of the copy the wheel is built from: environments, run output, and above all the
# `build/` of an earlier build, whose stale modules setuptools would package again.
NOT_SOURCES = (
    ".git",
    ".venv",
    "reports",
    "build",
    "*.egg-info",
    ".*cache",
    ".hypothesis",
    "__pycache__",
)


def test_wheel_ships_profiles_the_azurite_lockfile_and_the_report_templates(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*NOT_SOURCES), symlinks=True)
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
            str(source),
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
    report = REPO / "conformance" / "report"
    package_files = [
        p.relative_to(REPO).as_posix()
        for folder in ("templates", "static")
        for p in sorted((report / folder).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert "conformance/report/static/report.css" in package_files
    assert "conformance/report/static/report.js" in package_files
    assert "conformance/report/templates/nbconvert/artconf.html.j2" in package_files
    assert any(p.endswith(".html.j2") for p in package_files)
    missing = [p for p in package_files if p not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert "conformance/report.py" not in names  # the package replaced the module
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "artconf = conformance.plugin" in text and "artconf = conformance.entry:main" in text
