"""Archive formats of artifacts: what the executor writes on save and reads on load (spec 5).

Writers produce Argo's layout (spec 5.3): a directory is archived as ``basename/...`` (its own
entry included), a single file under its base name. They write to a stream and never hold the
archive in memory, so an output of any size can be staged or piped straight to a driver.

Readers consume a stream (tar is read with ``r|gz``, strictly forwards) and are hardened beyond
Argo's checks (spec 5.5, 5.6), because an input artifact is untrusted data written by another
pod or by a user upload:

* names that are absolute or lead out of the destination are rejected;
* symbolic links must resolve inside the destination, and nothing is ever written *through* a
  symbolic link (every parent of an entry must be a real directory);
* hard links, devices, FIFOs and other special entries are skipped;
* file modes are kept without setuid, setgid and sticky bits; ownership is never restored;
* bytes written, the expansion ratio and the number of entries are bounded
  (:class:`ExtractionLimits`), counted while streaming, so a decompression bomb stops early
  (deviation ``unpack-decompression-bomb-limits``: Argo copies every member in full).

A rejection is a :class:`BadRequest` naming the offending member. :func:`unpack` extracts into
a fresh directory next to the destination and renames it into place only on success, so a failed
extraction leaves nothing at the destination.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import gzip
import logging
import math
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from drivers.core.errors import BadRequest, Internal, NotFound

log = logging.getLogger(__name__)

#: gzip's ``DefaultCompression`` (-1) is level 6 (spec 5.1).
DEFAULT_COMPRESSION_LEVEL = 6

_CHUNK = 1024 * 1024
_DIR_MODE = 0o755
_ZIP_MIN_DATE = (1980, 1, 1, 0, 0, 0)
_ZIP_MAX_DATE = (2107, 12, 31, 23, 59, 58)

StrPath = str | os.PathLike[str]


class ArchiveKind(enum.StrEnum):
    """The three archive strategies of spec 5.1."""

    TAR = "tar"
    ZIP = "zip"
    NONE = "none"


def archive_kind(strategy: Any | None) -> ArchiveKind | None:
    """The kind an ``ArchiveStrategy``-like object selects, ``None`` when unset (empty).

    Precedence follows the executor's checks (none, then zip, then tar); the model is expected
    to allow only one.
    """
    if strategy is None:
        return None
    if getattr(strategy, "none", None) is not None:
        return ArchiveKind.NONE
    if getattr(strategy, "zip", None) is not None:
        return ArchiveKind.ZIP
    if getattr(strategy, "tar", None) is not None:
        return ArchiveKind.TAR
    return None


def compression_level(strategy: Any | None) -> int | None:
    """``archive.tar.compressionLevel`` if the strategy sets one."""
    tar = getattr(strategy, "tar", None) if strategy is not None else None
    level = getattr(tar, "compression_level", None) if tar is not None else None
    return None if level is None else int(level)


def normalize_compression_level(level: int | None) -> int:
    """gzip level to use: ``None`` and ``-1`` mean the default (6); 0-9 are used as is."""
    if level is None or level == -1:
        return DEFAULT_COMPRESSION_LEVEL
    if not 0 <= level <= 9:
        raise BadRequest(f"invalid tar compressionLevel {level}: use -1 (default), 0 (none) or 1-9")
    return level


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One file system object to archive, with its name inside the archive."""

    arcname: str
    path: Path
    st: os.stat_result


def _source(source: StrPath) -> tuple[Path, os.stat_result]:
    """Check the archive source as Argo does: it must exist and be a file or a directory."""
    path = Path(os.path.abspath(source))
    try:
        st = path.stat()  # the source itself is followed if it is a link, its contents are not
    except FileNotFoundError as exc:
        raise NotFound(f"{source} no such file or directory", cause=exc) from exc
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise Internal(f"{source} is not a regular file or directory")
    return path, st


def _walk_depth_first(source: StrPath) -> Iterator[_Entry]:
    """The source, then everything below a directory: depth-first, lexical, links unfollowed.

    Iterative, so a very deep tree cannot exhaust Python's recursion limit.
    """
    root, st = _source(source)
    base = root.name or "root"
    yield _Entry(base, root, st)
    if not stat.S_ISDIR(st.st_mode):
        return
    stack: list[Iterator[tuple[str, os.DirEntry[str]]]] = [_listing(base, root)]
    while stack:
        step = next(stack[-1], None)
        if step is None:
            stack.pop()
            continue
        arcname, child = step
        child_st = child.stat(follow_symlinks=False)
        yield _Entry(arcname, Path(child.path), child_st)
        if stat.S_ISDIR(child_st.st_mode):
            stack.append(_listing(arcname, Path(child.path)))


def _listing(prefix: str, directory: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    with os.scandir(directory) as it:
        children = sorted(it, key=lambda e: e.name)
    return ((f"{prefix}/{child.name}", child) for child in children)


def _tarinfo(entry: _Entry) -> tarfile.TarInfo | None:
    """A tar header for one entry; ``None`` for sockets, which tar cannot represent."""
    st = entry.st
    info = tarfile.TarInfo(entry.arcname)
    info.mode = stat.S_IMODE(st.st_mode)
    info.mtime = int(st.st_mtime)
    info.uid, info.gid = st.st_uid, st.st_gid
    mode = st.st_mode
    if stat.S_ISREG(mode):
        info.type, info.size = tarfile.REGTYPE, st.st_size
    elif stat.S_ISDIR(mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(mode):
        # Stored with its original target, never followed (spec 5.3).
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(entry.path)
    elif stat.S_ISFIFO(mode):
        info.type = tarfile.FIFOTYPE
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    else:
        return None
    return info


def write_tar_gz(source: StrPath, dest: IO[bytes], *, compression_level: int | None = None) -> None:
    """Write ``source`` as a gzip-compressed tar to ``dest`` (which may be a pipe).

    ``compression_level`` is gzip's (``None``/-1 = 6, 0 = stored). Special files get a header
    and no data; sockets are left out.
    """
    level = normalize_compression_level(compression_level)
    # Check the source before writing a single byte to dest.
    entries = _walk_depth_first(source)
    first = next(entries)
    with (
        # mtime 0 as Go's gzip writer: the same tree gives the same bytes.
        gzip.GzipFile(filename="", mode="wb", fileobj=dest, compresslevel=level, mtime=0) as gz,
        # Mode "w", not "w|": the stream mode's buffer object flushes itself from __del__, so a
        # Ctrl-C landing just after tarfile.open printed a traceback (writing to the closed gz).
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for entry in _chain_first(first, entries):
            info = _tarinfo(entry)
            if info is None:
                log.warning("not archiving %s: sockets cannot be stored in a tar", entry.path)
                continue
            if info.type == tarfile.REGTYPE:
                with open(entry.path, "rb") as data:
                    tar.addfile(info, data)
            else:
                tar.addfile(info)


def _chain_first(first: _Entry, rest: Iterator[_Entry]) -> Iterator[_Entry]:
    yield first
    yield from rest


def _zip_date(mtime: float) -> tuple[int, int, int, int, int, int]:
    """Zip timestamps cover 1980-2107 only; clamp, as other zip writers do."""
    t = datetime.fromtimestamp(mtime).timetuple()[:6]
    return max(_ZIP_MIN_DATE, min(_ZIP_MAX_DATE, t))  # type: ignore[return-value]


def write_zip(source: StrPath, dest: IO[bytes]) -> None:
    """Write ``source`` as a zip to ``dest`` (which may be a pipe).

    As Argo (spec 5.3): only file entries, named ``basename(dir)/rel``; empty directories are
    lost and symbolic links (and other special files) become empty entries. A single file is
    stored under its base name (Argo uses the absolute path: deviation
    ``zip-single-file-base-name``).
    """
    entries = _walk_depth_first(source)
    first = next(entries)
    with zipfile.ZipFile(dest, mode="w", compression=zipfile.ZIP_DEFLATED) as zf:
        for entry in _chain_first(first, entries):
            mode = entry.st.st_mode
            if stat.S_ISDIR(mode):
                continue
            info = zipfile.ZipInfo(entry.arcname, date_time=_zip_date(entry.st.st_mtime))
            info.compress_type = zipfile.ZIP_DEFLATED
            if stat.S_ISREG(mode):
                info.external_attr = (stat.S_IFREG | stat.S_IMODE(mode)) << 16
                info.file_size = entry.st.st_size
                with open(entry.path, "rb") as data, zf.open(info, "w") as out:
                    shutil.copyfileobj(data, out, _CHUNK)
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                zf.writestr(info, b"")


def write_archive(
    source: StrPath,
    dest: IO[bytes],
    kind: ArchiveKind,
    *,
    compression_level: int | None = None,
) -> None:
    """Dispatch to the writer for ``kind``; ``none`` has no archive form and is refused."""
    if kind is ArchiveKind.TAR:
        write_tar_gz(source, dest, compression_level=compression_level)
    elif kind is ArchiveKind.ZIP:
        write_zip(source, dest)
    else:
        raise ValueError("archive: none is uploaded as is, there is nothing to write")


# --------------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b"


def is_tar_gz(path: StrPath) -> bool:
    """Auto-detection of spec 5.4: a gzip stream whose first tar header reads.

    An empty tar (no header at all) is not a tarball, as in Argo; zip is never detected.
    """
    try:
        with open(path, "rb") as f:
            if f.read(2) != _GZIP_MAGIC:
                return False
            f.seek(0)
            with tarfile.open(fileobj=f, mode="r|gz") as tar:
                return tar.next() is not None
    except (OSError, EOFError, tarfile.TarError, zlib.error):
        return False


# --------------------------------------------------------------------------------------------
# Extraction limits (decompression bombs)
# --------------------------------------------------------------------------------------------

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40

#: Environment variables that override :class:`ExtractionLimits` defaults, read by
#: :func:`unpack` on every call (so the executor picks them up without configuration).
MAX_BYTES_ENV = "ARTCONF_MAX_EXTRACT_BYTES"
MAX_RATIO_ENV = "ARTCONF_MAX_EXTRACT_RATIO"
MAX_ENTRIES_ENV = "ARTCONF_MAX_EXTRACT_ENTRIES"

#: The most compressed bytes read from the archive at once. zlib keeps what it has read but not
#: yet inflated; a small read keeps that lead, and so the error in the measured ratio, small.
_READ_AHEAD = 16 * KiB


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds on one extraction, counted while streaming; header sizes are never trusted.

    The defaults are meant to be reached by no real workflow and by every bomb:

    * ``max_bytes`` (64 GiB) is file data written to disk. The artifact is downloaded and then
      extracted on the same pod volume, so anything larger already needs a node with far more
      ephemeral storage than is usual; it is the backstop for bombs with a ratio under
      ``max_ratio``.
    * ``max_ratio`` (500:1) is bytes produced per compressed byte read. Measured with gzip level
      6 and zip deflate: source code 4:1, system logs 7:1, JSON lines 16:1, a health-check log
      28:1, a CSV of zeros 294:1 and one log line repeated 343:1, while zeros reach 1028:1
      (deflate's ceiling is about 1032:1). A bomb made of zeros is stopped after about
      ``ratio_after`` bytes.
    * ``ratio_after`` (16 MiB): the ratio is only checked past this many bytes produced, so a
      small archive of very repetitive data (a few MiB of zeros) is never refused.
    * ``max_entries`` (1,000,000): files, directories and links of one archive. Each entry
      costs an inode (a 100 GiB ext4 volume has about 6.5 million) and empty ones compress to a
      few dozen bytes each; a dataset of millions of small files has to raise it.
    """

    max_bytes: int = 64 * GiB
    max_ratio: float = 500.0
    max_entries: int = 1_000_000
    ratio_after: int = 16 * MiB

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_ratio", "max_entries"):
            if not getattr(self, name) > 0:
                raise ValueError(f"ExtractionLimits.{name} must be positive")
        if self.ratio_after < 0:
            raise ValueError("ExtractionLimits.ratio_after must not be negative")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ExtractionLimits:
        """The defaults, overridden by ``ARTCONF_MAX_EXTRACT_*`` (``os.environ`` by default)."""
        env = os.environ if env is None else env
        default = cls()
        return cls(
            max_bytes=_env_size(env, MAX_BYTES_ENV, default.max_bytes),
            max_ratio=_env_ratio(env, MAX_RATIO_ENV, default.max_ratio),
            max_entries=_env_count(env, MAX_ENTRIES_ENV, default.max_entries),
            ratio_after=default.ratio_after,
        )


_SIZE_UNITS = {"": 1, "KiB": KiB, "MiB": MiB, "GiB": GiB, "TiB": TiB}
_SIZE_PATTERN = re.compile(r"(\d+)\s*(KiB|MiB|GiB|TiB)?")


def _bad_env(name: str, text: str, expected: str) -> BadRequest:
    return BadRequest(f"invalid {name}={text!r}: expected {expected}")


def _env_size(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    match = _SIZE_PATTERN.fullmatch(text)
    value = int(match[1]) * _SIZE_UNITS[match[2] or ""] if match else 0
    if value <= 0:
        raise _bad_env(
            name, text, "a positive number of bytes, optionally with KiB, MiB, GiB or TiB"
        )
    return value


def _env_ratio(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (value > 0 and math.isfinite(value)):
        raise _bad_env(name, text, "a positive number, e.g. 500 for 500:1")
    return value


def _env_count(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    value = int(text) if text.isdigit() else 0
    if value <= 0:
        raise _bad_env(name, text, "a positive whole number of entries")
    return value


def _size(n: float) -> str:
    """``n`` bytes for a person: ``1.5 GiB (1610612736 bytes)``."""
    for unit, scale in (("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= scale:
            return f"{n / scale:.4g} {unit} ({int(n)} bytes)"
    return f"{int(n)} bytes"


class ExtractionLimitExceeded(BadRequest):
    """An archive went past one of its :class:`ExtractionLimits`: probably a decompression bomb.

    A :class:`BadRequest`: the input is bad and a retry would only fail again.
    """


@dataclass
class _Budget:
    """What one extraction has read, produced and written so far, checked against the limits."""

    limits: ExtractionLimits
    read: int = 0  # compressed bytes read from the archive
    expanded: int = 0  # bytes inflated from them (tar headers and skipped data included)
    written: int = 0  # file data written to disk
    entries: int = 0
    entry: str = ""  # the member being extracted, for messages

    def count_read(self, n: int) -> None:
        self.read += n

    def count_expanded(self, n: int) -> None:
        self.expanded += n
        self._check_ratio()

    def start_entry(self, name: str) -> None:
        self.entry = name
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise self._refusal(
                f"it has more than {self.limits.max_entries} entries",
                f"{MAX_ENTRIES_ENV}={self.limits.max_entries}",
            )

    def count_written(self, n: int) -> None:
        """Charge ``n`` bytes about to be written: refused before the limit would be passed."""
        if self.written + n > self.limits.max_bytes:
            raise self._refusal(
                f"its files hold more than {_size(self.limits.max_bytes)}",
                f"{MAX_BYTES_ENV}={self.limits.max_bytes}",
            )
        self.written += n
        self._check_ratio()  # a sparse tar member writes more than it inflates

    def _check_ratio(self) -> None:
        produced = max(self.expanded, self.written)
        if produced < self.limits.ratio_after:
            return
        if produced > self.limits.max_ratio * max(self.read, 1):
            raise self._refusal(
                f"it expands more than {self.limits.max_ratio:g}:1 ({produced} bytes from "
                f"{self.read} bytes read so far, {produced / max(self.read, 1):.0f}:1)",
                f"{MAX_RATIO_ENV}={self.limits.max_ratio:g}",
            )

    def _refusal(self, what: str, limit: str) -> ExtractionLimitExceeded:
        setting = limit.partition("=")[0]
        return ExtractionLimitExceeded(
            f"archive refused as a likely decompression bomb: {what}; limit {limit}. Stopped "
            f"at entry {self.entries} ({self.entry or 'none'}) after writing "
            f"{_size(self.written)} to disk; if the archive is legitimate, raise {setting} "
            "(or pass ExtractionLimits to unpack)"
        )


class _Tap:
    """A read-only stream that reports how many bytes pass through it.

    ``most`` caps each read (see ``_READ_AHEAD``); short reads are allowed to every reader
    used here. ``seek``/``tell`` pass through for zip, which needs random access.
    """

    def __init__(self, inner: IO[bytes], report: Callable[[int], None], most: int = 0) -> None:
        self._inner = inner
        self._report = report
        self._most = most

    def read(self, size: int = -1) -> bytes:
        if self._most and (size < 0 or size > self._most):
            size = self._most
        data = self._inner.read(size)
        self._report(len(data))
        return data

    def seekable(self) -> bool:
        return self._inner.seekable()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()


class _GzipStream:
    """The inflated side of a gzip stream, counted, with gzip's own errors made tar errors.

    ``gzip.BadGzipFile`` is an ``OSError``: left as is, a corrupt stream met while writing a
    member would be reported as a file system failure instead of a bad archive.
    """

    def __init__(self, raw: IO[bytes], budget: _Budget) -> None:
        self._gzip = gzip.GzipFile(
            fileobj=_Tap(raw, budget.count_read, _READ_AHEAD),  # type: ignore[arg-type]
            mode="rb",
        )
        self._budget = budget

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._gzip.read(size)
        except gzip.BadGzipFile as exc:
            raise tarfile.ReadError(str(exc)) from exc
        self._budget.count_expanded(len(data))
        return data


# --------------------------------------------------------------------------------------------
# Hardened extraction
# --------------------------------------------------------------------------------------------

Parts = tuple[str, ...]


def _member_parts(name: str) -> Parts:
    """Clean a member name into path components under the root; reject escapes.

    ``a/../b`` stays inside and is accepted (as Go's ``Clean`` would); ``()`` is the root itself
    (``./`` entries written by ``tar -C dir .``).
    """
    if not name or "\x00" in name:
        raise BadRequest(f"illegal file path: {name!r}: empty or contains a NUL byte")
    if name.startswith("/"):
        raise BadRequest(
            f"illegal file path: {name}: absolute paths are not allowed in an artifact archive"
        )
    parts: list[str] = []
    for component in name.split("/"):
        if component in ("", "."):
            continue
        if component == "..":
            if not parts:
                raise BadRequest(
                    f"illegal file path: {name}: it leads outside the destination directory"
                )
            parts.pop()
        else:
            parts.append(component)
    return tuple(parts)


def _link_resolution(name: str, location: Parts, target: str) -> tuple[Parts, str]:
    """Resolve a symlink target lexically from the link's directory; return it and the text to
    store.

    The check is sound because a link's directory is always a real directory (nothing is
    written through links) and every stored target has its ``..`` components first: a
    non-canonical target such as ``x/../../y`` is stored normalized, since the kernel would
    resolve ``x`` (possibly itself a link) before climbing.
    """
    if not target or "\x00" in target:
        raise BadRequest(f"illegal symlink target: {name} -> {target!r}: empty or NUL byte")
    if target.startswith("/"):
        raise BadRequest(
            f"illegal symlink target: {name} -> {target}: absolute targets are not allowed"
        )
    resolved = list(location[:-1])
    seen_normal = False
    canonical = True
    for component in target.split("/"):
        if component in ("", "."):
            continue
        if component == "..":
            if seen_normal:
                canonical = False
            if not resolved:
                raise BadRequest(
                    f"illegal symlink target: {name} -> {target}: it points outside the "
                    "destination directory"
                )
            resolved.pop()
        else:
            seen_normal = True
            resolved.append(component)
    stored = target if canonical else os.path.normpath(target)
    return tuple(resolved), stored


#: File system errors that mean "this member's name or type cannot exist here".
_BAD_NAME_ERRNOS = frozenset({errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL, errno.ELOOP})


@contextlib.contextmanager
def _naming(name: str) -> Iterator[None]:
    """Turn an ``OSError`` while creating member ``name`` into an error that names it."""
    try:
        yield
    except OSError as exc:
        cls = BadRequest if exc.errno in _BAD_NAME_ERRNOS else Internal
        raise cls(f"cannot extract archive entry {name}: {exc.strerror or exc}", cause=exc) from exc


@dataclass
class _Extractor:
    """Creates entries under ``root`` (a fresh directory) and remembers the links it made."""

    root: Path
    budget: _Budget
    links: dict[Parts, tuple[str, Parts]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def _path(self, parts: Parts) -> Path:
        return self.root.joinpath(*parts)

    def _parent(self, parts: Parts, name: str) -> Path:
        """Create missing parents (0755); every existing parent must be a real directory."""
        current = self.root
        for depth, component in enumerate(parts[:-1], start=1):
            current = current / component
            try:
                st = current.lstat()
            except FileNotFoundError:
                os.mkdir(current, _DIR_MODE)
                continue
            if stat.S_ISLNK(st.st_mode):
                raise BadRequest(
                    f"illegal file path after symlink resolution: {name}: "
                    f"{'/'.join(parts[:depth])} is a symbolic link, and writing through a "
                    "link is not allowed"
                )
            if not stat.S_ISDIR(st.st_mode):
                raise BadRequest(
                    f"illegal file path: {name}: {'/'.join(parts[:depth])} is not a directory"
                )
        return current

    def _clear(self, target: Path, parts: Parts, name: str) -> None:
        """Make room for a file or link: a later entry replaces an earlier one, except a dir."""
        try:
            st = target.lstat()
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            raise BadRequest(
                f"conflicting archive entry: {name}: a directory of that name was already extracted"
            )
        target.unlink()
        self.links.pop(parts, None)

    def directory(self, parts: Parts, name: str) -> None:
        if not parts:
            return  # the root entry ("./")
        self._parent(parts, name)
        target = self._path(parts)
        try:
            st = target.lstat()
        except FileNotFoundError:
            os.mkdir(target, _DIR_MODE)
            return
        if stat.S_ISDIR(st.st_mode):
            return
        target.unlink()  # a file or link replaced by a directory: nothing is followed
        self.links.pop(parts, None)
        os.mkdir(target, _DIR_MODE)

    def file(
        self, parts: Parts, name: str, data: IO[bytes], mode: int, mtime: float | None
    ) -> None:
        if not parts:
            raise BadRequest(f"illegal file path: {name}: a file cannot replace the destination")
        parent = self._parent(parts, name)
        target = parent / parts[-1]
        self._clear(target, parts, name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(target, flags, 0o600)
        with os.fdopen(fd, "wb") as out:
            self._copy(data, out)
            # Keep permissions, never setuid/setgid/sticky; independent of the umask.
            os.fchmod(out.fileno(), stat.S_IMODE(mode) & 0o777)
        if mtime is not None:
            with contextlib.suppress(OverflowError, ValueError, OSError):
                os.utime(target, (mtime, mtime), follow_symlinks=False)

    def _copy(self, data: IO[bytes], out: IO[bytes]) -> None:
        """Copy a member's data, charging each chunk to the budget before it is written."""
        while chunk := data.read(_CHUNK):
            self.budget.count_written(len(chunk))
            out.write(chunk)

    def symlink(self, parts: Parts, name: str, target_text: str) -> None:
        if not parts:
            raise BadRequest(
                f"illegal symlink target: {name} -> {target_text}: a link cannot replace the "
                "destination"
            )
        resolved, stored = _link_resolution(name, parts, target_text)
        parent = self._parent(parts, name)
        target = parent / parts[-1]
        self._clear(target, parts, name)
        os.symlink(stored, target)
        self.links[parts] = (name, resolved)

    def skip(self, name: str, why: str) -> None:
        log.info("skipping archive entry %s: %s", name, why)
        self.skipped.append(name)

    def check_new_root(self, top: str) -> None:
        """Before ``top`` becomes the destination, every link must resolve inside ``top``.

        A link to ``../sibling`` is inside the extraction directory but would point next to
        the destination once ``top`` is renamed to it.
        """
        for parts, (name, resolved) in self.links.items():
            if parts == (top,):
                raise BadRequest(
                    f"illegal symlink target: {name}: the only top-level entry is a symbolic "
                    "link; it cannot become the destination"
                )
            if not resolved or resolved[0] != top:
                raise BadRequest(
                    f"illegal symlink target: {name}: it points outside {top}/, which becomes "
                    "the destination"
                )

    # -- formats -------------------------------------------------------------------------

    def tar_gz(self, stream: IO[bytes]) -> None:
        """Extract a gzip-compressed tar read strictly forwards from ``stream``.

        gzip is inflated here rather than by tarfile (``r|gz``) so the bytes read and inflated
        can be counted against the limits.
        """
        inflated = _GzipStream(stream, self.budget)
        try:
            with tarfile.open(fileobj=inflated, mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    self._tar_member(tar, member)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise BadRequest(
                f"not a valid gzip-compressed tar archive: {exc}; check the archive strategy "
                "of the artifact",
                cause=exc,
            ) from exc

    def _tar_member(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        self.budget.start_entry(member.name)
        with _naming(member.name):
            self._tar_entry(tar, member)

    def _tar_entry(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        parts = _member_parts(member.name)
        if member.isdir():
            self.directory(parts, member.name)
        elif member.isreg():
            data = tar.extractfile(member)
            assert data is not None  # regular members always have data
            self.file(parts, member.name, data, member.mode, member.mtime)
        elif member.issym():
            self.symlink(parts, member.name, member.linkname)
        elif member.islnk():
            self.skip(member.name, "hard links are not extracted")
        else:
            self.skip(member.name, "devices, FIFOs and other special entries are not extracted")

    def zip(self, source: StrPath | IO[bytes]) -> None:
        """Extract a zip (spec 5.6): link entries become regular files holding the link text."""
        with contextlib.ExitStack() as stack:
            if isinstance(source, str | os.PathLike):
                source = stack.enter_context(open(source, "rb"))
            self._zip_stream(_Tap(source, self.budget.count_read))

    def _zip_stream(self, source: _Tap) -> None:
        try:
            with zipfile.ZipFile(source) as zf:  # type: ignore[arg-type]
                # The central directory is not member data: the ratio compares members only.
                self.budget.read = 0
                for info in zf.infolist():
                    self._zip_member(zf, info)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            raise BadRequest(
                f"not a valid zip archive: {exc}; check the archive strategy of the artifact",
                cause=exc,
            ) from exc

    def _zip_member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        self.budget.start_entry(info.filename)
        with _naming(info.filename):
            self._zip_entry(zf, info)

    def _zip_entry(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        name = info.filename
        parts = _member_parts(name)
        unix_mode = (info.external_attr >> 16) & 0xFFFF
        kind = stat.S_IFMT(unix_mode)
        if info.is_dir() or kind == stat.S_IFDIR:
            self.directory(parts, name)
        elif kind in (0, stat.S_IFREG, stat.S_IFLNK):
            mode = stat.S_IMODE(unix_mode) or 0o644
            try:
                mtime: float | None = datetime(*info.date_time).timestamp()
            except ValueError:  # a crafted DOS date such as month 0
                mtime = None
            with zf.open(info) as data:
                # Small reads: zipfile reads as much compressed data as output was asked for.
                inflated = _Tap(data, self.budget.count_expanded, _READ_AHEAD)
                self.file(parts, name, inflated, mode, mtime)  # type: ignore[arg-type]
        else:
            self.skip(name, "devices, FIFOs and other special entries are not extracted")


def _limits(limits: ExtractionLimits | None) -> ExtractionLimits:
    return ExtractionLimits.from_env() if limits is None else limits


def extract_tar_gz(
    stream: IO[bytes], root: StrPath, *, limits: ExtractionLimits | None = None
) -> list[str]:
    """Extract a tar.gz stream into the existing directory ``root``; return skipped names.

    Low level: prefer :func:`unpack`, which adds the temp-dir, rename and cleanup steps (here a
    refused archive leaves what was written so far). ``limits`` default to
    :meth:`ExtractionLimits.from_env`.
    """
    extractor = _Extractor(Path(root), _Budget(_limits(limits)))
    extractor.tar_gz(stream)
    return extractor.skipped


def extract_zip(
    source: StrPath | IO[bytes], root: StrPath, *, limits: ExtractionLimits | None = None
) -> list[str]:
    """Extract a zip (a path or a seekable stream) into the existing directory ``root``."""
    extractor = _Extractor(Path(root), _Budget(_limits(limits)))
    extractor.zip(source)
    return extractor.skipped


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable()) and stream.tell() >= 0
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def _zip_source(source: StrPath | IO[bytes], spool_dir: Path) -> Iterator[StrPath | IO[bytes]]:
    """A zip needs random access (its directory is at the end): spool a pipe to a temp file."""
    if isinstance(source, str | os.PathLike) or _seekable(source):
        yield source
        return
    with tempfile.TemporaryFile(dir=spool_dir, prefix=".zip-spool-") as spool:
        shutil.copyfileobj(source, spool, _CHUNK)
        spool.seek(0)
        yield spool


def unpack(
    source: StrPath | BinaryIO | IO[bytes],
    dest: StrPath,
    kind: ArchiveKind,
    *,
    limits: ExtractionLimits | None = None,
) -> list[str]:
    """Extract an archive to ``dest`` (which must not exist), with Argo's single-entry rule.

    Extraction goes to a fresh directory next to ``dest``. If exactly one top-level entry
    results it is renamed to ``dest`` (so ``out/...`` becomes ``dest/...``), otherwise the whole
    directory becomes ``dest`` (spec 5.4). On any failure, a limit of ``limits`` included
    (:class:`ExtractionLimitExceeded`; default :meth:`ExtractionLimits.from_env`), the
    directory is removed and ``dest`` is left untouched. Returns the names of skipped entries.
    """
    if kind is ArchiveKind.NONE:
        raise ValueError("archive: none is not unpacked")
    budget = _Budget(_limits(limits))  # a malformed variable fails before anything is made
    dest_path = Path(os.path.abspath(dest))
    if os.path.lexists(dest_path):
        raise BadRequest(f"cannot unpack into {dest_path}: it already exists")
    dest_path.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(
        tempfile.mkdtemp(prefix=f".{dest_path.name}.", suffix=".tmpdir", dir=dest_path.parent)
    )
    try:
        extractor = _Extractor(workdir, budget)
        if kind is ArchiveKind.TAR:
            if isinstance(source, str | os.PathLike):
                with open(source, "rb") as stream:
                    extractor.tar_gz(stream)
            else:
                extractor.tar_gz(source)
        else:
            with _zip_source(source, dest_path.parent) as zip_source:
                extractor.zip(zip_source)
        tops = os.listdir(workdir)
        if len(tops) == 1:
            extractor.check_new_root(tops[0])
            os.rename(workdir / tops[0], dest_path)
            os.rmdir(workdir)
        else:
            os.chmod(workdir, _DIR_MODE)
            os.rename(workdir, dest_path)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return extractor.skipped
