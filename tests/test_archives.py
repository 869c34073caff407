"""Archives: Argo's layout on save (spec 5.3), detection and hardened extraction (5.4-5.6)."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import threading
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from drivers.archives import (
    DEFAULT_COMPRESSION_LEVEL,
    ArchiveKind,
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
from drivers.errors import BadRequest, Internal, NotFound

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


def make_zip(entries: list[ZEntry]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
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
        (ArchiveKind.TAR, gzip.compress(b"\x01" * 1024)),
        (ArchiveKind.ZIP, b"plain text, not zip"),
    ],
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
    from drivers.archives import _member_parts

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
    with pytest.raises(BadRequest, match=f"cannot extract archive entry {name}"):
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
