"""The executor's half of artifact handling: stage and save outputs, load and unpack inputs.

Drivers only move bytes (``load``/``save`` of a path); everything Argo's executor does around
them lives here (spec 4.4, 5.2, 5.4): choosing the archive strategy, staging the archive in a
temp file, deriving the output key, skipping optional artifacts, downloading to ``<dest>.tmp``,
auto-detecting and unpacking, applying ``mode``. Temp files are removed on every path, including
failures, so a retrying caller never trips over the previous attempt.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from drivers.core import archives
from drivers.core.archives import ArchiveKind
from drivers.core.errors import BadRequest, Internal, NotFound
from drivers.core.keys import KeyContext, output_key, render_key
from drivers.core.model import Artifact, ArtifactLocation
from drivers.core.model.locations import KEY_FIELD, LocationType

log = logging.getLogger(__name__)

EMPTY_FILE_WARNING = (
    "The file is empty. It may not be uploaded successfully depending on the artifact driver"
)


class ArtifactDriver(Protocol):
    """The driver interface (spec 1.1); the executor uses ``load`` and ``save`` only."""

    def load(self, artifact: Artifact, path: str) -> None: ...

    def open_stream(self, artifact: Artifact) -> BinaryIO: ...

    def save(self, path: str, artifact: Artifact) -> None: ...

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None: ...

    def delete(self, artifact: Artifact) -> None: ...

    def list_objects(self, artifact: Artifact) -> list[str]: ...

    def is_directory(self, artifact: Artifact) -> bool: ...


@dataclass(frozen=True)
class StagingContext:
    """What the executor knows besides the artifact: where to stage, how to name keys.

    ``archive_location`` is the template's archive location as the controller attaches it
    (``ArtifactRepository.to_artifact_location()``): its key is the *key format*, rendered here
    with ``keys``. ``compression_level`` is used when an artifact's tar strategy sets none
    (``None`` = gzip's default, 6).
    """

    temp_dir: Path
    keys: KeyContext = field(default_factory=KeyContext)
    archive_location: ArtifactLocation | None = None
    compression_level: int | None = None


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _own_key(artifact: ArtifactLocation) -> str:
    """The artifact's key, ``""`` when it has no location type or an empty key."""
    if not artifact.location_types():
        return ""
    return artifact.get_key()  # git and raw raise BadRequest: they have no key


def _has_location_or_key(artifact: ArtifactLocation) -> bool:
    return artifact.has_location() or bool(_own_key(artifact))


def _archive_key(context: StagingContext) -> str | None:
    """The rendered key of the archive location: ``None`` if absent, ``""`` if it is empty."""
    location = context.archive_location
    if location is None:
        return None
    if not location.location_types():
        return ""
    return render_key(location.get_key(), context.keys)


def _empty_like(location: LocationType) -> LocationType:
    """A location of the same type holding nothing but an (empty) key: Argo's ``SetType``."""
    cls: Any = type(location)
    return cls.model_validate({KEY_FIELD.get(cls, "key"): ""})


def _with_key(artifact: Artifact, key: str, context: StagingContext) -> Artifact:
    """A copy of ``artifact`` keyed ``key``; a location-less one takes the archive's type."""
    keyed = artifact.model_copy(deep=True)
    if not keyed.location_types():
        assert context.archive_location is not None  # output_key raised otherwise
        attr = context.archive_location.location_types()[0]
        setattr(keyed, attr, _empty_like(context.archive_location.get()))
    keyed.set_key(key)
    return keyed


def _relocated(artifact: Artifact, context: StagingContext) -> Artifact:
    """The artifact a driver needs: a key-only one gets the archive location (spec 4.5)."""
    located = artifact.model_copy(deep=True)
    if context.archive_location is not None:
        located.relocate(context.archive_location)
    return located


def _remove(path: str | Path) -> None:
    """Remove a file, link or directory tree if present (never follows links)."""
    path = Path(path)
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        path.unlink()


# --------------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------------


def save_output(
    driver: ArtifactDriver,
    path: str | os.PathLike[str],
    artifact: Artifact,
    context: StagingContext,
) -> Artifact | None:
    """Stage ``path`` per the artifact's archive strategy and save it; ``None`` if skipped.

    Returns the artifact as Argo records it in the node status: an artifact that had a key
    keeps its location unchanged; one without gets the archive location's *type* with only the
    derived key (spec 4.4), and consumers re-attach the rest with :func:`load_input`.

    * A missing ``path`` is skipped when ``optional`` (with a warning), else ``NotFound``.
    * The strategy defaults to tar.gz; ``none`` uploads the path itself, file or directory.
    * The key is derived (and the key format checked) before anything is archived.
    """
    source = Path(path)
    try:
        st = source.stat()
    except FileNotFoundError as exc:
        if artifact.optional:
            log.warning("skipping optional output artifact %r: %s not found", artifact.name, path)
            return None
        raise NotFound(
            f"output artifact {artifact.name!r}: {path} no such file or directory", cause=exc
        ) from exc
    is_dir = stat.S_ISDIR(st.st_mode)
    if not (is_dir or stat.S_ISREG(st.st_mode)):
        raise Internal(
            f"output artifact {artifact.name!r}: {path} is not a regular file or directory"
        )

    kind = archives.archive_kind(artifact.archive) or ArchiveKind.TAR
    key = _own_key(artifact)
    if not key:
        key = output_key(
            _archive_key(context), artifact.name, kind, is_dir, source_path=str(source)
        )
    recorded = _with_key(artifact, key, context)
    target = _relocated(recorded, context)

    if kind is ArchiveKind.NONE:
        _warn_if_empty(source, st)
        driver.save(str(source), target)
        return recorded

    level = archives.compression_level(artifact.archive)
    if level is None:
        level = context.compression_level
    context.temp_dir.mkdir(parents=True, exist_ok=True)
    suffix = ".tgz" if kind is ArchiveKind.TAR else ".zip"
    fd, staged_name = tempfile.mkstemp(
        prefix=f"{artifact.name}.", suffix=suffix, dir=context.temp_dir
    )
    staged = Path(staged_name)
    try:
        with os.fdopen(fd, "wb") as out:
            archives.write_archive(source, out, kind, compression_level=level)
        _warn_if_empty(staged, staged.stat())
        driver.save(str(staged), target)
    finally:
        _remove(staged)
    return recorded


def _warn_if_empty(path: Path, st: os.stat_result) -> None:
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        log.warning("%s: %s", path, EMPTY_FILE_WARNING)


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------


def load_input(
    driver: ArtifactDriver,
    artifact: Artifact,
    dest: str | os.PathLike[str],
    context: StagingContext,
) -> Path | None:
    """Download ``artifact`` to ``dest`` and unpack it per spec 5.4; ``None`` if skipped.

    * Neither a location nor a key: skipped when ``optional``, else ``NotFound``.
    * A key-only artifact is relocated into ``context.archive_location``.
    * The driver loads into ``<dest>.tmp``; ``NotFound`` there skips an optional input.
    * Unset strategy: a tar.gz is detected and unpacked, anything else is renamed (zip is never
      detected); ``tar``/``zip`` unpack (failing on anything else); ``none`` renames.
    * ``mode`` is applied last, to every file and directory when ``recurseMode``.

    ``<dest>.tmp`` is removed on every path; a failure leaves nothing at ``dest``.
    """
    if not _has_location_or_key(artifact):
        if artifact.optional:
            log.info("skipping optional input artifact %r: not supplied", artifact.name)
            return None
        raise NotFound(f"required artifact '{artifact.name}' not supplied")
    dest_path = Path(os.path.abspath(dest))
    if os.path.lexists(dest_path):
        raise BadRequest(
            f"input artifact {artifact.name!r}: destination {dest_path} already exists"
        )
    dest_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(f"{dest_path}.tmp")
    _remove(tmp)  # left over by an earlier, interrupted attempt
    located = _relocated(artifact, context)
    try:
        try:
            driver.load(located, str(tmp))
        except NotFound:
            if artifact.optional:
                log.info("skipping optional input artifact %r: not found", artifact.name)
                return None
            raise
        _unarchive(artifact, tmp, dest_path)
    finally:
        _remove(tmp)
    if artifact.mode is not None:
        _apply_mode(dest_path, artifact.mode, recursive=artifact.recurse_mode)
    return dest_path


def _unarchive(artifact: Artifact, tmp: Path, dest: Path) -> None:
    """Unpack or rename ``tmp`` into ``dest`` according to the artifact's strategy."""
    kind = archives.archive_kind(artifact.archive)
    if kind is None:
        kind = ArchiveKind.TAR if archives.is_tar_gz(tmp) else ArchiveKind.NONE
    if kind is ArchiveKind.NONE:
        os.rename(tmp, dest)
        return
    if not tmp.is_file():
        raise BadRequest(
            f"input artifact {artifact.name!r}: archive strategy {kind} needs a single "
            "archive file, but the artifact is a directory; use archive: none"
        )
    archives.unpack(tmp, dest, kind)


def _apply_mode(dest: Path, mode: int, *, recursive: bool) -> None:
    """``chmod`` like Argo, but never through a symbolic link (Go's ``Chmod`` follows them)."""
    if dest.is_symlink():
        return
    os.chmod(dest, mode)
    if not recursive or not dest.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(dest):
        for name in dirnames + filenames:
            child = Path(dirpath) / name
            if not child.is_symlink():
                os.chmod(child, mode)
