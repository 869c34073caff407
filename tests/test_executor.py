"""The executor's half (spec 4.4, 5.2, 5.4) against an in-memory driver."""

from __future__ import annotations

import io
import logging
import os
import shutil
import stat
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from drivers.core.errors import BadRequest, Internal, NotFound
from drivers.core.executor import (
    EMPTY_FILE_WARNING,
    StagingContext,
    load_input,
    save_output,
)
from drivers.core.keys import KEY_UNSUPPORTED, KeyContext
from drivers.core.model import Artifact, ArtifactLocation, parse_artifact, parse_repository

# --------------------------------------------------------------------------------------------
# an in-memory driver
# --------------------------------------------------------------------------------------------

Tree = dict[str, bytes]  # relative path -> content, for directory objects


@dataclass
class MemoryDriver:
    """Stores files as bytes and directories as {relative path: bytes}, by key."""

    objects: dict[str, bytes | Tree] = field(default_factory=dict)
    saved: list[Artifact] = field(default_factory=list)
    loaded: list[Artifact] = field(default_factory=list)
    fail_save: Exception | None = None
    fail_load_after_partial_write: Exception | None = None

    def save(self, path: str, artifact: Artifact) -> None:
        self.saved.append(artifact)
        if self.fail_save is not None:
            raise self.fail_save
        p = Path(path)
        if p.is_dir():
            self.objects[artifact.get_key()] = {
                str(f.relative_to(p)): f.read_bytes() for f in p.rglob("*") if f.is_file()
            }
        else:
            self.objects[artifact.get_key()] = p.read_bytes()

    def load(self, artifact: Artifact, path: str) -> None:
        self.loaded.append(artifact)
        if self.fail_load_after_partial_write is not None:
            Path(path).write_bytes(b"partial")
            raise self.fail_load_after_partial_write
        key = artifact.get_key()
        if key not in self.objects:
            raise NotFound(f"memory: key {key!r} not found")
        value = self.objects[key]
        if isinstance(value, bytes):
            Path(path).write_bytes(value)
            return
        for rel, data in value.items():
            target = Path(path) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        value = self.objects[artifact.get_key()]
        assert isinstance(value, bytes)
        return io.BytesIO(value)

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        self.objects[artifact.get_key()] = stream.read()

    def delete(self, artifact: Artifact) -> None:
        self.objects.pop(artifact.get_key(), None)

    def list_objects(self, artifact: Artifact) -> list[str]:
        return sorted(self.objects)

    def is_directory(self, artifact: Artifact) -> bool:
        return isinstance(self.objects.get(artifact.get_key()), dict)


REPOSITORY = {
    "s3": {
        "bucket": "my-bucket",
        "endpoint": "minio:9000",
        "keyFormat": "{{workflow.name}}/{{pod.name}}",
    }
}


@pytest.fixture
def archive_location() -> ArtifactLocation:
    return parse_repository(REPOSITORY).to_artifact_location()


@pytest.fixture
def context(tmp_path: Path, archive_location: ArtifactLocation) -> StagingContext:
    keys = KeyContext(
        workflow_name="wf",
        pod_name="wf-main-1",
        creation_timestamp=datetime(2024, 1, 2, tzinfo=UTC),
    )
    return StagingContext(
        temp_dir=tmp_path / "staging", keys=keys, archive_location=archive_location
    )


@pytest.fixture
def driver() -> MemoryDriver:
    return MemoryDriver()


def art(**fields: Any) -> Artifact:
    fields.setdefault("name", "result")
    return parse_artifact(fields)


def make_tree(root: Path) -> Path:
    out = root / "out"
    (out / "sub").mkdir(parents=True)
    (out / "a.txt").write_text("alpha")
    (out / "sub" / "b.txt").write_text("beta")
    return out


def tree_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def staging_is_empty(context: StagingContext) -> bool:
    return not context.temp_dir.exists() or os.listdir(context.temp_dir) == []


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p for p in os.listdir(parent) if p.startswith(name) or p.startswith("." + name))


# --------------------------------------------------------------------------------------------
# save_output
# --------------------------------------------------------------------------------------------


def test_default_is_tgz_keyed_under_archive_key(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    out = make_tree(tmp_path)
    recorded = save_output(driver, out, art(path=str(out)), context)
    assert recorded is not None
    assert recorded.s3 is not None and recorded.s3.key == "wf/wf-main-1/result.tgz"
    assert recorded.s3.bucket == ""  # recorded as key-only (spec 4.4)
    sent = driver.saved[0]
    assert sent.s3 is not None and (sent.s3.bucket, sent.s3.endpoint) == ("my-bucket", "minio:9000")
    data = driver.objects["wf/wf-main-1/result.tgz"]
    assert isinstance(data, bytes)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        assert tar.getnames()[0] == "out"
    assert staging_is_empty(context)


def test_zip_key_and_content(tmp_path: Path, driver: MemoryDriver, context: StagingContext) -> None:
    out = make_tree(tmp_path)
    recorded = save_output(driver, out, art(path=str(out), archive={"zip": {}}), context)
    assert recorded is not None and recorded.get_key() == "wf/wf-main-1/result.zip"
    data = driver.objects["wf/wf-main-1/result.zip"]
    assert isinstance(data, bytes)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["out/a.txt", "out/sub/b.txt"]
    assert staging_is_empty(context)


def test_none_uploads_file_as_is_keyed_by_basename(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    f = tmp_path / "data.csv"
    f.write_text("a,b")
    recorded = save_output(driver, f, art(path=str(f), archive={"none": {}}), context)
    assert recorded is not None and recorded.get_key() == "wf/wf-main-1/data.csv"
    assert driver.objects["wf/wf-main-1/data.csv"] == b"a,b"


def test_none_uploads_directory_keyed_by_its_name(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    out = make_tree(tmp_path)
    recorded = save_output(driver, out, art(path=str(out), archive={"none": {}}), context)
    assert recorded is not None and recorded.get_key() == "wf/wf-main-1/out"
    assert driver.objects["wf/wf-main-1/out"] == {"a.txt": b"alpha", "sub/b.txt": b"beta"}


def test_explicit_key_is_verbatim_and_relocated(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    recorded = save_output(driver, f, art(path=str(f), s3={"key": "mine/report"}), context)
    assert recorded is not None and recorded.s3 is not None
    assert recorded.s3.key == "mine/report" and recorded.s3.bucket == ""
    assert driver.saved[0].s3 is not None and driver.saved[0].s3.bucket == "my-bucket"
    assert "mine/report" in driver.objects


def test_full_location_is_kept(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    full = {"bucket": "other", "endpoint": "s3.example:443", "key": "k.tgz"}
    recorded = save_output(driver, f, art(path=str(f), s3=full), context)
    assert recorded is not None and recorded.s3 is not None and recorded.s3.bucket == "other"
    assert driver.saved[0].s3 is not None and driver.saved[0].s3.bucket == "other"


def test_compression_level_from_artifact_then_context(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    f = tmp_path / "big.txt"
    f.write_bytes(b"abcdefgh" * 50_000)
    save_output(
        driver,
        f,
        art(name="stored", path=str(f), archive={"tar": {"compressionLevel": 0}}),
        context,
    )
    save_output(driver, f, art(name="dflt", path=str(f)), context)
    ctx0 = StagingContext(context.temp_dir, context.keys, context.archive_location, 0)
    save_output(driver, f, art(name="ctx", path=str(f)), ctx0)
    save_output(
        driver, f, art(name="over", path=str(f), archive={"tar": {"compressionLevel": 9}}), ctx0
    )
    size = {k.rsplit("/", 1)[-1]: len(v) for k, v in driver.objects.items()}
    assert size["stored.tgz"] > 400_000 and size["ctx.tgz"] > 400_000
    assert size["dflt.tgz"] < 10_000 and size["over.tgz"] < 10_000


def test_optional_missing_output_is_skipped(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    missing = tmp_path / "nope"
    assert save_output(driver, missing, art(path=str(missing), optional=True), context) is None
    assert driver.saved == []
    with pytest.raises(NotFound, match=r"nope no such file or directory"):
        save_output(driver, missing, art(path=str(missing)), context)


def test_special_file_output_is_internal(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(Internal, match="not a regular file or directory"):
        save_output(driver, tmp_path / "fifo", art(path=str(tmp_path / "fifo")), context)


def test_staged_file_removed_when_driver_fails(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    out = make_tree(tmp_path)
    driver.fail_save = Internal("boom", transient=True)
    with pytest.raises(Internal, match="boom"):
        save_output(driver, out, art(path=str(out)), context)
    assert staging_is_empty(context)


def test_bad_key_format_fails_before_any_io(
    tmp_path: Path, driver: MemoryDriver, archive_location: ArtifactLocation
) -> None:
    out = make_tree(tmp_path)
    archive_location.set_key("{{workflow.name}}/{{steps.x.outputs.result}}")
    ctx = StagingContext(tmp_path / "staging", KeyContext(workflow_name="wf"), archive_location)
    with pytest.raises(BadRequest, match=r"\{\{steps\.x\.outputs\.result\}\}"):
        save_output(driver, out, art(path=str(out)), ctx)
    assert driver.saved == []
    assert not (tmp_path / "staging").exists()


def test_no_or_empty_archive_location(tmp_path: Path, driver: MemoryDriver) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(BadRequest, match=KEY_UNSUPPORTED):
        save_output(driver, f, art(path=str(f)), StagingContext(tmp_path / "s"))
    empty = StagingContext(tmp_path / "s", archive_location=ArtifactLocation())
    with pytest.raises(BadRequest, match="artifact storage is not configured"):
        save_output(driver, f, art(path=str(f)), empty)


def test_empty_output_warns(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext, caplog: pytest.LogCaptureFixture
) -> None:
    f = tmp_path / "empty"
    f.write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="drivers.core.executor"):
        save_output(driver, f, art(path=str(f), archive={"none": {}}), context)
    assert EMPTY_FILE_WARNING in caplog.text


def test_other_repository_types_record_their_type(tmp_path: Path, driver: MemoryDriver) -> None:
    location = parse_repository(
        {"gcs": {"bucket": "g", "keyFormat": "k/{{workflow.name}}"}}
    ).to_artifact_location()
    ctx = StagingContext(tmp_path / "s", KeyContext(workflow_name="wf"), location)
    f = tmp_path / "f"
    f.write_text("x")
    recorded = save_output(driver, f, art(path=str(f)), ctx)
    assert recorded is not None and recorded.gcs is not None
    assert recorded.gcs.key == "k/wf/result.tgz" and recorded.gcs.bucket == ""


# --------------------------------------------------------------------------------------------
# load_input
# --------------------------------------------------------------------------------------------


def test_round_trip_through_save_and_load(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    out = make_tree(tmp_path / "src")
    recorded = save_output(driver, out, art(path=str(out)), context)
    assert recorded is not None
    dest = tmp_path / "inputs" / "result"
    assert load_input(driver, recorded, dest, context) == dest
    assert tree_of(dest) == tree_of(out)
    assert driver.loaded[0].s3 is not None and driver.loaded[0].s3.bucket == "my-bucket"
    assert leftovers(dest.parent, "result") == ["result"]


def test_single_file_tar_becomes_the_destination_file(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    f = tmp_path / "report.csv"
    f.write_text("1,2")
    recorded = save_output(driver, f, art(path=str(f)), context)
    assert recorded is not None
    dest = tmp_path / "in" / "report"
    load_input(driver, recorded, dest, context)
    assert dest.read_text() == "1,2"


def test_zip_only_when_declared(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    out = make_tree(tmp_path / "src")
    recorded = save_output(driver, out, art(path=str(out), archive={"zip": {}}), context)
    assert recorded is not None
    declared = tmp_path / "declared"
    load_input(driver, recorded, declared, context)
    assert tree_of(declared) == tree_of(out)
    undeclared = recorded.model_copy(update={"archive": None})
    kept = tmp_path / "kept"
    load_input(driver, undeclared, kept, context)
    assert kept.is_file() and zipfile.is_zipfile(kept)  # zip is never auto-detected


def test_none_keeps_a_tarball_as_is(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    out = make_tree(tmp_path / "src")
    recorded = save_output(driver, out, art(path=str(out)), context)
    assert recorded is not None
    as_is = recorded.model_copy(
        update={"archive": parse_artifact({"name": "x", "archive": {"none": {}}}).archive}
    )
    dest = tmp_path / "raw.tgz"
    load_input(driver, as_is, dest, context)
    assert dest.read_bytes() == driver.objects[recorded.get_key()]


def test_plain_file_and_directory_are_renamed(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    driver.objects["plain"] = b"just text"
    driver.objects["tree"] = {"x/y.txt": b"y"}
    plain = tmp_path / "plain"
    load_input(driver, art(s3={"key": "plain"}), plain, context)
    assert plain.read_bytes() == b"just text"
    tree = tmp_path / "tree"
    load_input(driver, art(s3={"key": "tree"}), tree, context)
    assert (tree / "x" / "y.txt").read_bytes() == b"y"


def test_declared_tar_that_is_not_a_tarball_fails_cleanly(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    driver.objects["k"] = b"not a tarball"
    driver.objects["dir"] = {"f": b"f"}
    for key in ("k", "dir"):
        dest = tmp_path / f"dest-{key}"
        with pytest.raises(BadRequest):
            load_input(driver, art(s3={"key": key}, archive={"tar": {}}), dest, context)
        assert leftovers(tmp_path, f"dest-{key}") == []


def test_malicious_input_leaves_nothing(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    driver.objects["evil"] = buf.getvalue()
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    with pytest.raises(BadRequest, match=r"\.\./escape\.txt"):
        load_input(driver, art(s3={"key": "evil"}), sandbox / "dest", context)
    assert os.listdir(sandbox) == []
    assert sorted(os.listdir(tmp_path)) == ["sandbox"]


def test_optional_input_not_found_is_skipped(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    dest = tmp_path / "dest"
    assert load_input(driver, art(s3={"key": "absent"}, optional=True), dest, context) is None
    assert leftovers(tmp_path, "dest") == []
    with pytest.raises(NotFound, match="absent"):
        load_input(driver, art(s3={"key": "absent"}), dest, context)
    assert leftovers(tmp_path, "dest") == []


def test_input_without_location_or_key(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    assert load_input(driver, art(optional=True), tmp_path / "d", context) is None
    with pytest.raises(NotFound, match="required artifact 'result' not supplied"):
        load_input(driver, art(), tmp_path / "d", context)
    assert driver.loaded == []


def test_tmp_removed_when_driver_fails_midway(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    driver.fail_load_after_partial_write = Internal("connection reset", transient=True)
    with pytest.raises(Internal):
        load_input(driver, art(s3={"key": "k"}, optional=True), tmp_path / "dest", context)
    assert leftovers(tmp_path, "dest") == []


def test_stale_tmp_is_replaced(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    (tmp_path / "dest.tmp").mkdir()
    (tmp_path / "dest.tmp" / "junk").write_text("old")
    driver.objects["k"] = b"new"
    load_input(driver, art(s3={"key": "k"}), tmp_path / "dest", context)
    assert (tmp_path / "dest").read_bytes() == b"new"
    assert leftovers(tmp_path, "dest") == ["dest"]


def test_existing_destination_is_refused(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    (tmp_path / "dest").write_text("already")
    driver.objects["k"] = b"new"
    with pytest.raises(BadRequest, match="already exists"):
        load_input(driver, art(s3={"key": "k"}), tmp_path / "dest", context)
    assert driver.loaded == []


def test_mode_is_applied(tmp_path: Path, driver: MemoryDriver, context: StagingContext) -> None:
    driver.objects["file"] = b"#!/bin/sh\n"
    driver.objects["tree"] = {"a": b"a", "d/b": b"b"}
    f = tmp_path / "f"
    load_input(driver, art(s3={"key": "file"}, mode=0o700), f, context)
    assert stat.S_IMODE(f.stat().st_mode) == 0o700
    flat = tmp_path / "flat"
    load_input(driver, art(s3={"key": "tree"}, mode=0o750), flat, context)
    assert stat.S_IMODE(flat.stat().st_mode) == 0o750
    assert stat.S_IMODE((flat / "a").stat().st_mode) != 0o750
    deep = tmp_path / "deep"
    load_input(driver, art(s3={"key": "tree"}, mode=0o750, recurseMode=True), deep, context)
    for p in [deep, deep / "a", deep / "d", deep / "d" / "b"]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o750, p


def test_recursive_mode_skips_symlinks(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext
) -> None:
    src = tmp_path / "src" / "out"
    src.mkdir(parents=True)
    (src / "f").write_text("f")
    (src / "link").symlink_to("f")
    recorded = save_output(driver, src, art(path=str(src)), context)
    assert recorded is not None
    outside = tmp_path / "outside"
    outside.write_text("o")
    os.chmod(outside, 0o644)
    dest = tmp_path / "dest"
    load_input(
        driver, recorded.model_copy(update={"mode": 0o700, "recurse_mode": True}), dest, context
    )
    assert (dest / "link").is_symlink()
    assert stat.S_IMODE((dest / "f").stat().st_mode) == 0o700
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar not installed")
@pytest.mark.parametrize("style", ["dir", "dot"])
def test_gnu_tar_archives_load(
    tmp_path: Path, driver: MemoryDriver, context: StagingContext, style: str
) -> None:
    """``tar czf x.tgz dir`` and ``tar czf x.tgz -C dir .`` both load as the directory."""
    out = make_tree(tmp_path / "src")
    archive = tmp_path / "x.tgz"
    if style == "dir":
        subprocess.run(["tar", "czf", str(archive), "out"], cwd=out.parent, check=True)
    else:
        subprocess.run(["tar", "czf", str(archive), "-C", str(out), "."], check=True)
    driver.objects["gnu.tgz"] = archive.read_bytes()
    dest = tmp_path / "dest"
    load_input(driver, art(s3={"key": "gnu.tgz"}), dest, context)
    assert tree_of(dest) == tree_of(out)
    assert leftovers(tmp_path, "dest") == ["dest"]
