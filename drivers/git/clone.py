"""Argo's ``Load`` of a Git artifact, step by step, with go-git's semantics (v5.18.0).

1. ``PlainClone`` (:func:`plain_clone`): ``git init``, the remote ``origin`` (fetch refspec
   ``+refs/heads/*:refs/remotes/origin/*``, or ``+refs/heads/<branch>:refs/remotes/origin/<branch>``
   with ``singleBranch``), one listing of the remote, one fetch of those refs and of every tag
   (``+refs/tags/*:refs/tags/*``: go-git clones with all tags, single branch or not) at
   ``depth`` (0: the whole history; with a depth every branch still comes, as in go-git), the
   local branch of the remote's HEAD (or of ``branch``) checked out, with its config.
   An empty remote is not an error: a fresh repository with ``origin`` and a branch config
   named ``revision`` or ``master`` (:func:`init_empty`). A failed clone leaves the path as
   go-git does: removed if the clone created it, emptied if it was empty, else as it is.
2. ``fetch`` refspecs, validated as go-git validates them, fetched at ``depth``.
3. ``revision``: ``refs/heads/*:refs/heads/*`` (or the branch alone with ``singleBranch``)
   fetched without a depth, the revision resolved as go-git resolves it
   (``drivers.git.revision``), that commit checked out detached.
4. Submodules (unless ``disableSubmodules``): initialised and updated recursively, each level
   as go-git does it (the commit of the index, the whole history, 11 levels at most), with the
   same credentials.

Steps 2-4 leave what they cloned when they fail, as Argo does. Every failure is an
``ArtifactError`` whose message is Argo's (``failed to clone "<url>": ...``) with the reason
in go-git's words and git's own last lines; see :func:`failure` for the codes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from drivers.core.errors import (
    ArtifactError,
    BadRequest,
    Forbidden,
    Internal,
    NotFound,
    Unauthorized,
    classify,
)
from drivers.core.model import GitArtifact
from drivers.git.connection import (
    INVALID_AUTH_METHOD,
    NO_KNOWN_HOSTS,
    NO_SSH_AGENT,
    TRANSPORTS,
    AuthMethodMismatch,
    GitFailure,
    NoSSHAgent,
    Session,
    config_value,
    safe_url,
    transport_of,
)
from drivers.git.revision import (
    InvalidRevision,
    NoMessageMatch,
    NoParent,
    ObjectNotFound,
    ReferenceNotFound,
    Resolver,
    RevisionError,
)

KIND = "git"
REMOTE = "origin"
DEFAULT_BRANCH = "master"  # go-git's PlainInit
ALL_TAGS = "+refs/tags/*:refs/tags/*"
SINGLE_BRANCH_WITHOUT_BRANCH = "single branch mode without a branch specified"
#: go-git's ``DefaultSubmoduleRecursionDepth``: levels below the first that are updated.
SUBMODULE_RECURSION = 10


class EmptyRemote(Exception):
    """go-git's ``transport.ErrEmptyRemoteRepository``."""


# ------------------------------------------------------------------------------ the load


def load(git: GitArtifact, path: str, session: Session) -> None:
    """Argo's ``Load`` of ``git`` into the directory ``path``."""
    session.check_key()
    if git.single_branch and not git.branch:
        raise BadRequest(SINGLE_BRANCH_WITHOUT_BRANCH)
    depth = git.depth or 0
    target = Path(path)
    try:
        plain_clone(git, target, depth, session)
    except EmptyRemote:
        init_empty(git, target, session)
        return
    repo = Repository(target, session)
    if git.fetch:
        specs = list(git.fetch)
        _validate_refspecs(specs)
        repo.fetch(specs, depth=depth, failure_prefix=f"failed to fetch {_go_list(specs)}")
    if git.revision:
        if git.single_branch:
            specs = [f"refs/heads/{git.branch}:refs/heads/{git.branch}"]
        else:
            specs = ["refs/heads/*:refs/heads/*"]
        _validate_refspecs(specs)
        repo.fetch(specs, depth=0, failure_prefix=f"failed to fetch {_go_list(specs)}")
        commit = repo.resolve(git.revision)
        try:
            repo.git(["checkout", "--quiet", "--detach", commit])
        except GitFailure as exc:
            raise failure(f'failed to checkout "{commit}"', exc, session) from None
    if not git.disable_submodules:
        update_submodules(target, git.repo, session, SUBMODULE_RECURSION)


# ------------------------------------------------------------------------------ PlainClone


def plain_clone(git: GitArtifact, path: Path, depth: int, session: Session) -> None:
    """go-git's ``PlainClone``; :class:`EmptyRemote` (after go-git's clean-up) for an empty
    remote."""
    url = git.repo
    prefix = f'failed to clone "{safe_url(url)}"'
    state = _existing(path, prefix)
    if (path / ".git").exists():  # go-git's PlainInit: ErrRepositoryAlreadyExists
        raise Internal(f"{prefix}: repository already exists")
    repo = Repository(path, session)
    try:
        if not url:  # go-git's CloneOptions.Validate
            raise BadRequest(f"{prefix}: URL field is required")
        repo.init()
        if git.single_branch:
            clone_spec = f"+refs/heads/{git.branch}:refs/remotes/{REMOTE}/{git.branch}"
            wanted = f"refs/heads/{git.branch}"
        else:
            clone_spec = f"+refs/heads/*:refs/remotes/{REMOTE}/*"
            wanted = "HEAD"
        repo.add_remote(url, clone_spec)
        transport = transport_of(url)
        if transport not in TRANSPORTS:
            raise BadRequest(f'{prefix}: unsupported scheme "{transport}"')
        try:
            session.credentials.check_method(url)
            advertised = repo.list_remote()
        except AuthMethodMismatch:
            raise BadRequest(f"{prefix}: {INVALID_AUTH_METHOD}") from None
        except NoSSHAgent:
            raise Unauthorized(f"{prefix}: {NO_SSH_AGENT}") from None
        except GitFailure as exc:
            raise failure(prefix, exc, session) from None
        if not advertised.hashes:
            raise EmptyRemote()
        if git.single_branch and wanted not in advertised.hashes:
            raise NotFound(f'{prefix}: couldn\'t find remote ref "{wanted}"')
        resolved = advertised.resolve(wanted)
        if resolved is None:
            raise NotFound(f"{prefix}: reference not found")
        name, oid = resolved
        try:
            repo.git(_fetch_args([clone_spec, ALL_TAGS], depth, tags=False))
            if name.startswith("refs/heads/"):
                repo.git(["update-ref", name, oid])
                repo.git(["symbolic-ref", "HEAD", name])
            else:  # go-git's detached HEAD: the commit the reference points at
                commit = repo.git(["rev-parse", "--verify", "--quiet", f"{oid}^{{commit}}"])
                repo.git(["update-ref", "--no-deref", "HEAD", commit.strip()])
            repo.git(["read-tree", "--reset", "-u", "HEAD"])
            if name.startswith("refs/heads/"):
                repo.set_branch(name[len("refs/heads/") :], merge=name)
        except GitFailure as exc:
            raise failure(prefix, exc, session) from None
    except BaseException:  # EmptyRemote too: go-git cleans up before Argo initialises
        _clean_up(path, state)
        raise


def init_empty(git: GitArtifact, path: Path, session: Session) -> None:
    """Argo's answer to an empty remote: ``PlainInit``, the remote, a branch config."""
    if path.is_dir() and any(path.iterdir()):  # go-git left its .git in a full directory
        raise Internal("failed to plain init: repository already exists")
    repo = Repository(path, session)
    try:
        repo.init()
    except GitFailure as exc:
        raise failure("failed to plain init", exc, session) from None
    repo.add_remote(git.repo, f"+refs/heads/*:refs/remotes/{REMOTE}/*")
    name = git.revision or DEFAULT_BRANCH
    if not valid_reference_name(f"refs/heads/{name}"):
        raise BadRequest(f'failed to create branch "{name}": invalid reference name')
    repo.set_branch(name, merge=f"refs/heads/{DEFAULT_BRANCH}")


def _existing(path: Path, prefix: str) -> str:
    """go-git's ``checkIfCleanupIsNeeded``: ``missing``, ``empty`` or ``full``."""
    if not path.exists() and not path.is_symlink():
        return "missing"
    if not path.is_dir():
        raise Internal(f"{prefix}: path is not a directory: {path}")
    return "full" if any(path.iterdir()) else "empty"


def _clean_up(path: Path, state: str) -> None:
    if state == "missing":
        shutil.rmtree(path, ignore_errors=True)
    elif state == "empty" and path.is_dir():
        for child in path.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


# ------------------------------------------------------------------------------ a clone


@dataclass(frozen=True)
class Advertised:
    """What ``git ls-remote --symref`` tells of the remote."""

    hashes: dict[str, str]
    symrefs: dict[str, str]

    def resolve(self, name: str) -> tuple[str, str] | None:
        """go-git's ``expand_ref`` over the advertised references: ``(name, hash)``."""
        for rule in ("%s", "refs/%s", "refs/tags/%s", "refs/heads/%s", "refs/remotes/%s"):
            candidate = rule % name
            if candidate in self.symrefs and self.symrefs[candidate] in self.hashes:
                target = self.symrefs[candidate]
                return target, self.hashes[target]
            if candidate == "HEAD" and "HEAD" in self.hashes:
                return self._guess_head()
            if candidate in self.hashes:
                return candidate, self.hashes[candidate]
        return None

    def _guess_head(self) -> tuple[str, str] | None:
        """go-git's ``AdvRefs.resolveHead`` for a server that names no HEAD target: master if
        it matches, else the first reference (sorted) with HEAD's hash."""
        head = self.hashes["HEAD"]
        master = f"refs/heads/{DEFAULT_BRANCH}"
        if self.hashes.get(master) == head:
            return master, head
        for name in sorted(self.hashes):
            if name != "HEAD" and self.hashes[name] == head:
                return name, head
        return None


class Repository:
    """A clone at ``path`` and the git commands the load runs in it."""

    def __init__(self, path: Path, session: Session) -> None:
        self.path = path
        self.session = session

    def git(self, args: list[str]) -> str:
        return self.session.run(args, cwd=self.path)

    def init(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.git(["init", "--quiet", "--template=", f"--initial-branch={DEFAULT_BRANCH}"])

    def add_remote(self, url: str, fetch: str) -> None:
        """go-git's ``CreateRemote``; written to the file so that the URL (which may hold a
        password) is never an argument of a process."""
        config = self.path / ".git" / "config"
        with open(config, "a", encoding="utf-8", errors="surrogateescape") as file:
            file.write(
                f'[remote "{REMOTE}"]\n\turl = {config_value(url)}\n'
                f"\tfetch = {config_value(fetch)}\n"
            )

    def set_branch(self, name: str, *, merge: str) -> None:
        """go-git's ``CreateBranch``: ``[branch "<name>"]`` with remote and merge."""
        config = self.path / ".git" / "config"
        with open(config, "a", encoding="utf-8", errors="surrogateescape") as file:
            file.write(
                f"[branch {config_value(name)}]\n\tremote = {REMOTE}\n"
                f"\tmerge = {config_value(merge)}\n"
            )

    def list_remote(self) -> Advertised:
        out = self.git(["ls-remote", "--symref", REMOTE])
        hashes: dict[str, str] = {}
        symrefs: dict[str, str] = {}
        for line in out.splitlines():
            value, _, name = line.partition("\t")
            if value.startswith("ref: "):
                symrefs[name] = value[len("ref: ") :]
            elif re.fullmatch(r"[0-9a-f]{40}", value):
                hashes[name] = value
        return Advertised(hashes, symrefs)

    def fetch(self, specs: list[str], *, depth: int, failure_prefix: str) -> None:
        """go-git's ``Fetch`` of ``specs`` (tags that point into them follow); "already
        up-to-date" is not a failure."""
        try:
            self.git(_fetch_args(specs, depth, tags=True))
        except GitFailure as exc:
            raise failure(failure_prefix, exc, self.session) from None

    def resolve(self, revision: str) -> str:
        prefix = "failed to get resolve revision"
        try:
            with self.session.batch(["cat-file", "--batch"], cwd=self.path) as process:
                return Resolver(self.path / ".git", _Objects(process, self)).resolve(revision)
        except InvalidRevision as exc:
            raise BadRequest(f"{prefix}: {exc}") from None
        except (ReferenceNotFound, ObjectNotFound, NoParent, NoMessageMatch) as exc:
            shallow = (self.path / ".git" / "shallow").exists()
            hint = " (this clone is shallow: a larger depth may reach it)" if shallow else ""
            raise NotFound(f'{prefix}: {exc}: revision "{revision}"{hint}') from None
        except RevisionError as exc:
            raise Internal(f"{prefix}: {exc}") from None
        except GitFailure as exc:
            raise failure(prefix, exc, self.session) from None


def _fetch_args(specs: list[str], depth: int, *, tags: bool) -> list[str]:
    args = ["fetch", "--quiet", "--no-write-fetch-head", "--update-head-ok", "--refmap="]
    if not tags:
        args.append("--no-tags")
    if depth > 0:
        args.append(f"--depth={depth}")
    return [*args, "--", REMOTE, *specs]  # "--": a refspec is never read as an option


class _Objects:
    """``drivers.git.revision.ObjectReader`` over ``git cat-file --batch``."""

    def __init__(self, process: subprocess.Popen, repo: Repository) -> None:
        self.process = process
        self.repo = repo

    def read(self, oid: str) -> tuple[str, bytes] | None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(oid.encode("ascii") + b"\n")
        self.process.stdin.flush()
        header = self.process.stdout.readline()
        words = header.split()
        if len(words) != 3:  # "<oid> missing", or the process is gone
            if not header:
                raise Internal("git: git cat-file ended while reading objects")
            return None
        size = int(words[2])
        content = self.process.stdout.read(size)
        self.process.stdout.read(1)  # the newline after the content
        return words[1].decode("ascii"), content

    def with_prefix(self, prefix: str) -> list[str]:
        if len(prefix) >= 4:
            try:
                out = self.repo.git(["rev-parse", f"--disambiguate={prefix}"])
            except GitFailure:
                return []
        else:
            out = self.repo.git(["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"])
        return sorted(oid for oid in out.split() if oid.startswith(prefix))


# ------------------------------------------------------------------------------ submodules


def update_submodules(path: Path, url: str, session: Session, levels: int) -> None:
    """go-git's ``Submodules().Update`` with ``Init`` and ``RecurseSubmodules``: this
    repository's submodules, then theirs while ``levels`` remain."""
    repo = Repository(path, session)
    try:
        modules = list(_submodules(repo))
    except GitFailure as exc:
        raise failure("failed to get submodules", exc, session) from None
    if not modules:
        return
    prefix = "failed to update submodules"
    try:
        staged = _index_paths(repo, [module.path for module in modules])
    except GitFailure as exc:
        raise failure(prefix, exc, session) from None
    for module in modules:
        if module.path not in staged:
            raise Internal(f"{prefix}: entry not found")
        try:
            session.credentials.check_method(_absolute(module.url, url))
        except AuthMethodMismatch:
            raise BadRequest(f"{prefix}: {INVALID_AUTH_METHOD} (submodule {module.url})") from None
        except NoSSHAgent:
            raise Unauthorized(f"{prefix}: {NO_SSH_AGENT} (submodule {module.url})") from None
    try:
        session.run(
            [
                "submodule",
                "--quiet",
                "update",
                "--init",
                "--checkout",
                "--no-recommend-shallow",
                "--",
                *(module.path for module in modules),
            ],
            cwd=path,
            submodules=True,
        )
    except GitFailure as exc:
        raise failure(prefix, exc, session) from None
    if levels > 0:
        for module in modules:
            update_submodules(path / module.path, _absolute(module.url, url), session, levels - 1)


@dataclass(frozen=True)
class _Module:
    name: str
    path: str
    url: str


def _submodules(repo: Repository) -> Iterator[_Module]:
    """The submodules of ``.gitmodules`` (go-git skips a path with ``..``)."""
    if not (repo.path / ".gitmodules").is_file():
        return
    try:
        out = repo.git(
            [
                "config",
                "--file",
                ".gitmodules",
                "-z",
                "--get-regexp",
                r"^submodule\..*\.(path|url)$",
            ]
        )
    except GitFailure as exc:
        if exc.returncode == 1:  # no submodule entry at all
            return
        raise
    found: dict[str, dict[str, str]] = {}
    for entry in out.split("\0"):
        key, _, value = entry.partition("\n")
        if not key.startswith("submodule."):
            continue
        name, _, attribute = key[len("submodule.") :].rpartition(".")
        found.setdefault(name, {})[attribute] = value
    for name, values in found.items():
        path = values.get("path", "")
        if ".." in path.split("/"):
            continue
        yield _Module(name, path, values.get("url", ""))


def _index_paths(repo: Repository, paths: list[str]) -> set[str]:
    out = repo.git(["ls-files", "--stage", "-z", "--", *paths])
    return {entry.partition("\t")[2] for entry in out.split("\0") if "\t" in entry}


def _absolute(module_url: str, parent_url: str) -> str:
    """A relative submodule URL inherits its parent's transport (go-git, git)."""
    if module_url.startswith(("./", "../")):
        return parent_url
    return module_url


# ------------------------------------------------------------------------------ validation


def _validate_refspecs(specs: list[str]) -> None:
    """go-git's ``RefSpec.Validate`` of each, with Argo's message."""
    for spec in specs:
        reason = _refspec_error(spec)
        if reason:
            raise BadRequest(f"failed to validate fetch {_go_list(specs)}: {reason}")


def _refspec_error(spec: str) -> str:
    if spec.count(":") != 1 or spec.index(":") == len(spec) - 1:
        return "malformed refspec, separators are wrong"
    source, _, destination = spec.partition(":")
    wildcards = (source.count("*"), destination.count("*"))
    if wildcards[0] == wildcards[1] and wildcards[0] < 2:
        return ""
    return "malformed refspec, mismatched number of wildcards"


def _go_list(items: list[str]) -> str:
    """Go's ``%v`` of a slice of strings."""
    return "[" + " ".join(items) + "]"


_CONTROL = re.compile(r"[\000-\037\177]")


def valid_reference_name(name: str) -> bool:
    """go-git's ``ReferenceName.Validate`` (git-check-ref-format, in go-git's reading)."""
    if not name:
        return False
    if name == "HEAD":
        return True
    if name.endswith("."):
        return False
    parts = name.split("/")
    if len(parts) < 2:
        return False
    branch_or_tag = name.startswith(("refs/heads/", "refs/tags/"))
    for i, part in enumerate(parts):
        if (
            not part
            or part.startswith(".")
            or ".." in part
            or _CONTROL.search(part)
            or any(c in part for c in "~^:?*[ \t\n")
            or "@{" in part
            or part == "@"
            or "\\" in part
            or part.endswith(".lock")
        ):
            return False
        if branch_or_tag and part.startswith("-") and i == 2:
            return False
    return True


# ------------------------------------------------------------------------------ failures


def failure(prefix: str, exc: GitFailure, session: Session) -> ArtifactError:
    """The ``ArtifactError`` for a failed git command, ``prefix`` being Argo's words.

    A refused credential is ERR_UNAUTHORIZED, a 403 or an unverifiable SSH host key
    ERR_FORBIDDEN (deviation ``git-refusals-are-typed``); a missing repository or reference
    ERR_NOT_FOUND (``git-missing-is-not-found``); Argo has plain errors (ERR_INTERNAL) for all.
    An untrusted certificate and anything else is ERR_INTERNAL; a network failure or the
    time running out (``git-operation-timeout``) is transient.
    """
    detail = exc.detail
    if exc.timed_out:
        return Internal(f"{prefix}: {detail}", transient=True)
    if exc.kind == "host_key":
        files = ", ".join(session.known_hosts) or f"none found ({NO_KNOWN_HOSTS})"
        return Forbidden(
            f"{prefix}: ssh: handshake failed: the server's host key is not in the known_hosts "
            f"files ({files}): add it there or point SSH_KNOWN_HOSTS at a file that has it "
            f"(git: {detail})"
        )
    if exc.kind == "unauthorized":
        return Unauthorized(
            f"{prefix}: authentication required: the server refused the credentials of this "
            f"artifact, or needs some (git: {detail})"
        )
    if exc.kind == "forbidden":
        return Forbidden(
            f"{prefix}: authorization failed: the server refused access with the credentials "
            f"of this artifact (git: {detail})"
        )
    if exc.kind == "not_found":
        return NotFound(f"{prefix}: repository not found (git: {detail})")
    if exc.kind == "certificate":
        trusted = session.context.ca_bundle or "the default trust store"
        return Internal(
            f"{prefix}: TLS certificate verification failed: the server's certificate is not "
            f"signed by a CA in {trusted}; give the driver context the CA bundle that signed it "
            f"(git: {detail})"
        )
    if exc.kind == "local_refused":
        return BadRequest(
            f"{prefix}: a submodule with a local path or file:// URL is cloned only when the "
            "repository itself is local (deviation git-local-submodules-of-remote-repos-refused)"
            f" (git: {detail})"
        )
    _, transient = classify(
        KIND, status=None, code=None, message=detail, env=session.context.settings
    )
    return Internal(f"{prefix}: {detail}", transient=transient or exc.kind == "network")
