"""The reference Git driver (spec 1.2, 1.3 "Git", 2.7): ``drivers.git:GitDriver``, input only.

As Argo v4.0.5 (``workflow/artifacts/git/git.go``, go-git v5.18.0):

* ``load``: the repository cloned into ``path`` (always a directory, ``.git`` included), then
  the ``fetch`` refspecs, the ``revision`` checked out detached, the submodules; every step
  with go-git's semantics (``drivers.git.clone``, ``drivers.git.revision``). ``singleBranch``
  without ``branch`` is refused first ("single branch mode without a branch specified").
* ``open_stream``: Argo's ``LoadToStream``: the clone is loaded into
  ``<temp dir>/wfstream-<32 random characters>``, and since that is a directory the stream
  fails at its first read ("read <path>: is a directory", ERR_INTERNAL). A failed load is
  its error, unchanged. Unlike Argo, the clone is removed at once (deviation
  ``git-open-stream-removes-clone``).
* ``save`` and ``save_stream``: ERR_BAD_REQUEST "git output artifacts unsupported".
* ``delete``, ``list_objects``, ``is_directory``: Argo's refusals, word for word.

Deliberate differences: refused credentials and unverifiable SSH host keys are
ERR_UNAUTHORIZED/ERR_FORBIDDEN (``git-refusals-are-typed``), a missing repository, branch,
ref or revision ERR_NOT_FOUND (``git-missing-is-not-found``), configuration mistakes
ERR_BAD_REQUEST (``git-configuration-errors-are-bad-request``); Argo has plain errors
(ERR_INTERNAL) for all of them. A load has a time limit (``git-operation-timeout``).

Why the ``git`` program and not a Python Git library: it is maintained, speaks every transport
go-git speaks (and more, which the driver turns off), and its behaviour is documented; the
pure-Python implementations lag on protocol v2, SSH and shallow clones. What it cannot
reproduce of go-git is kept out by driving it step by step (``drivers.git.clone``): the clone
is ``init`` + one listing + one fetch (``git clone`` would make a depth imply a single branch,
fetch fewer tags in single-branch mode, refuse a non-empty directory), revisions are resolved
by a port of go-git's resolver rather than by ``rev-parse`` (git's grammar is larger and its
precedences differ), and submodules are recursed level by level as go-git does. Left as git
does it: the wire protocol (git speaks v2 and dumb HTTP, which go-git does not, and needs no
Azure DevOps capability patch), the order in which several submodules of one level are
updated, and ``.gitmodules`` settings go-git ignores (``update = none`` is overridden by
``--checkout``, ``shallow = true`` by ``--no-recommend-shallow``, so those two match).
Credentials, trust and time limits: ``drivers.git.connection``.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from drivers.base import Driver
from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext
from drivers.core.errors import BadRequest, Internal
from drivers.core.model import Artifact, GitArtifact
from drivers.core.secrets import SecretSource
from drivers.git import clone
from drivers.git.connection import Credentials, Session, safe_url
from drivers.local_files import stream_temp_path
from drivers.refusals import RefusesObjectOperations

SAVE_UNSUPPORTED = "git output artifacts unsupported"


class GitDriver(RefusesObjectOperations, Driver):
    """Argo's Git driver with our deviations; see the module docstring."""

    kind: ClassVar[str] = "git"
    refused_as: ClassVar[str] = "Git"
    # Load is a clone (`clone`, not `load`: no key names a file); the rest is refused.
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CLONE,
            Capability.CLONE_DEPTH,
            Capability.CLONE_REVISION,
            Capability.CLONE_FETCH_REFSPECS,
            Capability.CLONE_SUBMODULES,
            Capability.CLONE_SINGLE_BRANCH,
            Capability.AUTH_BASIC,
            Capability.AUTH_SSH_KEY,
            Capability.SSH_HOST_KEY_CHECK,
            Capability.AUTH_REJECTS_BAD_CREDENTIALS,
            Capability.TLS_CUSTOM_CA,
            Capability.TLS_INSECURE_SKIP_VERIFY,
            Capability.REFUSES_UNSUPPORTED,
        }
    )

    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        super().__init__(artifact, secrets, context)
        # Argo's factory reads the three secrets when it builds the driver.
        self.credentials = Credentials.read(_git(artifact), secrets)
        self._sessions: set[Session] = set()

    # ============================================================== the seven methods

    def load(self, artifact: Artifact, path: str) -> None:
        git = _git(artifact)
        self._call(
            "load", f"cloning {safe_url(git.repo)} into {path}", lambda: self._load(git, path)
        )

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        git = _git(artifact)
        directory = Path(self.context.temp_dir)
        target = stream_temp_path(directory)

        def attempt() -> BinaryIO:
            directory.mkdir(parents=True, exist_ok=True)
            try:
                self._load(git, str(target))
            finally:
                shutil.rmtree(target, ignore_errors=True)
            return _DirectoryStream(str(target))  # type: ignore[return-value]

        return self._call("open_stream", f"cloning {safe_url(git.repo)} to stream it", attempt)

    def save(self, path: str, artifact: Artifact) -> None:
        raise BadRequest(SAVE_UNSUPPORTED)

    def save_stream(self, stream: BinaryIO, artifact: Artifact) -> None:
        raise BadRequest(SAVE_UNSUPPORTED)

    def close(self) -> None:
        for session in list(self._sessions):
            session.close()
        self._sessions.clear()

    # ================================================================== helpers

    def _load(self, git: GitArtifact, path: str) -> None:
        session = Session(
            url=git.repo,
            credentials=self.credentials,
            context=self.context,
            insecure_skip_tls=git.insecure_skip_tls,
            insecure_ignore_host_key=git.insecure_ignore_host_key,
        )
        self._sessions.add(session)
        try:
            with session:
                clone.load(git, path, session)
        finally:
            self._sessions.discard(session)


class _DirectoryStream(io.RawIOBase):
    """What Go's ``os.Open`` of a directory reads: an error, at every read."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise Internal(f"read {self._path}: is a directory")


def _git(artifact: Artifact) -> GitArtifact:
    if artifact.git is None:
        raise BadRequest(f"artifact {artifact.name!r} has no git location")
    return artifact.git
