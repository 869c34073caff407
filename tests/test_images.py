"""The server images: tags that change exactly with their inputs, the command mapped into the
image, a root filesystem that holds what the server needs, and builds on a real engine.

The engine tests need a Docker engine (`DOCKER_HOST`'s, or the kit's own dockerd started as
root): without one they SKIP saying why, and are an ERROR when `ARTCONF_REQUIRE` names
`containers`.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import secrets
import subprocess
import sys
import tarfile
import threading
from pathlib import Path, PurePosixPath

import pytest

from emulators import engine, images, tools

#: A Docker tag: at most 128 of [A-Za-z0-9_.-], not starting with `.` or `-`.
TAG = re.compile(r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
MAIN_JS = "azurite/dist/src/blob/main.js"


# --- helpers ---------------------------------------------------------------------------------


def installed(kind: str) -> None:
    """Skip when the machine lacks what the real image of `kind` is made of."""
    try:
        tools.binary(kind)
    except tools.ToolError as exc:
        pytest.skip(f"{kind} is not installed: {exc}")
    if kind == "moto" and not Path("/usr/bin/python3.11").exists():
        pytest.skip("Debian's python3.11 is not installed (apt-get install python3.11)")


def read_rootfs(image: images.Image) -> dict[str, tarfile.TarInfo]:
    """The members of `image.write_rootfs()`, read back through a pipe (no file on disk)."""
    read_fd, write_fd = os.pipe()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            with open(write_fd, "wb") as out:
                image.write_rootfs(out)
        except BaseException as exc:  # re-raised in the test's thread
            failures.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    with open(read_fd, "rb") as source, tarfile.open(fileobj=source, mode="r|") as tar:
        members = {member.name: member for member in tar}
    writer.join()
    if failures:
        raise failures[0]
    return members


def resolve(members: dict[str, tarfile.TarInfo], path: str, depth: int = 0) -> tarfile.TarInfo:
    """The member `path` names inside the image, following symlinks as the kernel would."""
    assert depth < 16, f"symlink loop at {path}"
    current, found = "", None
    for part in PurePosixPath(path.lstrip("/")).parts:
        name = posixpath.join(current, part)
        assert name in members, f"{name} (on the way to {path}) is not in the image"
        found = members[name]
        if found.issym():
            base = "/" if found.linkname.startswith("/") else "/" + current
            found = resolve(
                members, posixpath.normpath(posixpath.join(base, found.linkname)), depth + 1
            )
        current = found.name
    assert found is not None
    return found


def loader_of(program: str) -> str:
    """The dynamic loader `program` asks for (e.g. /lib64/ld-linux-x86-64.so.2)."""
    loaders = [path for path in images.ldd_closure([program]) if "/ld-linux" in path]
    assert loaders, f"no dynamic loader found for {program}"
    return loaders[0]


@pytest.fixture
def fake_binary(tmp_path, monkeypatch) -> Path:
    """A stand-in for every tool binary, at version 1.0."""
    binary = tmp_path / "server"
    binary.write_bytes(b"\x7fELF fake")
    monkeypatch.setattr(tools, "binary", lambda name: binary)
    monkeypatch.setattr(tools, "version", lambda name: "1.0")
    return binary


@pytest.fixture
def fake_azurite(tmp_path, monkeypatch) -> Path:
    """An npm-style install tree: `.bin/azurite-blob` -> `../azurite/dist/src/blob/main.js`."""
    modules = tmp_path / "digest" / "node_modules"
    (modules / MAIN_JS).parent.mkdir(parents=True)
    (modules / MAIN_JS).write_text("// azurite\n")
    (modules / ".bin").mkdir()
    (modules / ".bin" / "azurite-blob").symlink_to(f"../{MAIN_JS}")
    monkeypatch.setattr(tools, "binary", lambda name: modules / ".bin" / "azurite-blob")
    monkeypatch.setattr(tools, "version", lambda name: "3.35.0")
    return modules


# --- tags ------------------------------------------------------------------------------------


def test_tag_is_valid_and_stable(fake_binary):
    image = images.IMAGES["minio"]
    tag = image.tag()
    assert TAG.match(tag), tag
    assert tag.startswith("artconf/minio:1.0-") and re.search(r"-[0-9a-f]{12}$", tag)
    assert image.tag() == tag  # nothing changed: same tag


@pytest.mark.parametrize(
    "version", ["v0.0.0-2026+build/7", "-.weird version", "", "x" * 300], ids=str.__len__
)
def test_any_pin_gives_a_valid_tag(fake_binary, monkeypatch, version):
    monkeypatch.setattr(tools, "version", lambda name: version)
    tag = images.IMAGES["fake-gcs"].tag()
    assert TAG.match(tag), tag
    assert len(tag.partition(":")[2]) <= 128


def test_tag_changes_with_the_version(fake_binary, monkeypatch):
    before = images.IMAGES["minio"].tag()
    monkeypatch.setattr(tools, "version", lambda name: "1.1")
    assert images.IMAGES["minio"].tag() != before


def test_tag_changes_with_the_binary_and_the_recipe_version(fake_binary, monkeypatch):
    before = images.IMAGES["minio"].tag()
    fake_binary.write_bytes(b"\x7fELF another build")  # another size
    after = images.IMAGES["minio"].tag()
    assert after != before
    os.utime(fake_binary, (1, 1))  # same size, other mtime
    assert images.IMAGES["minio"].tag() != after
    again = images.IMAGES["minio"].tag()
    monkeypatch.setattr(images, "RECIPE_VERSION", images.RECIPE_VERSION + 1)
    assert images.IMAGES["minio"].tag() != again


def test_azurite_tag_changes_with_a_file_of_its_tree(fake_azurite):
    before = images.IMAGES["azurite"].tag()
    assert images.IMAGES["azurite"].tag() == before
    (fake_azurite / "azurite" / "package.json").write_text('{"version": "3.35.0"}')
    assert images.IMAGES["azurite"].tag() != before


def test_moto_tag_changes_with_a_copied_distribution_file(tmp_path, monkeypatch):
    installed("moto")
    before = images.IMAGES["moto"].tag()
    extra = tmp_path / "patched.py"
    extra.write_text("")
    real = images.distribution_files
    monkeypatch.setattr(
        images, "distribution_files", lambda dist: [*real(dist), (str(extra), "patched.py")]
    )
    assert images.IMAGES["moto"].tag() != before


# --- argv and env ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind, inside", [("minio", "/minio"), ("fake-gcs", "/fake-gcs-server")])
def test_static_argv(kind, inside):
    host = ["/root/.cache/x/bin/server", "server", "/data/dir", "--address", "127.0.0.1:9"]
    assert images.IMAGES[kind].argv(host) == [inside, *host[1:]]


def test_azurite_argv_runs_the_script_behind_the_bin_link(fake_azurite):
    host = [str(fake_azurite / ".bin" / "azurite-blob"), "--blobPort", "10000", "--cert", "/c"]
    assert images.IMAGES["azurite"].argv(host) == [
        "/usr/bin/node",
        f"/opt/azurite/node_modules/{MAIN_JS}",
        "--blobPort",
        "10000",
        "--cert",
        "/c",
    ]


def test_moto_argv_and_env():
    host = [
        sys.executable,
        "-m",
        "moto.server",
        "-H",
        "127.0.0.1",
        "-p",
        "5",
        "-c",
        "/c",
        "-k",
        "/k",
    ]
    assert images.IMAGES["moto"].argv(host) == ["/usr/bin/python3.11", *host[1:]]
    env = images.IMAGES["moto"].env()
    assert env["PYTHONPATH"] == "/opt/moto/site-packages"
    assert env["HOME"] == "/tmp" and env["PYTHONDONTWRITEBYTECODE"] == "1"


# --- root filesystems ------------------------------------------------------------------------


def _assert_base(members: dict[str, tarfile.TarInfo], entrypoint: str) -> None:
    program = resolve(members, entrypoint)
    assert program.isfile() and program.mode & 0o111, f"{entrypoint} is not executable"
    assert members["tmp"].isdir() and members["tmp"].mode == 0o1777
    assert members["etc/passwd"].isfile() and members["etc/hosts"].isfile()
    assert all(member.uid == 0 and member.gid == 0 for member in members.values())
    if os.path.isfile(images.CA_BUNDLE):
        assert resolve(members, images.CA_BUNDLE).isfile()


@pytest.mark.parametrize("kind", ["minio", "fake-gcs"])
def test_static_rootfs(kind):
    installed(kind)
    image = images.IMAGES[kind]
    members = read_rootfs(image)
    _assert_base(members, image.entrypoint)
    assert members[image.entrypoint.lstrip("/")].size == tools.binary(kind).stat().st_size


def test_azurite_rootfs():
    installed("azurite")
    image = images.IMAGES["azurite"]
    members = read_rootfs(image)
    _assert_base(members, "/usr/bin/node")
    assert resolve(members, loader_of("/usr/bin/node")).isfile()
    for library in images.ldd_closure(["/usr/bin/node"]):
        assert resolve(members, library).isfile(), library
    script = image.argv([str(tools.binary("azurite"))])[1]
    assert resolve(members, script).isfile(), script


def test_moto_rootfs():
    installed("moto")
    image = images.IMAGES["moto"]
    members = read_rootfs(image)
    _assert_base(members, "/usr/bin/python3.11")
    assert resolve(members, loader_of("/usr/bin/python3.11")).isfile()
    site = "/opt/moto/site-packages"
    for path in [
        f"{site}/moto/server.py",
        f"{site}/flask/__init__.py",
        "/usr/lib/python3.11/ssl.py",
        "/usr/lib/python3.11/encodings/__init__.py",
    ]:
        assert resolve(members, path).isfile(), path
    assert any(
        re.fullmatch(r"opt/moto/site-packages/moto-.*\.dist-info/RECORD", n) for n in members
    )
    # _ssl and what it loads: TLS mode needs both.
    dynload = "/usr/lib/python3.11/lib-dynload"
    ssl_module = next(n for n in members if re.fullmatch(rf"{dynload[1:]}/_ssl\..*so", n))
    for library in images.ldd_closure(["/" + ssl_module]):
        assert resolve(members, library).isfile(), library


def test_a_missing_tool_is_one_engine_error(monkeypatch):
    def missing(name):
        raise tools.ToolError(f"{name} is not installed: run `artconf tools install`")

    monkeypatch.setattr(tools, "binary", missing)
    with pytest.raises(engine.EngineError, match="minio is not installed"):
        images.ensure("minio", "unix:///nowhere.sock")


# --- on an engine ----------------------------------------------------------------------------


def docker(host: str, *args: str) -> subprocess.CompletedProcess:
    cli = engine.docker_cli() or "docker"
    return subprocess.run([cli, "-H", host, *args], capture_output=True, text=True, check=False)


def test_ensure_builds_once(docker_host):
    installed("fake-gcs")
    first = images.ensure("fake-gcs", docker_host, force=True)
    assert first.fresh and first.seconds > 0 and first.size_bytes > 0
    assert first.tag == images.IMAGES["fake-gcs"].tag()
    second = images.ensure("fake-gcs", docker_host)
    assert (second.fresh, second.seconds) == (False, 0.0)
    assert (second.tag, second.size_bytes) == (first.tag, first.size_bytes)
    labels = docker(
        docker_host, "image", "inspect", "--format", "{{json .Config.Labels}}", first.tag
    )
    assert '"artconf.image":"1"' in labels.stdout and '"artconf.kind":"fake-gcs"' in labels.stdout


class _Breaks:
    """A stream that fails after `limit` bytes, as a vanished input file would."""

    def __init__(self, out, limit: int):
        self.out, self.left = out, limit

    def write(self, data) -> int:
        if len(data) > self.left:
            raise OSError("input vanished")
        self.left -= len(data)
        return self.out.write(data)


def test_a_failed_stream_leaves_no_tag(docker_host, monkeypatch):
    installed("fake-gcs")
    image = images.StaticImage("fake-gcs", "artconf-test/broken", "/fake-gcs-server")
    monkeypatch.setitem(images.IMAGES, "broken", image)
    real = images.write_tar
    monkeypatch.setattr(
        images, "write_tar", lambda members, out: real(members, _Breaks(out, 4 << 20))
    )
    with pytest.raises(engine.EngineError, match="input vanished"):
        images.ensure("broken", docker_host)
    assert docker(docker_host, "image", "inspect", image.tag()).returncode != 0


def test_a_stream_cut_after_a_whole_member_leaves_no_tag(docker_host, monkeypatch):
    """As if the kit died mid-stream: the CLI reads a clean EOF right after a whole member (a
    plain tar cut there would be imported as a complete, smaller root)."""
    image = images.StaticImage("fake-gcs", "artconf-test/cut", "/fake-gcs-server")
    monkeypatch.setitem(images.IMAGES, "cut", image)
    monkeypatch.setattr(image, "members", lambda: [])
    real = images.write_tar

    def one_member_then_nothing(members, out) -> None:
        whole = io.BytesIO()
        real([images.Member("a", data=b"x" * 512, size=512)], whole)
        out.write(whole.getvalue()[:1024])  # header + data, no end-of-archive blocks

    monkeypatch.setattr(images, "write_tar", one_member_then_nothing)
    monkeypatch.setattr(images._GzipFraming, "finish", lambda self: None)  # died: no trailer
    with pytest.raises(engine.EngineError, match="unexpected EOF"):
        images.ensure("cut", docker_host)
    assert docker(docker_host, "image", "inspect", image._tag([])).returncode != 0


def test_remove_stale_removes_old_pins_only(docker_host):
    installed("fake-gcs")
    current = images.ensure("fake-gcs", docker_host).tag
    old = f"artconf/fake-gcs-server:0.0.1-{secrets.token_hex(6)}"
    assert docker(docker_host, "tag", current, old).returncode == 0
    removed = images.remove_stale(docker_host)
    assert old in removed and current not in removed
    assert docker(docker_host, "image", "inspect", old).returncode != 0
    assert docker(docker_host, "image", "inspect", current).returncode == 0
