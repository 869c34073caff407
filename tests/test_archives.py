"""Archives: Argo's layout on save (spec 5.3), detection and hardened extraction (5.4-5.6)."""

from __future__ import annotations

import functools
import gc
import gzip
import io
import os
import shutil
import stat
import struct
import subprocess
import sys
import tarfile
import threading
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import pytest

from drivers.core.archives import (
    DEFAULT_COMPRESSION_LEVEL,
    MAX_BYTES_ENV,
    MAX_ENTRIES_ENV,
    MAX_RATIO_ENV,
    ArchiveKind,
    ExtractionLimitExceeded,
    ExtractionLimits,
    archive_kind,
    compression_level,
    extract_tar_gz,
    extract_zip,
    is_tar_gz,
    normalize_compression_level,
    unpack,
    write_archive,
    write_tar_gz,
    write_zip,
)
from drivers.core.errors import BadRequest, Internal, NotFound

HAVE_GNU_TAR = shutil.which("tar") is not None


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


class NonSeekable(io.RawIOBase):
    """A stream that can only be read or written forwards, like a pipe or a socket."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        return self._inner.write(bytes(data))

    def tell(self) -> int:
        raise OSError("not seekable")

    def seek(self, *_: object) -> int:
        raise OSError("not seekable")


@dataclass
class Entry:
    """One crafted tar member."""

    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    linkname: str = ""
    mode: int = 0o644


def make_tgz(entries: list[Entry], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=fmt) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.name)
            info.type = e.type
            info.mode = e.mode
            info.linkname = e.linkname
            if e.type == tarfile.REGTYPE:
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
            else:
                tar.addfile(info)
    return buf.getvalue()


@dataclass
class ZEntry:
    """One crafted zip member; ``unix_mode`` goes in the external attributes."""

    name: str
    data: bytes = b""
    unix_mode: int = stat.S_IFREG | 0o644


def make_zip(entries: list[ZEntry], compression: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for e in entries:
            info = zipfile.ZipInfo(e.name)
            info.external_attr = e.unix_mode << 16
            zf.writestr(info, e.data)
    return buf.getvalue()


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` (links unfollowed) with its type and content."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p.is_symlink():
                out[str(p.relative_to(root))] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[str(p.relative_to(root))] = "dir"
            else:
                out[str(p.relative_to(root))] = "file:" + p.read_bytes().hex()
    return out


def make_tree(root: Path) -> Path:
    """A directory with files, a nested empty dir, an in-tree symlink."""
    out = root / "out"
    (out / "sub" / "deeper").mkdir(parents=True)
    (out / "empty").mkdir()
    (out / "a.txt").write_text("alpha")
    (out / "sub" / "b.bin").write_bytes(bytes(range(256)) * 10)
    (out / "sub" / "deeper" / "c.txt").write_text("gamma")
    os.chmod(out / "sub" / "b.bin", 0o750)
    (out / "link").symlink_to("a.txt")
    return out


# --------------------------------------------------------------------------------------------
# strategy helpers
# --------------------------------------------------------------------------------------------


@dataclass
class _Tar:
    compression_level: int | None = None


@dataclass
class _Strategy:
    tar: _Tar | None = None
    zip: object | None = None
    none: object | None = None


def test_archive_kind_and_level() -> None:
    assert archive_kind(None) is None
    assert archive_kind(_Strategy()) is None
    assert archive_kind(_Strategy(tar=_Tar())) is ArchiveKind.TAR
    assert archive_kind(_Strategy(zip=object())) is ArchiveKind.ZIP
    assert archive_kind(_Strategy(none=object())) is ArchiveKind.NONE
    assert compression_level(None) is None
    assert compression_level(_Strategy(tar=_Tar())) is None
    assert compression_level(_Strategy(tar=_Tar(3))) == 3
    assert normalize_compression_level(None) == DEFAULT_COMPRESSION_LEVEL == 6
    assert normalize_compression_level(-1) == 6
    assert normalize_compression_level(0) == 0
    for bad in (-2, 10):
        with pytest.raises(BadRequest, match="compressionLevel"):
            normalize_compression_level(bad)


# --------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------


def test_tar_of_directory_has_basename_on_top(tmp_path: Path) -> None:
    out = make_tree(tmp_path)
    buf = io.BytesIO()
    write_tar_gz(out, buf)
    buf.seek(0)
    with tarfile.open(fileobj=buf, mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert set(members) == {
        "out",
        "out/a.txt",
        "out/empty",
        "out/link",
        "out/sub",
        "out/sub/b.bin",
        "out/sub/deeper",
        "out/sub/deeper/c.txt",
    }
    assert members["out/link"].issym() and members["out/link"].linkname == "a.txt"
    assert members["out/empty"].isdir()
    assert stat.S_IMODE(members["out/sub/b.bin"].mode) == 0o750


def test_tar_of_file_is_its_base_name(tmp_path: Path) -> None:
    f = tmp_path / "report.csv"
    f.write_text("a,b\n")
    buf = io.BytesIO()
    write_tar_gz(str(f), buf)
    buf.seek(0)
    with tarfile.open(fileobj=buf, mode="r:gz") as tar:
        assert tar.getnames() == ["report.csv"]
        member = tar.extractfile("report.csv")
        assert member is not None and member.read() == b"a,b\n"


def test_tar_special_files_get_a_header_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "fifo")
    buf = io.BytesIO()
    write_tar_gz(out, buf)
    buf.seek(0)
    with tarfile.open(fileobj=buf, mode="r:gz") as tar:
        fifo = tar.getmember("out/fifo")
    assert fifo.isfifo() and fifo.size == 0


def test_tar_leaves_sockets_out(tmp_path: Path) -> None:
    import socket

    out = tmp_path / "o"
    out.mkdir()
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(out / "s"))
        buf = io.BytesIO()
        write_tar_gz(out, buf)
    finally:
        sock.close()
    buf.seek(0)
    with tarfile.open(fileobj=buf, mode="r:gz") as tar:
        assert tar.getnames() == ["o"]


def test_source_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file or directory"):
        write_tar_gz(tmp_path / "missing", io.BytesIO())
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(Internal, match="is not a regular file or directory"):
        write_zip(tmp_path / "fifo", io.BytesIO())


def test_an_interrupted_pack_prints_nothing_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A second signal landing as the tar's with block unwound (Ctrl-C, then the liveness
    # watchdog) once left tarfile's stream buffer unclosed, holding a partial record; its
    # __del__ then wrote to the closed gzip file and `make report` printed a traceback.
    (tmp_path / "f").write_bytes(b"x")
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(tarfile.TarFile, "__exit__", interrupted)
        with pytest.raises(KeyboardInterrupt) as raised:
            write_tar_gz(tmp_path / "f", io.BytesIO())
    del raised  # its traceback holds the half-closed tar
    gc.collect()
    assert unraisable == []


def test_compression_level_is_honoured(tmp_path: Path) -> None:
    f = tmp_path / "data.txt"
    f.write_bytes(b"0123456789" * 20000)
    sizes: dict[int, int] = {}
    for level in (0, 1, 9):
        buf = io.BytesIO()
        write_tar_gz(f, buf, compression_level=level)
        sizes[level] = len(buf.getvalue())
    assert sizes[0] > 200000  # stored, not compressed
    assert sizes[9] < sizes[1] < sizes[0]
    default = io.BytesIO()
    write_tar_gz(f, default)
    explicit = io.BytesIO()
    write_tar_gz(f, explicit, compression_level=6)
    assert len(default.getvalue()) == len(explicit.getvalue())


def test_zip_of_directory_keeps_files_only(tmp_path: Path) -> None:
    out = make_tree(tmp_path)
    buf = io.BytesIO()
    write_zip(out, buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as zf:
        names = zf.namelist()
        assert zf.read("out/link") == b""  # symlinks become empty entries (spec 5.3)
        assert zf.read("out/sub/deeper/c.txt") == b"gamma"
        mode = zf.getinfo("out/sub/b.bin").external_attr >> 16
    assert sorted(names) == ["out/a.txt", "out/link", "out/sub/b.bin", "out/sub/deeper/c.txt"]
    assert stat.S_IMODE(mode) == 0o750


def test_zip_of_file_uses_base_name(tmp_path: Path) -> None:
    """Argo stores the absolute path; we store the base name (zip-single-file-base-name)."""
    f = tmp_path / "x.bin"
    f.write_bytes(b"x")
    buf = io.BytesIO()
    write_zip(f, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert zf.namelist() == ["x.bin"]


def test_zip_clamps_old_timestamps(tmp_path: Path) -> None:
    f = tmp_path / "old"
    f.write_bytes(b"o")
    os.utime(f, (0, 0))
    buf = io.BytesIO()
    write_zip(f, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert zf.getinfo("old").date_time[0] == 1980


def test_write_archive_dispatch(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"f")
    tar_buf, zip_buf = io.BytesIO(), io.BytesIO()
    write_archive(f, tar_buf, ArchiveKind.TAR, compression_level=1)
    write_archive(f, zip_buf, ArchiveKind.ZIP)
    assert tar_buf.getvalue()[:2] == b"\x1f\x8b"
    assert zip_buf.getvalue()[:2] == b"PK"
    with pytest.raises(ValueError, match="none"):
        write_archive(f, io.BytesIO(), ArchiveKind.NONE)


# --------------------------------------------------------------------------------------------
# round trips, detection, the single-entry rule
# --------------------------------------------------------------------------------------------


def test_tar_round_trip_renames_single_top_entry(tmp_path: Path) -> None:
    out = make_tree(tmp_path / "src")
    archive = tmp_path / "out.tgz"
    with open(archive, "wb") as f:
        write_tar_gz(out, f)
    dest = tmp_path / "dest"
    assert unpack(archive, dest, ArchiveKind.TAR) == []
    assert snapshot(dest) == snapshot(out)
    assert os.readlink(dest / "link") == "a.txt"
    assert (dest / "link").read_text() == "alpha"
    assert stat.S_IMODE((dest / "sub" / "b.bin").stat().st_mode) == 0o750
    assert (dest / "empty").is_dir()
    assert (dest / "a.txt").stat().st_mtime == pytest.approx((out / "a.txt").stat().st_mtime, 1)
    assert [p.name for p in tmp_path.iterdir() if "tmpdir" in p.name] == []


def test_zip_round_trip(tmp_path: Path) -> None:
    out = make_tree(tmp_path / "src")
    archive = tmp_path / "out.zip"
    with open(archive, "wb") as f:
        write_zip(out, f)
    dest = tmp_path / "dest"
    unpack(archive, dest, ArchiveKind.ZIP)
    assert (dest / "sub" / "deeper" / "c.txt").read_text() == "gamma"
    assert (dest / "link").read_bytes() == b""
    assert not (dest / "empty").exists()


def test_single_file_becomes_destination(tmp_path: Path) -> None:
    data = make_tgz([Entry("only.txt", data=b"one")])
    dest = tmp_path / "dest"
    unpack(io.BytesIO(data), dest, ArchiveKind.TAR)
    assert dest.is_file() and dest.read_bytes() == b"one"


def test_several_top_entries_become_the_destination_directory(tmp_path: Path) -> None:
    data = make_tgz([Entry("./", tarfile.DIRTYPE), Entry("./a", data=b"a"), Entry("./b")])
    dest = tmp_path / "dest"
    unpack(io.BytesIO(data), dest, ArchiveKind.TAR)
    assert sorted(os.listdir(dest)) == ["a", "b"]
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755


def test_empty_archive_gives_empty_directory(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    unpack(io.BytesIO(make_tgz([])), dest, ArchiveKind.TAR)
    assert dest.is_dir() and os.listdir(dest) == []


def test_unpack_refuses_existing_destination_and_none(tmp_path: Path) -> None:
    (tmp_path / "dest").mkdir()
    with pytest.raises(BadRequest, match="already exists"):
        unpack(io.BytesIO(make_tgz([])), tmp_path / "dest", ArchiveKind.TAR)
    with pytest.raises(ValueError, match="none"):
        unpack(io.BytesIO(b""), tmp_path / "other", ArchiveKind.NONE)


def test_detection(tmp_path: Path) -> None:
    """TestIsTarball: .tgz yes; .tar, .gz, .zip, plain files and directories no (spec 5.4)."""
    f = tmp_path / "f.txt"
    f.write_text("plain")
    cases: dict[str, bytes] = {
        "a.tgz": make_tgz([Entry("f", data=b"x")]),
        "a.tar": b"",
        "a.gz": gzip.compress(b"not a tar at all" * 40),
        "a.zip": make_zip([ZEntry("f", b"x")]),
        "empty.tgz": make_tgz([]),
    }
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("x"))
    cases["a.tar"] = tar_buf.getvalue()
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    assert is_tar_gz(tmp_path / "a.tgz")
    for name in ("a.tar", "a.gz", "a.zip", "empty.tgz", "f.txt"):
        assert not is_tar_gz(tmp_path / name), name
    assert not is_tar_gz(tmp_path)
    assert not is_tar_gz(tmp_path / "missing")


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (ArchiveKind.TAR, b"plain text, not gzip"),
        # mtime=0: gzip's header otherwise holds the current time, and ids must not change.
        (ArchiveKind.TAR, gzip.compress(b"\x01" * 1024, mtime=0)),
        (ArchiveKind.ZIP, b"plain text, not zip"),
    ],
    ids=["tar-not-gzip", "tar-gzip-not-tar", "zip-not-zip"],
)
def test_garbage_is_bad_request_and_leaves_nothing(
    tmp_path: Path, kind: ArchiveKind, data: bytes
) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(BadRequest, match="not a valid"):
        unpack(io.BytesIO(data), dest, kind)
    assert os.listdir(tmp_path) == []


def test_truncated_tar_leaves_no_partial_output(tmp_path: Path) -> None:
    big = os.urandom(300_000)
    data = make_tgz([Entry("d/first", data=b"1"), Entry("d/big", data=big)])
    dest = tmp_path / "dest"
    with pytest.raises(BadRequest):
        unpack(io.BytesIO(data[: len(data) // 2]), dest, ArchiveKind.TAR)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------------------------
# malicious corpus
# --------------------------------------------------------------------------------------------

OUTSIDE = f"artconf-outside-{uuid.uuid4().hex}"


@dataclass
class Case:
    """A crafted archive and what must happen: ``reject`` or extraction that passes ``check``."""

    kind: ArchiveKind
    data: Callable[[Path], bytes]
    expect: str  # "reject" | "extract"
    check: Callable[[Path], None] | None = None
    match: str | None = None


def _no(path: str) -> Callable[[Path], None]:
    def check(dest: Path) -> None:
        assert dest.is_dir()
        assert not os.path.lexists(dest / path), path

    return check


def _mode(path: str, expected: int) -> Callable[[Path], None]:
    def check(dest: Path) -> None:
        assert stat.S_IMODE((dest / path).stat().st_mode) == expected

    return check


def _regular(path: str, content: bytes) -> Callable[[Path], None]:
    def check(dest: Path) -> None:
        p = dest / path
        assert not p.is_symlink() and p.is_file()
        assert p.read_bytes() == content

    return check


def _link(path: str, target: str) -> Callable[[Path], None]:
    def check(dest: Path) -> None:
        assert os.readlink(dest / path) == target

    return check


def _all(*checks: Callable[[Path], None]) -> Callable[[Path], None]:
    def check(dest: Path) -> None:
        for c in checks:
            c(dest)

    return check


def T(*entries: Entry, fmt: int = tarfile.PAX_FORMAT) -> Callable[[Path], bytes]:
    return lambda _outside: make_tgz(list(entries), fmt)


def Z(*entries: ZEntry) -> Callable[[Path], bytes]:
    return lambda _outside: make_zip(list(entries))


SYM, LNK, DIR = tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE
KEEP = Entry("keep", data=b"k")  # a second top-level entry keeps the destination a directory

CORPUS: dict[str, Case] = {
    "tar-traversal": Case(ArchiveKind.TAR, T(Entry("../evil.txt", data=b"x")), "reject"),
    "tar-traversal-dot-prefix": Case(
        ArchiveKind.TAR, T(Entry("./../evil.txt", data=b"x")), "reject"
    ),
    "tar-traversal-after-dir": Case(
        ArchiveKind.TAR, T(Entry("a/", DIR), Entry("a/../../evil.txt", data=b"x")), "reject"
    ),
    "tar-deep-traversal": Case(
        ArchiveKind.TAR, T(Entry("../" * 30 + f"tmp/{OUTSIDE}", data=b"x")), "reject"
    ),
    "tar-deep-traversal-long-pax-name": Case(
        ArchiveKind.TAR, T(Entry("a/" * 60 + "../" * 61 + "evil.txt", data=b"x")), "reject"
    ),
    "tar-traversal-gnu-longname": Case(
        ArchiveKind.TAR,
        T(Entry("b/" * 70 + "../" * 71 + "evil.txt", data=b"x"), fmt=tarfile.GNU_FORMAT),
        "reject",
    ),
    "tar-absolute-path": Case(
        ArchiveKind.TAR, T(Entry(f"/tmp/{OUTSIDE}", data=b"x")), "reject", match="absolute"
    ),
    "tar-symlink-to-parent-then-write": Case(
        ArchiveKind.TAR,
        T(Entry("link", SYM, linkname=".."), Entry("link/evil.txt", data=b"x")),
        "reject",
        match="illegal symlink target",
    ),
    "tar-symlink-to-outside-dir-then-write": Case(
        ArchiveKind.TAR,
        lambda outside: make_tgz(
            [Entry("link", SYM, linkname=str(outside)), Entry("link/evil.txt", data=b"x")]
        ),
        "reject",
        match="absolute",
    ),
    "tar-relative-symlink-escape": Case(
        ArchiveKind.TAR, T(Entry("d/l", SYM, linkname="../../../outside")), "reject"
    ),
    "tar-absolute-symlink-target": Case(
        ArchiveKind.TAR, T(Entry("l", SYM, linkname="/etc/passwd")), "reject"
    ),
    "tar-symlink-to-root-of-fs": Case(ArchiveKind.TAR, T(Entry("l", SYM, linkname="/")), "reject"),
    "tar-write-through-in-tree-symlink": Case(
        ArchiveKind.TAR,
        T(Entry("d/", DIR), Entry("l", SYM, linkname="d"), Entry("l/f", data=b"x")),
        "reject",
        match="writing through a link",
    ),
    "tar-dir-through-symlink": Case(
        ArchiveKind.TAR,
        T(Entry("d/", DIR), Entry("l", SYM, linkname="d"), Entry("l/sub/", DIR)),
        "reject",
    ),
    "tar-symlink-chain-with-dotdot": Case(
        # l -> s/../x is stored normalized as "x": the kernel would follow s (-> .) first.
        ArchiveKind.TAR,
        T(
            Entry("top/", DIR),
            Entry("top/s", SYM, linkname="."),
            Entry("top/l", SYM, linkname="s/../x"),
        ),
        "extract",
        check=_link("l", "x"),
    ),
    "tar-single-top-entry-link-to-sibling": Case(
        # Inside the extraction directory, but next to the destination after the rename.
        ArchiveKind.TAR,
        T(Entry("out/", DIR), Entry("out/l", SYM, linkname="../sibling")),
        "reject",
        match="becomes the destination",
    ),
    "tar-single-top-entry-is-a-link": Case(
        ArchiveKind.TAR, T(Entry("l", SYM, linkname=".")), "reject", match="only top-level"
    ),
    "tar-link-replacing-extracted-dir": Case(
        ArchiveKind.TAR,
        T(Entry("d/", DIR), Entry("d/f", data=b"x"), Entry("e/", DIR), Entry("d", SYM, "", "e")),
        "reject",
        match="conflicting",
    ),
    "tar-duplicate-entry-overwrites-through-symlink": Case(
        # The second "f" replaces the link; it must not write into the link's target.
        ArchiveKind.TAR,
        T(
            Entry("target.txt", data=b"original"),
            Entry("f", SYM, linkname="target.txt"),
            Entry("f", data=b"overwritten"),
        ),
        "extract",
        check=_all(_regular("target.txt", b"original"), _regular("f", b"overwritten")),
    ),
    "tar-duplicate-escaping-symlink-then-file": Case(
        ArchiveKind.TAR,
        T(Entry("f", SYM, linkname="../../outside-file"), Entry("f", data=b"x")),
        "reject",
    ),
    "tar-hard-link-inside": Case(
        ArchiveKind.TAR,
        T(Entry("a", data=b"a"), Entry("h", LNK, linkname="a"), KEEP),
        "extract",
        check=_no("h"),
    ),
    "tar-hard-link-to-etc-passwd": Case(
        ArchiveKind.TAR,
        T(Entry("f", data=b"f"), Entry("h", LNK, linkname="/etc/passwd"), KEEP),
        "extract",
        check=_no("h"),
    ),
    "tar-hard-link-to-outside-relative": Case(
        ArchiveKind.TAR,
        T(Entry("f", data=b"f"), Entry("h", LNK, linkname="../../outside"), KEEP),
        "extract",
        check=_no("h"),
    ),
    "tar-char-device": Case(
        ArchiveKind.TAR,
        T(Entry("f", data=b"f"), Entry("null", tarfile.CHRTYPE), KEEP),
        "extract",
        check=_no("null"),
    ),
    "tar-block-device": Case(
        ArchiveKind.TAR,
        T(Entry("f", data=b"f"), Entry("sda", tarfile.BLKTYPE), KEEP),
        "extract",
        check=_no("sda"),
    ),
    "tar-fifo": Case(
        ArchiveKind.TAR,
        T(Entry("f", data=b"f"), Entry("pipe", tarfile.FIFOTYPE), KEEP),
        "extract",
        check=_no("pipe"),
    ),
    "tar-setuid-setgid-sticky": Case(
        ArchiveKind.TAR,
        T(Entry("suid", data=b"#!/bin/sh\n", mode=0o7755), Entry("g", data=b"g", mode=0o2640)),
        "extract",
        check=_all(_mode("suid", 0o755), _mode("g", 0o640)),
    ),
    "tar-file-named-dot": Case(ArchiveKind.TAR, T(Entry(".", data=b"x")), "reject"),
    "tar-empty-symlink-target": Case(
        ArchiveKind.TAR, T(Entry("a", data=b"a"), Entry("l", SYM, linkname="")), "reject"
    ),
    "zip-slip": Case(ArchiveKind.ZIP, Z(ZEntry("../evil.txt", b"x")), "reject"),
    "zip-deep-slip": Case(
        ArchiveKind.ZIP, Z(ZEntry("a/../" + "../" * 20 + f"tmp/{OUTSIDE}", b"x")), "reject"
    ),
    "zip-absolute": Case(ArchiveKind.ZIP, Z(ZEntry(f"/tmp/{OUTSIDE}", b"x")), "reject"),
    "zip-symlink-escape-then-write": Case(
        # A link entry becomes a regular file holding the link text, so writing under it fails.
        ArchiveKind.ZIP,
        Z(
            ZEntry("l", b"../../outside", stat.S_IFLNK | 0o777),
            ZEntry("l/evil.txt", b"x"),
        ),
        "reject",
    ),
    "zip-symlink-absolute-is-plain-file": Case(
        ArchiveKind.ZIP,
        Z(ZEntry("a", b"a"), ZEntry("l", b"/etc/passwd", stat.S_IFLNK | 0o777)),
        "extract",
        check=_all(_regular("l", b"/etc/passwd"), _mode("l", 0o777)),
    ),
    "zip-setuid": Case(
        ArchiveKind.ZIP,
        Z(ZEntry("suid", b"x", stat.S_IFREG | 0o4755), ZEntry("b", b"b")),
        "extract",
        check=_mode("suid", 0o755),
    ),
    "zip-char-device-and-fifo": Case(
        ArchiveKind.ZIP,
        Z(
            ZEntry("f", b"f"),
            ZEntry("g", b"g"),
            ZEntry("dev", b"", stat.S_IFCHR | 0o666),
            ZEntry("p", b"", stat.S_IFIFO | 0o666),
        ),
        "extract",
        check=_all(_no("dev"), _no("p")),
    ),
    "zip-backslash-name-stays-inside": Case(
        ArchiveKind.ZIP,
        Z(ZEntry("..\\evil.txt", b"x"), ZEntry("ok", b"ok")),
        "extract",
        check=_regular("..\\evil.txt", b"x"),
    ),
}


@pytest.mark.parametrize("case_id", list(CORPUS))
def test_malicious_archive(tmp_path: Path, case_id: str) -> None:
    """Rejected with BadRequest, or extracted with the bad entry skipped; nothing escapes."""
    case = CORPUS[case_id]
    sentinel = tmp_path / "sentinel"  # everything the extraction could reach by escaping
    sandbox = sentinel / "level1" / "level2" / "sandbox"
    sandbox.mkdir(parents=True)
    outside = sentinel / "outside-dir"
    outside.mkdir()
    (sentinel / "outside-file").write_text("keep")
    dest = sandbox / "dest"
    data = case.data(outside)
    before = snapshot(sentinel)
    tmp_outside = Path("/tmp") / OUTSIDE

    source: IO[bytes] = io.BytesIO(data)
    if case.expect == "reject":
        with pytest.raises(BadRequest) as info:
            unpack(source, dest, case.kind)
        if case.match:
            assert case.match in str(info.value)
        assert snapshot(sentinel) == before  # no partial output, nothing outside
    else:
        unpack(source, dest, case.kind)
        after = snapshot(sentinel)
        prefix = str(dest.relative_to(sentinel))
        outside_dest = {
            k: v for k, v in after.items() if k != prefix and not k.startswith(prefix + "/")
        }
        assert outside_dest == before
        for link in (p for p in dest.rglob("*") if p.is_symlink()):
            resolved = Path(os.path.realpath(link))
            assert resolved == dest or dest in resolved.parents, link
        assert case.check is not None
        case.check(dest)
    assert not tmp_outside.exists()


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20


def test_extract_low_level_reports_skipped(tmp_path: Path) -> None:
    data = make_tgz([Entry("a", data=b"a"), Entry("h", LNK, linkname="a")])
    assert extract_tar_gz(io.BytesIO(data), tmp_path) == ["h"]
    zdata = make_zip([ZEntry("p", b"", stat.S_IFIFO | 0o644), ZEntry("d/", b"", 0)])
    zroot = tmp_path / "z"
    zroot.mkdir()
    assert extract_zip(io.BytesIO(zdata), zroot) == ["p"]
    assert (zroot / "d").is_dir()


def test_directory_entry_replaces_file(tmp_path: Path) -> None:
    data = make_tgz([Entry("x", data=b"x"), Entry("x/", DIR), Entry("x/f", data=b"f")])
    extract_tar_gz(io.BytesIO(data), tmp_path)
    assert (tmp_path / "x" / "f").read_bytes() == b"f"


def test_file_under_a_file_is_rejected(tmp_path: Path) -> None:
    data = make_tgz([Entry("x", data=b"x"), Entry("x/f", data=b"f")])
    with pytest.raises(BadRequest, match="is not a directory"):
        extract_tar_gz(io.BytesIO(data), tmp_path)


def test_name_with_nul_is_rejected(tmp_path: Path) -> None:
    data = make_zip([ZEntry("a\x00b", b"x")])
    # zipfile truncates at NUL when reading; the entry lands as "a", inside.
    extract_zip(io.BytesIO(data), tmp_path)
    assert os.listdir(tmp_path) == ["a"]
    from drivers.core.archives import _member_parts

    with pytest.raises(BadRequest, match="NUL"):
        _member_parts("a\x00b")


def test_in_tree_symlink_to_root_is_kept_without_rename(tmp_path: Path) -> None:
    data = make_tgz([Entry("a/", DIR), Entry("b", data=b"b"), Entry("a/up", SYM, linkname="..")])
    dest = tmp_path / "dest"
    unpack(io.BytesIO(data), dest, ArchiveKind.TAR)
    assert os.path.realpath(dest / "a" / "up") == str(dest.resolve())


# --------------------------------------------------------------------------------------------
# streaming and GNU tar interop
# --------------------------------------------------------------------------------------------


def test_tar_writer_and_reader_work_on_a_pipe(tmp_path: Path) -> None:
    out = make_tree(tmp_path / "src")
    read_fd, write_fd = os.pipe()
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            with open(write_fd, "wb") as raw:
                write_tar_gz(out, NonSeekable(raw))  # type: ignore[arg-type]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writer = threading.Thread(target=produce)
    writer.start()
    with open(read_fd, "rb") as raw:
        unpack(NonSeekable(raw), tmp_path / "dest", ArchiveKind.TAR)  # type: ignore[arg-type]
    writer.join()
    assert not errors
    assert snapshot(tmp_path / "dest") == snapshot(out)


def test_zip_writer_on_non_seekable_stream_and_reader_spools(tmp_path: Path) -> None:
    out = make_tree(tmp_path / "src")
    sink = io.BytesIO()
    write_zip(out, NonSeekable(sink))  # type: ignore[arg-type]
    dest = tmp_path / "dest"
    unpack(NonSeekable(io.BytesIO(sink.getvalue())), dest, ArchiveKind.ZIP)  # type: ignore[arg-type]
    assert (dest / "a.txt").read_text() == "alpha"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest", "src"]


@pytest.mark.skipif(not HAVE_GNU_TAR, reason="GNU tar not installed")
def test_gnu_tar_lists_our_archive_with_basename_on_top(tmp_path: Path) -> None:
    out = make_tree(tmp_path / "src")
    archive = tmp_path / "ours.tgz"
    with open(archive, "wb") as f:
        write_tar_gz(out, f)
    listing = subprocess.run(
        ["tar", "tzf", str(archive)], check=True, capture_output=True, text=True
    ).stdout.split()
    assert listing[0] == "out/"
    assert all(name == "out/" or name.startswith("out/") for name in listing)
    assert "out/sub/deeper/c.txt" in listing
    extracted = tmp_path / "gnu"
    extracted.mkdir()
    subprocess.run(["tar", "xzf", str(archive), "-C", str(extracted)], check=True)
    assert snapshot(extracted / "out") == snapshot(out)


@pytest.mark.skipif(not HAVE_GNU_TAR, reason="GNU tar not installed")
@pytest.mark.parametrize("style", ["dir", "dot"])
def test_gnu_tar_archives_unpack(tmp_path: Path, style: str) -> None:
    out = make_tree(tmp_path / "src")
    archive = tmp_path / "gnu.tgz"
    if style == "dir":
        cmd = ["tar", "czf", str(archive), "-C", str(out.parent), "out"]
    else:
        cmd = ["tar", "czf", str(archive), "-C", str(out), "."]
    subprocess.run(cmd, check=True)
    assert is_tar_gz(archive)
    dest = tmp_path / "dest"
    unpack(archive, dest, ArchiveKind.TAR)
    assert snapshot(dest) == snapshot(out)


def test_same_tree_gives_same_bytes(tmp_path: Path) -> None:
    out = make_tree(tmp_path)
    first, second = io.BytesIO(), io.BytesIO()
    write_tar_gz(out, first)
    write_tar_gz(out, second)
    assert first.getvalue() == second.getvalue()


def test_very_deep_tree_does_not_recurse(tmp_path: Path) -> None:
    """The walk is iterative: a tree deeper than the recursion limit still archives."""
    out = tmp_path / "deep"
    current = str(out)
    os.mkdir(current)
    for _ in range(600):
        current += "/d"
        os.mkdir(current)
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 300)  # half as many frames as levels; room for tracers
    try:
        buf = io.BytesIO()
        write_tar_gz(out, buf)
    finally:
        sys.setrecursionlimit(old_limit)
    buf.seek(0)
    with tarfile.open(fileobj=buf, mode="r:gz") as tar:
        assert len(tar.getnames()) == 601


def test_overlong_name_is_bad_request_naming_it(tmp_path: Path) -> None:
    name = "x" * 300
    # The name is cut in the message past 160 characters (drivers.core.errors.bounded): match
    # its start.
    with pytest.raises(BadRequest, match=f"cannot extract archive entry {name[:100]}"):
        unpack(io.BytesIO(make_tgz([Entry(name, data=b"x")])), tmp_path / "d", ArchiveKind.TAR)
    assert os.listdir(tmp_path) == []


def test_odd_timestamps_are_ignored(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("future")
        info.mtime = 10**20
        info.size = 1
        tar.addfile(info, io.BytesIO(b"f"))
        tar.addfile(tarfile.TarInfo("other"), io.BytesIO(b""))
    unpack(io.BytesIO(buf.getvalue()), tmp_path / "t", ArchiveKind.TAR)
    assert (tmp_path / "t" / "future").read_bytes() == b"f"
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("z", date_time=(1980, 1, 1, 0, 0, 0)), b"z")
        zf.writestr("other", b"o")
    raw = bytearray(zbuf.getvalue())
    # Zero the month/day of every DOS date field: month 0 is not a valid date.
    for signature, offset in ((b"PK\x03\x04", 12), (b"PK\x01\x02", 14)):
        start = 0
        while (start := raw.find(signature, start)) != -1:
            raw[start + offset : start + offset + 2] = b"\x00\x00"
            start += 4
    unpack(io.BytesIO(bytes(raw)), tmp_path / "z", ArchiveKind.ZIP)
    assert (tmp_path / "z" / "z").read_bytes() == b"z"


def test_repeated_directory_and_root_symlink_entries(tmp_path: Path) -> None:
    data = make_tgz([Entry("d/", DIR), Entry("d/", DIR), Entry("d/f", data=b"f")])
    (tmp_path / "a").mkdir()
    extract_tar_gz(io.BytesIO(data), tmp_path / "a")
    assert (tmp_path / "a" / "d" / "f").read_bytes() == b"f"
    with pytest.raises(BadRequest, match="cannot replace the destination"):
        extract_tar_gz(io.BytesIO(make_tgz([Entry("./", SYM, linkname="x")])), tmp_path / "a")


# --------------------------------------------------------------------------------------------
# decompression-bomb limits
# --------------------------------------------------------------------------------------------

MiB = 1024 * 1024
LIMIT_VARIABLES = (MAX_BYTES_ENV, MAX_RATIO_ENV, MAX_ENTRIES_ENV)


@pytest.fixture(autouse=True)
def _no_limit_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The limits a test sees are the ones it sets, whatever the caller's environment says."""
    for name in LIMIT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def deflate_block(data: bytes, *, final: bool = False) -> bytes:
    """``data`` as self-contained raw deflate: byte-aligned, referring to nothing before it.

    Such blocks can be concatenated, so a bomb of N MiB is one compressed MiB repeated N times
    instead of N MiB compressed (zlib needs about 4 s per GiB of zeros).
    """
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(
        zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH
    )


ZEROS = bytes(MiB)
ZEROS_BLOCK = deflate_block(ZEROS)


def tar_gz_bomb(size: int, name: str = "bomb.bin") -> Iterator[bytes]:
    """A tar.gz holding one file of ``size`` zero bytes, produced lazily (never in memory)."""
    info = tarfile.TarInfo(name)
    info.size = size
    header = info.tobuf(tarfile.PAX_FORMAT)  # PAX: sizes over 8 GiB
    tail = bytes(-size % 512 + 1024)  # padding, then the two end-of-archive blocks
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip header, mtime 0
    yield deflate_block(header)
    crc = zlib.crc32(header)
    whole, rest = divmod(size, MiB)
    for _ in range(whole):
        yield ZEROS_BLOCK
        crc = zlib.crc32(ZEROS, crc)
    yield deflate_block(bytes(rest) + tail, final=True)
    crc = zlib.crc32(bytes(rest) + tail, crc)
    yield struct.pack("<II", crc, (len(header) + size + len(tail)) & 0xFFFFFFFF)


class GeneratorStream(io.RawIOBase):
    """A forward-only stream over an iterator of byte strings, like a download in progress."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self.consumed += n
        return n


def zip_bomb(path: Path, size: int, *, declared_size: int | None = None) -> Path:
    """A zip of one file of ``size`` zero bytes whose headers say it is ``declared_size``."""
    name = b"bomb.bin"
    whole, rest = divmod(size, MiB)
    data = ZEROS_BLOCK * whole + deflate_block(bytes(rest), final=True)
    crc = zlib.crc32(bytes(rest), zeros_crc(whole))
    declared = size if declared_size is None else declared_size
    sizes = (crc, len(data), declared)
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, *sizes, len(name), 0)
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        0x0314,  # made by Unix, so the external attributes hold a mode
        20,
        0,
        8,
        0,
        0x21,
        *sizes,
        len(name),
        0,
        0,
        0,
        0,
        (stat.S_IFREG | 0o644) << 16,
        0,
    )
    directory_at = len(local) + len(name) + len(data)
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), directory_at, 0
    )
    path.write_bytes(local + name + data + central + name + end)
    return path


@functools.cache
def zeros_crc(mebibytes: int) -> int:
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(ZEROS, crc)
    return crc


@dataclass
class Written:
    """What was on disk under the extraction directory when unpack removed it."""

    total: int = 0
    largest: int = 0
    removed: list[Path] = field(default_factory=list)


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> Written:
    """Measure the partial extraction at the moment it is removed (files only ever grow)."""
    seen = Written()
    real_rmtree = shutil.rmtree

    def measuring_rmtree(path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> None:
        for dirpath, _, filenames in os.walk(path):
            for name in filenames:
                size = os.lstat(os.path.join(dirpath, name)).st_size
                seen.total += size
                seen.largest = max(seen.largest, size)
        seen.removed.append(Path(path))
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", measuring_rmtree)
    return seen


def assert_refused_cleanly(
    info: pytest.ExceptionInfo[ExtractionLimitExceeded], setting: str, parent: Path
) -> None:
    """The error names the setting and its value; nothing is left next to the destination."""
    assert isinstance(info.value, BadRequest)
    assert setting in str(info.value), str(info.value)
    assert "likely decompression bomb" in str(info.value)
    assert os.listdir(parent) == []


GiB_BOMB = 1024 * MiB


# (limits, the setting the error names, the most bytes it may write first)
BOMB_LIMITS = [
    pytest.param(
        ExtractionLimits(max_bytes=4 * MiB, max_ratio=10**6),
        f"{MAX_BYTES_ENV}=4194304",
        4 * MiB,
        id="bytes",
    ),
    # The real defaults: zeros go past 500:1 as soon as the ratio is checked (16 MiB).
    pytest.param(ExtractionLimits(), f"{MAX_RATIO_ENV}=500", 24 * MiB, id="ratio-default"),
]


@pytest.mark.parametrize(("limits", "setting", "most"), BOMB_LIMITS)
def test_tar_gz_bomb_is_refused_while_streaming(
    tmp_path: Path, written: Written, limits: ExtractionLimits, setting: str, most: int
) -> None:
    parent = tmp_path / "inputs"
    parent.mkdir()
    stream = GeneratorStream(tar_gz_bomb(GiB_BOMB))
    with pytest.raises(ExtractionLimitExceeded) as info:
        unpack(stream, parent / "dest", ArchiveKind.TAR, limits=limits)  # type: ignore[arg-type]
    assert_refused_cleanly(info, setting, parent)
    assert 0 < written.total <= most
    assert stream.consumed < 64 * len(ZEROS_BLOCK)  # stopped early: under 64 of 1024 MiB read
    assert [p.parent for p in written.removed] == [parent]


@pytest.mark.parametrize(("limits", "setting", "most"), BOMB_LIMITS)
def test_zip_bomb_is_refused_while_streaming(
    tmp_path: Path, written: Written, limits: ExtractionLimits, setting: str, most: int
) -> None:
    bomb = zip_bomb(tmp_path / "bomb.zip", GiB_BOMB)
    parent = tmp_path / "inputs"
    parent.mkdir()
    with pytest.raises(ExtractionLimitExceeded) as info:
        unpack(bomb, parent / "dest", ArchiveKind.ZIP, limits=limits)
    assert_refused_cleanly(info, setting, parent)
    assert 0 < written.total <= most
    assert [p.parent for p in written.removed] == [parent]


def empty_files_tgz(count: int) -> bytes:
    return make_tgz([Entry(f"d/f{i:05}") for i in range(count)])


def empty_files_zip(count: int) -> bytes:
    return make_zip([ZEntry(f"d/f{i:05}") for i in range(count)])


@pytest.mark.parametrize(
    ("kind", "make"),
    [(ArchiveKind.TAR, empty_files_tgz), (ArchiveKind.ZIP, empty_files_zip)],
    ids=["tar", "zip"],
)
def test_entry_count_bomb_is_refused(
    tmp_path: Path, kind: ArchiveKind, make: Callable[[int], bytes]
) -> None:
    limits = ExtractionLimits(max_entries=1000)
    parent = tmp_path / "inputs"
    parent.mkdir()
    with pytest.raises(ExtractionLimitExceeded) as info:
        unpack(io.BytesIO(make(1001)), parent / "dest", kind, limits=limits)
    assert_refused_cleanly(info, f"{MAX_ENTRIES_ENV}=1000", parent)
    assert "entry 1001" in str(info.value)
    unpack(io.BytesIO(make(1000)), parent / "dest", kind, limits=limits)  # just under: fine
    assert len(os.listdir(parent / "dest")) == 1000


def test_zip_sizes_in_headers_are_not_trusted(tmp_path: Path, written: Written) -> None:
    """Sizes are counted as written: an overstated header neither refuses nor lets through."""
    limits = ExtractionLimits(max_bytes=4 * MiB, max_ratio=10**6)
    claims_4gib = 0xFFFF0000
    small = zip_bomb(tmp_path / "small.zip", 3 * MiB, declared_size=claims_4gib)
    unpack(small, tmp_path / "small", ArchiveKind.ZIP, limits=limits)
    assert (tmp_path / "small").stat().st_size == 3 * MiB
    bomb = zip_bomb(tmp_path / "bomb.zip", GiB_BOMB, declared_size=claims_4gib)
    with pytest.raises(ExtractionLimitExceeded, match=MAX_BYTES_ENV):
        unpack(bomb, tmp_path / "dest", ArchiveKind.ZIP, limits=limits)
    assert 0 < written.total <= 4 * MiB
    assert not os.path.lexists(tmp_path / "dest")


def repeated_log(size: int) -> bytes:
    """One log line over and over: the most compressible text a real workflow writes (343:1)."""
    line = b"2024-01-01T00:00:00Z INFO worker heartbeat ok\n"
    return (line * (size // len(line) + 1))[:size]


@pytest.mark.parametrize("kind", [ArchiveKind.TAR, ArchiveKind.ZIP], ids=["tar", "zip"])
def test_legitimate_archives_under_the_limits_extract(tmp_path: Path, kind: ArchiveKind) -> None:
    def archive(*files: tuple[str, bytes]) -> io.BytesIO:
        if kind is ArchiveKind.TAR:
            return io.BytesIO(make_tgz([Entry(f"d/{n}", data=d) for n, d in files]))
        return io.BytesIO(make_zip([ZEntry(f"d/{n}", d) for n, d in files], zipfile.ZIP_DEFLATED))

    # Bytes: exactly the limit is allowed, one byte more is not.
    two_mib = archive(("a", os.urandom(MiB)), ("b", os.urandom(MiB)))
    with pytest.raises(ExtractionLimitExceeded, match=MAX_BYTES_ENV):
        unpack(two_mib, tmp_path / "over", kind, limits=ExtractionLimits(max_bytes=2 * MiB - 1))
    two_mib.seek(0)
    unpack(two_mib, tmp_path / "exact", kind, limits=ExtractionLimits(max_bytes=2 * MiB))
    assert sorted(os.listdir(tmp_path / "exact")) == ["a", "b"]
    # Ratio: very repetitive text stays under 500:1 ...
    log = repeated_log(40 * MiB)
    unpack(archive(("log", log)), tmp_path / "log", kind)
    assert (tmp_path / "log" / "log").stat().st_size == len(log)
    # ... and a few MiB of zeros (1000:1) are produced before the ratio is ever checked.
    unpack(archive(("zeros", bytes(8 * MiB))), tmp_path / "zeros", kind)
    assert (tmp_path / "zeros" / "zeros").stat().st_size == 8 * MiB


def test_ratio_is_measured_on_bytes_actually_read(tmp_path: Path) -> None:
    """Repetitive text at about 340:1 passes a 400:1 limit and is refused under 300:1."""
    data = make_tgz([Entry("log", data=repeated_log(40 * MiB))])
    after = ExtractionLimits(ratio_after=MiB, max_ratio=400)
    unpack(io.BytesIO(data), tmp_path / "ok", ArchiveKind.TAR, limits=after)
    with pytest.raises(ExtractionLimitExceeded, match=f"{MAX_RATIO_ENV}=300"):
        unpack(
            io.BytesIO(data), tmp_path / "no", ArchiveKind.TAR, limits=replace(after, max_ratio=300)
        )
    assert sorted(os.listdir(tmp_path)) == ["ok"]


def test_environment_overrides_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ExtractionLimits.from_env({}) == ExtractionLimits()
    env = {MAX_BYTES_ENV: "2GiB", MAX_RATIO_ENV: "250.5", MAX_ENTRIES_ENV: " 5000 "}
    assert ExtractionLimits.from_env(env) == ExtractionLimits(
        max_bytes=2 * 1024 * MiB, max_ratio=250.5, max_entries=5000
    )
    assert ExtractionLimits.from_env({MAX_BYTES_ENV: "123"}).max_bytes == 123
    # unpack reads the environment at call time; explicit limits win over it.
    monkeypatch.setenv(MAX_ENTRIES_ENV, "2")
    three = make_tgz([Entry("d/a"), Entry("d/b"), Entry("d/c")])
    with pytest.raises(ExtractionLimitExceeded, match=f"{MAX_ENTRIES_ENV}=2"):
        unpack(io.BytesIO(three), tmp_path / "env", ArchiveKind.TAR)
    unpack(io.BytesIO(three), tmp_path / "explicit", ArchiveKind.TAR, limits=ExtractionLimits())
    assert os.listdir(tmp_path) == ["explicit"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (MAX_BYTES_ENV, "lots"),
        (MAX_BYTES_ENV, "0"),
        (MAX_BYTES_ENV, "-5"),
        (MAX_BYTES_ENV, "64GB"),
        (MAX_RATIO_ENV, "nan"),
        (MAX_RATIO_ENV, "0"),
        (MAX_RATIO_ENV, "500:1"),
        (MAX_ENTRIES_ENV, "1e6"),
        (MAX_ENTRIES_ENV, "-1"),
    ],
)
def test_malformed_limit_variable_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(BadRequest, match=f"invalid {name}={value!r}: expected") as info:
        unpack(io.BytesIO(make_tgz([Entry("a")])), tmp_path / "dest", ArchiveKind.TAR)
    assert not isinstance(info.value, ExtractionLimitExceeded)
    assert os.listdir(tmp_path) == []  # refused before anything was created


def test_limits_must_be_positive() -> None:
    for bad in ({"max_bytes": 0}, {"max_ratio": -1.0}, {"max_entries": 0}, {"ratio_after": -1}):
        with pytest.raises(ValueError, match="ExtractionLimits"):
            ExtractionLimits(**bad)  # type: ignore[arg-type]
