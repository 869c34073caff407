"""Local images of the four servers for the container launcher, built without a registry.

No registry is reachable, so each image is a root filesystem the kit streams as a tar into
`docker import`; nothing is pulled. Every image holds a minimal `/etc` (passwd, group,
nsswitch.conf, hosts; empty resolv.conf and hostname for the engine to bind over), `/tmp`
(1777) and the machine's CA bundle, plus:

- minio, fake-gcs: the static Go binary at `/minio`, `/fake-gcs-server` (scratch-style).
- azurite: `/usr/bin/node` with its `ldd` closure (loader, libraries, their symlinks), and the
  installed Azurite tree at `/opt/azurite/node_modules`.
- moto: Debian's python3.11, i.e. the files of the installed Debian packages python3.11-minimal,
  libpython3.11-minimal and libpython3.11-stdlib (their `dpkg -L` lists, with the stdlib's
  compiled `.pyc` files) and the `ldd` closure of the interpreter and of every extension module,
  plus moto's distribution closure (`moto[server]` and its requirements, recursively) copied
  from the kit's venv, i.e. the locked wheels, into `/opt/moto/site-packages`. This root is
  assembled from what the machine has installed, not by debootstrap: no Debian mirror is
  needed and it is minutes faster. The venv's own interpreter (pyenv's) is not a package with a
  file list, so the image runs Debian's build of the same minor version (same `cp311` ABI).

Paths are copied as the host has them: a symlinked component (`/lib -> usr/lib` on merged-/usr
Debian) becomes the same symlink in the image, so the loader finds libraries where it would
here. The tag is `<repository>:<tool pin>-<12 hex of the recipe>`; the recipe digest covers
every member's path, mode, size and mtime (the content hash of generated files), the
environment and labels, and `RECIPE_VERSION`, so an image is rebuilt exactly when its inputs
change. `ensure` sends the tar in gzip framing (level 0: no compression, only a trailer) so a
stream cut short is refused rather than taken for a smaller root. Images have no ENTRYPOINT:
run `argv()` as the command (or its argv[0] as `--entrypoint`).

    python -m emulators.images [minio fake-gcs azurite moto]
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import os
import re
import stat
import subprocess
import sys
import tarfile
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from filelock import FileLock
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from emulators import engine, tools

#: Bump when the recipe changes in a way the member list does not show (e.g. tar layout).
RECIPE_VERSION = 1
LABEL = "artconf.image"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
IMPORT_TIMEOUT = 900.0
_ETC = {
    "etc/passwd": b"root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534::/:/sbin/nologin\n",
    "etc/group": b"root:x:0:\nnogroup:x:65534:\n",
    "etc/nsswitch.conf": b"hosts: files dns\n",
    "etc/hosts": b"127.0.0.1 localhost\n",
    "etc/resolv.conf": b"",
    "etc/hostname": b"",
}
_TAG_CHARS = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class Built:
    tag: str
    seconds: float  # build time (0.0 when it existed)
    fresh: bool  # built now
    size_bytes: int  # image size as the engine reports it


@dataclass(frozen=True)
class Member:
    """One entry of the image's root filesystem (name relative to `/`)."""

    name: str
    type: bytes = tarfile.REGTYPE
    mode: int = 0o644
    source: str = ""  # host file whose bytes go in
    data: bytes = b""  # generated content (when no source)
    link: str = ""  # symlink target
    size: int = 0
    mtime: float = 0.0

    def key(self) -> list:
        """What the recipe digest sees: enough to notice any change of what goes in."""
        content = hashlib.sha256(self.data).hexdigest() if self.data else ""
        return [self.name, self.type.decode(), self.mode, self.size, self.mtime, self.link, content]


# --- members ---------------------------------------------------------------------------------


def _directory(name: str, mode: int = 0o755) -> Member:
    return Member(name.strip("/"), tarfile.DIRTYPE, mode)


def _generated(name: str, data: bytes, mode: int = 0o644) -> Member:
    return Member(name.strip("/"), mode=mode, data=data, size=len(data))


def _copied(host: str, name: str, mode: int | None = None) -> Member:
    """The host file or symlink `host` at `name` in the image (symlinks stay symlinks)."""
    info = os.lstat(host)
    name = name.strip("/")
    if stat.S_ISLNK(info.st_mode):
        return Member(name, tarfile.SYMTYPE, 0o777, link=os.readlink(host))
    if not stat.S_ISREG(info.st_mode):
        raise OSError(f"{host} is neither a file nor a symlink")
    mode = stat.S_IMODE(info.st_mode) if mode is None else mode
    return Member(name, mode=mode, source=host, size=info.st_size, mtime=info.st_mtime)


def host_path(path: str, _depth: int = 0) -> list[Member]:
    """`path` at the same place in the image, with every symlink on the way (in any component,
    e.g. `/lib -> usr/lib`, and the file's own chain, e.g. `libz.so.1 -> libz.so.1.2.13`)."""
    if _depth > 16:
        raise OSError(f"too many levels of symlinks at {path}")
    members: list[Member] = []
    current = "/"
    for part in PurePosixPath(os.path.normpath(path)).parts[1:]:
        candidate = os.path.join(current, part)
        if os.path.islink(candidate):
            members.append(_copied(candidate, candidate))
            target = os.path.join(current, os.readlink(candidate))  # absolute stays absolute
            members += host_path(os.path.normpath(target), _depth + 1)
            current = os.path.realpath(candidate)
        else:
            current = candidate
    if os.path.isfile(current) and not os.path.islink(current):
        members.append(_copied(current, current))
    return members


def host_tree(root: Path, inside: str) -> list[Member]:
    """Every file and symlink below `root`, placed below `inside` (symlinks kept as they are)."""
    members = []
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            target = os.path.normpath(os.path.join(inside, rel, name))
            members.append(_copied(os.path.join(folder, name), target))
    return members


def ldd_closure(paths: Iterable[str], *, skip_under: str = "") -> list[str]:
    """Absolute paths of the shared libraries (and the loader) that `paths` load, per `ldd`.

    A library `ldd` cannot find is left out: an extension module that needs it cannot be
    imported here either. Libraries below `skip_under` (copied with their tree) are left out.
    """
    paths = list(paths)
    if not paths:
        return []
    result = subprocess.run(
        ["ldd", *paths], capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    found = set()
    for line in result.stdout.splitlines():
        if not line.startswith("\t"):
            continue  # `file:` headers when several paths are given
        words = line.split()
        path = words[2] if "=>" in words and len(words) > 2 else words[0]
        if path.startswith("/") and not (skip_under and path.startswith(skip_under)):
            found.add(path)
    return sorted(found)


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as data:
            return data.read(4) == b"\x7fELF"
    except OSError:
        return False


def complete(members: Iterable[Member]) -> list[Member]:
    """Deduplicated, sorted, with a directory entry for every parent not given explicitly."""
    by_name: dict[str, Member] = {}
    for member in members:
        by_name.setdefault(member.name, member)
    for name in list(by_name):
        for parent in PurePosixPath(name).parents:
            if str(parent) != ".":
                by_name.setdefault(str(parent), _directory(str(parent)))
    return [by_name[name] for name in sorted(by_name)]


def _base_members() -> list[Member]:
    members = [_directory("etc"), _directory("root", 0o700), _directory("tmp", 0o1777)]
    members += [_generated(name, data) for name, data in _ETC.items()]
    if os.path.isfile(CA_BUNDLE):  # dereferenced: a plain file where Go and OpenSSL look
        members.append(_copied(os.path.realpath(CA_BUNDLE), CA_BUNDLE, 0o644))
    return members


# --- images ----------------------------------------------------------------------------------


class Image:
    """One server kind's image: what goes in, its tag, and how its command runs inside."""

    kind: str
    repository: str
    entrypoint: str  # the program inside the image

    def content(self) -> list[Member]:
        """The members specific to this image (the base `/etc`, `/tmp` are added)."""
        raise NotImplementedError

    def members(self) -> list[Member]:
        return complete([*_base_members(), *self.content()])

    def env(self) -> dict[str, str]:
        return {"PATH": "/usr/local/bin:/usr/bin:/bin:/", "HOME": "/tmp", "TMPDIR": "/tmp"}

    def argv(self, host_argv: list[str]) -> list[str]:
        return [self.entrypoint, *host_argv[1:]]

    def version(self) -> str:
        return tools.version(self.kind)

    def labels(self) -> dict[str, str]:
        return {LABEL: "1", "artconf.kind": self.kind, "artconf.version": self.version()}

    def changes(self) -> list[str]:
        """`docker import --change` lines: environment, working directory, labels."""
        lines = [f"ENV {name}={value}" for name, value in self.env().items()]
        labels = " ".join(f"{k}={json.dumps(v)}" for k, v in self.labels().items())
        return [*lines, "WORKDIR /", f"LABEL {labels}"]

    def tag(self) -> str:
        return self._tag(self.members())

    def _tag(self, members: list[Member]) -> str:
        pin = _TAG_CHARS.sub("_", self.version()).lstrip(".-") or "unknown"
        recipe = hashlib.sha256()
        for item in [RECIPE_VERSION, self.kind, self.version(), self.changes()]:
            recipe.update(json.dumps(item).encode() + b"\n")
        for member in members:
            recipe.update(json.dumps(member.key()).encode() + b"\n")
        return f"{self.repository}:{pin[: 128 - 13]}-{recipe.hexdigest()[:12]}"

    def write_rootfs(self, out) -> None:
        write_tar(self.members(), out)


@dataclass
class StaticImage(Image):
    """A statically linked Go server on a scratch-style root."""

    kind: str
    repository: str
    entrypoint: str

    def content(self) -> list[Member]:
        return [_copied(str(tools.binary(self.kind)), self.entrypoint, 0o755)]


@dataclass
class AzuriteImage(Image):
    """Node from the machine, Azurite's npm install tree at a fixed path."""

    kind: str = "azurite"
    repository: str = "artconf/azurite"
    entrypoint: str = "/usr/bin/node"
    modules: str = "/opt/azurite/node_modules"

    def content(self) -> list[Member]:
        members = host_path(self.entrypoint)
        for library in ldd_closure([self.entrypoint]):
            members += host_path(library)
        # The tool is `<digest>/node_modules/.bin/azurite-blob`: copy that whole tree.
        return members + host_tree(tools.binary(self.kind).parent.parent, self.modules)

    def argv(self, host_argv: list[str]) -> list[str]:
        """`.../node_modules/.bin/azurite-blob ARGS` -> `node <modules>/azurite/.../main.js ARGS`:
        the `.bin` entry is a symlink whose script node must be given directly."""
        script = Path(host_argv[0])
        modules = script.parent.parent
        target = Path(os.path.normpath(script.parent / os.readlink(script)))
        try:
            inside = PurePosixPath(self.modules, target.relative_to(modules))
        except ValueError:
            raise ValueError(f"{script} points outside its node_modules ({target})") from None
        return [self.entrypoint, str(inside), *host_argv[1:]]


@dataclass
class MotoImage(Image):
    """Debian's python3.11 with moto's distribution closure from the kit's venv."""

    kind: str = "moto"
    repository: str = "artconf/moto"
    entrypoint: str = "/usr/bin/python3.11"
    site_packages: str = "/opt/moto/site-packages"
    packages: tuple[str, ...] = (
        "python3.11-minimal",
        "libpython3.11-minimal",
        "libpython3.11-stdlib",
    )
    requirement: str = "moto[server]"

    def env(self) -> dict[str, str]:
        return {**super().env(), "PYTHONPATH": self.site_packages, "PYTHONDONTWRITEBYTECODE": "1"}

    def content(self) -> list[Member]:
        python_files = debian_files(self.packages)
        members = [m for path in python_files for m in host_path(path)]
        members += [m for path in _compiled(python_files) for m in host_path(path)]
        dists = distribution_closure(self.requirement)
        site, sources = [], []
        for dist in dists:
            for path, rel in distribution_files(dist):
                site.append(_copied(path, f"{self.site_packages}/{rel}"))
                sources.append(path)
        elves = [p for p in [*python_files, *sources] if p.endswith(".so") or ".so." in p]
        elves = [self.entrypoint, *(p for p in elves if _is_elf(p))]
        # Libraries inside site-packages (a wheel's `<name>.libs`) are copied with it already.
        site_root = str(dists[0].locate_file("")) if dists else ""
        for library in ldd_closure(elves, skip_under=site_root):
            members += host_path(library)
        return members + site


def debian_files(packages: Iterable[str]) -> list[str]:
    """The files and symlinks the installed Debian `packages` own, without their docs."""
    result = subprocess.run(["dpkg", "-L", *packages], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise OSError(f"dpkg -L {' '.join(packages)} failed: {result.stderr.strip()}")
    skip = ("/usr/share/doc/", "/usr/share/man/", "/usr/share/lintian/")
    paths = []
    for path in result.stdout.splitlines():
        wanted = path.startswith("/") and not path.startswith(skip)
        if wanted and (os.path.islink(path) or os.path.isfile(path)):
            paths.append(path)
    return paths


def _compiled(paths: Iterable[str]) -> list[str]:
    """The `.pyc` next to each `.py` (Debian compiles them at install; not in `dpkg -L`), so
    the interpreter in the image does not recompile the stdlib at every start."""
    tag = sys.implementation.cache_tag  # cpython-311, the image's too
    found = []
    for path in paths:
        if path.endswith(".py"):
            folder, name = os.path.split(path)
            pyc = os.path.join(folder, "__pycache__", f"{name[:-3]}.{tag}.pyc")
            if os.path.isfile(pyc):
                found.append(pyc)
    return found


def distribution_closure(requirement: str) -> list[importlib.metadata.Distribution]:
    """The installed distributions `requirement` needs, recursively, markers evaluated for
    this interpreter and the extras asked for along the way."""
    wanted: dict[str, set[str]] = {}  # canonical name -> extras already expanded
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = [Requirement(requirement)]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        extras = wanted.setdefault(name, set())
        new = set(req.extras) - extras
        if name in found and not new:
            continue
        extras |= new
        if name not in found:
            try:
                found[name] = importlib.metadata.distribution(req.name)
            except importlib.metadata.PackageNotFoundError:
                raise OSError(f"{req.name} (needed by {requirement}) is not installed") from None
        for line in found[name].requires or []:
            child = Requirement(line)
            if child.marker is None or any(
                child.marker.evaluate({"extra": extra}) for extra in ("", *extras)
            ):
                todo.append(child)
    return [found[name] for name in sorted(found)]


def distribution_files(dist: importlib.metadata.Distribution) -> list[tuple[str, str]]:
    """(host path, path relative to site-packages) of each file in the distribution's RECORD
    that lives in site-packages (scripts in `bin/` are not needed) and exists."""
    if dist.files is None:
        raise OSError(f"{dist.metadata['Name']} has no RECORD: cannot tell its files")
    pairs = []
    for file in dist.files:
        if ".." in file.parts:
            continue
        path = str(dist.locate_file(file))
        if os.path.lexists(path):
            pairs.append((path, file.as_posix()))
    return pairs


IMAGES: dict[str, Image] = {
    "minio": StaticImage("minio", "artconf/minio", "/minio"),
    "fake-gcs": StaticImage("fake-gcs", "artconf/fake-gcs-server", "/fake-gcs-server"),
    "azurite": AzuriteImage(),
    "moto": MotoImage(),
}


# --- official images, where a registry is reachable -----------------------------------------

#: Where each server's program is in its official image (run as the container's entrypoint).
OFFICIAL_PROGRAMS = {
    "minio": "minio",  # minio/minio: /usr/bin/minio
    "fake-gcs": "/bin/fake-gcs-server",  # fsouza/fake-gcs-server
    "azurite": "azurite-blob",  # mcr.microsoft.com/azure-storage/azurite
    "moto": "python",  # motoserver/moto: moto in the image's own Python
}


@dataclass(frozen=True)
class Official:
    """An image the user names with `ARTCONF_IMAGE_<KIND>` (e.g. `ARTCONF_IMAGE_FAKE_GCS=
    fsouza/fake-gcs-server:1.54.0`), pulled when the engine lacks it; it replaces the local
    build. Its server's version is whatever the image holds: endpoints report the reference."""

    kind: str
    ref: str

    def argv(self, host_argv: list[str]) -> list[str]:
        return [OFFICIAL_PROGRAMS[self.kind], *host_argv[1:]]

    def env(self) -> dict[str, str]:
        return {"HOME": "/tmp"}


def override_variable(kind: str) -> str:
    return "ARTCONF_IMAGE_" + kind.upper().replace("-", "_")


def official(kind: str) -> Official | None:
    """The official image chosen for `kind`, if any."""
    ref = os.environ.get(override_variable(kind), "").strip()
    if not ref or kind not in OFFICIAL_PROGRAMS:
        return None
    return Official(kind, ref)


def pull(host: str, chosen: Official) -> None:
    """Make sure the engine has `chosen`'s image, pulling it when it has not."""
    if _size(host, chosen.ref) is not None:
        return
    result = _docker(host, "pull", chosen.ref, timeout=IMPORT_TIMEOUT)
    if result.returncode != 0:
        raise engine.EngineError(
            f"cannot pull {chosen.ref} ({override_variable(chosen.kind)}): "
            f"{_last_line(result.stderr)}; unset it to use the kit's local image"
        )


# --- the tar stream and the engine -----------------------------------------------------------


def write_tar(members: Iterable[Member], out) -> None:
    """Stream `members` as an uncompressed tar (mode `w|`) to the binary file object `out`."""
    with tarfile.open(fileobj=out, mode="w|", bufsize=1 << 20, copybufsize=1 << 20) as tar:
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.type, info.mode, info.mtime = member.type, member.mode, int(member.mtime)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if member.type == tarfile.SYMTYPE:
                info.linkname = member.link
                tar.addfile(info)
            elif member.type == tarfile.REGTYPE:
                info.size = member.size
                if member.source:
                    with open(member.source, "rb") as data:
                        tar.addfile(info, data)  # fails if the file shrank meanwhile
                else:
                    tar.addfile(info, io.BytesIO(member.data))
            else:
                tar.addfile(info)


def _docker(host: str, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    cli = engine.docker_cli()
    if cli is None:
        raise engine.EngineError(f"the docker CLI is not installed ({engine.INSTALL_HINT})")
    return subprocess.run(
        [cli, "-H", host, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _size(host: str, tag: str) -> int | None:
    """The image's size, or None when the tag does not exist."""
    result = _docker(host, "image", "inspect", "--format", "{{.Size}}", tag)
    return int(result.stdout.strip()) if result.returncode == 0 else None


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "(no output)"


class _GzipFraming:
    """Gzip framing at level 0 (stored blocks: no compression, only a CRC and a trailer).

    The engine takes a plain tar that just stops after a whole member as complete, so if this
    process died mid-stream, the CLI's clean EOF would tag half an image. A gzip stream
    without its trailer is refused instead ("unexpected EOF"), and the trailer is written
    only after the whole tar.
    """

    def __init__(self, out):
        self.out = out
        self.zip = zlib.compressobj(0, zlib.DEFLATED, 31)  # wbits 31: gzip header and trailer

    def write(self, data: bytes) -> int:
        self.out.write(self.zip.compress(data))
        return len(data)

    def finish(self) -> None:
        self.out.write(self.zip.flush())


def _import(host: str, image: Image, members: list[Member], tag: str) -> None:
    """`docker import` of the streamed root. A failed stream kills the CLI (the engine drops a
    request cut short), so the tag is never created from half a root."""
    cli = engine.docker_cli()
    if cli is None:
        raise engine.EngineError(f"the docker CLI is not installed ({engine.INSTALL_HINT})")
    changes = [arg for line in image.changes() for arg in ("--change", line)]
    proc = subprocess.Popen(
        [cli, "-H", host, "import", *changes, "-", tag],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,  # a few lines at most, read once the stream is done
    )
    try:
        framed = _GzipFraming(proc.stdin)
        write_tar(members, framed)
        framed.finish()  # communicate() below flushes and closes stdin
    except BrokenPipeError:
        pass  # docker exited early: its stderr says why
    except BaseException as exc:
        proc.kill()
        proc.wait()
        with contextlib.suppress(OSError):
            proc.stdin.close()  # now, not at garbage collection (a flush to a dead pipe)
        if isinstance(exc, OSError):
            raise engine.EngineError(f"building {tag} failed while streaming: {exc}") from exc
        raise
    try:
        _, errors = proc.communicate(timeout=IMPORT_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise engine.EngineError(
            f"docker import of {tag} took over {IMPORT_TIMEOUT:.0f} s"
        ) from None
    if proc.returncode != 0:
        why = _last_line(errors.decode(errors="replace"))
        raise engine.EngineError(f"docker import of {tag} failed: {why}")


def _lock(kind: str) -> FileLock:
    """One build of a kind at a time (xdist workers, two runs): the second finds it built."""
    folder = engine.engine_dir() / "images"
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder / f"{kind}.lock"))


def ensure(kind: str, host: str, *, force: bool = False) -> Built:
    """Build the image of `kind` unless its tag exists on the engine at `host`."""
    if kind not in IMAGES:
        raise ValueError(f"unknown image kind {kind!r}; choose from {', '.join(IMAGES)}")
    image = IMAGES[kind]
    try:
        members = image.members()
        tag = image._tag(members)
    except (OSError, tools.ToolError, subprocess.SubprocessError) as exc:
        raise engine.EngineError(f"cannot assemble the {kind} image: {exc}") from exc
    with _lock(kind):
        size = None if force else _size(host, tag)
        if size is not None:
            return Built(tag, 0.0, fresh=False, size_bytes=size)
        began = time.monotonic()
        _import(host, image, members, tag)
        seconds = time.monotonic() - began
    size = _size(host, tag)
    if size is None:
        raise engine.EngineError(f"docker import of {tag} succeeded but the tag is missing")
    return Built(tag, seconds, fresh=True, size_bytes=size)


def remove_stale(host: str) -> list[str]:
    """Remove the kit's images (label artconf.image=1) that no current recipe names: old pins,
    and untagged ones a forced rebuild left. Returns what was removed (a tag, or `<none>@ID`).

    A kind whose current tag cannot be computed (tool not installed) keeps all its images; an
    image a container still uses is kept too (`docker rmi` without force refuses).
    """
    current, protected = set(), set()
    for image in IMAGES.values():
        try:
            current.add(image.tag())
        except (OSError, tools.ToolError, subprocess.SubprocessError):
            protected.add(image.repository)
    listing = _docker(
        host,
        "image", "ls", "--no-trunc", "--filter", f"label={LABEL}=1",
        "--format", "{{.Repository}}\t{{.Tag}}\t{{.ID}}",
    )  # fmt: skip
    if listing.returncode != 0:
        raise engine.EngineError(f"docker image ls failed: {_last_line(listing.stderr)}")
    removed = []
    for line in listing.stdout.splitlines():
        repository, tag, image_id = line.split("\t")
        ref = f"{repository}:{tag}" if tag != "<none>" else image_id
        if ref in current or repository in protected:
            continue
        if _docker(host, "rmi", ref).returncode == 0:
            removed.append(ref if tag != "<none>" else f"<none>@{image_id[:19]}")
    return removed


def main(argv: list[str]) -> int:
    leased = engine.acquire()
    try:
        for kind in argv or list(IMAGES):
            built = ensure(kind, leased.host)
            state = f"built in {built.seconds:.1f} s" if built.fresh else "already there"
            print(f"{kind}: {built.tag} ({built.size_bytes / 1e6:.0f} MB) {state}")
    finally:
        engine.release(leased)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
