"""The Git kind (Argo's `git` input location): a repository cloned whole into the load path.

Three real servers serve the same bare repositories (`emulators/git_servers.py`): smart HTTP
(`git http-backend` behind nginx, anonymous under `/git/`, basic auth under `/auth/`, plain
and TLS), `git daemon` (git://) and `sshd` forced to `git-shell` (ssh://, a key and a known
host). A container is one bare repository, `<repos_dir>/<container>.git`; the session's fixed
repositories (`main`, `sub`, `with-sub`, `empty`: `emulators/git_repos.py`) are containers too,
so a case reaches one with `in_container`. Git has no key: a location's key is ignored, the
whole repository is the artifact.

The admin is the server's own view: git plumbing on the bare repositories, on this machine's
disk (every server runs here). `put` commits a file to `master`, `keys` lists its tree.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.kinds.base import Admin, Kind, Location, capabilities
from emulators.endpoint import Endpoint

SECRET = "artconf-git"
BRANCH = "master"
#: A fixed identity and no user or system config: the admin's commits never depend on the machine.
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "artconf",
    "GIT_AUTHOR_EMAIL": "artconf@127.0.0.1",
    "GIT_COMMITTER_NAME": "artconf",
    "GIT_COMMITTER_EMAIL": "artconf@127.0.0.1",
}


def git(*args: str, cwd: Path | None = None, data: bytes | None = None, env=None) -> str:
    """Run the git binary; its stdout (an error names the command and git's own words)."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=data,
        capture_output=True,
        env={**os.environ, **GIT_ENV, **(env or {})},
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        said = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"git {' '.join(args[:3])}: {said}")
    return result.stdout.decode(errors="replace")


@dataclass(frozen=True)
class RepoUrls:
    """Places a container as the repository URL; a key changes nothing (Git has no key)."""

    base: str  # everything before `<container>.git`
    container: str

    def __call__(self, key: str) -> dict[str, Any]:
        return {"repo": f"{self.base}{self.container}.git"}


class GitAdmin(Admin):
    """Bare repositories under the server's `repos_dir`, through git plumbing."""

    def __init__(self, endpoint: Endpoint):
        super().__init__(endpoint)
        self.root = Path(endpoint.credentials["repos_dir"])

    def _repo(self, container: str) -> Path:
        return self.root / f"{container}.git"

    def _git(self, container: str, *args: str, data: bytes | None = None, env=None) -> str:
        return git("--git-dir", str(self._repo(container)), *args, data=data, env=env)

    def create_container(self, name: str) -> None:
        git("init", "--quiet", "--bare", f"--initial-branch={BRANCH}", str(self._repo(name)))

    def delete_container(self, name: str) -> None:
        shutil.rmtree(self._repo(name), ignore_errors=True)

    def container_exists(self, name: str) -> bool:
        return (self._repo(name) / "HEAD").is_file()

    def head(self, container: str, ref: str = BRANCH) -> str | None:
        """The commit `ref` names in `container`, or None (an empty repository)."""
        try:
            return self._git(container, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except RuntimeError:
            return None

    def rev(self, container: str, expression: str) -> str:
        """The commit `expression` names in `container` (tags peeled), as git resolves it."""
        return self._git(container, "rev-parse", "--verify", f"{expression}^{{commit}}").strip()

    def commit(
        self,
        container: str,
        files: dict[str, bytes | None],
        message: str,
        gitlinks: dict[str, str] | None = None,
    ) -> str:
        """One commit on `master` writing `files` (None deletes one) and `gitlinks` (a path
        -> the commit a submodule there is at); its hash."""
        parent = (self.head(container) or "").strip()
        index = self._repo(container) / f"artconf-index-{os.getpid()}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            if parent:
                self._git(container, "read-tree", parent, env=env)
            staged: list[tuple[str, str, str]] = []  # (mode, object, path): files, then gitlinks
            for key, data in files.items():
                if data is None:
                    self._git(container, "rm", "--cached", "--quiet", "--", key, env=env)
                    continue
                blob = self._git(container, "hash-object", "-w", "--stdin", data=data).strip()
                staged.append(("100644", blob, key))
            staged += [("160000", commit, key) for key, commit in (gitlinks or {}).items()]
            for mode, name, key in staged:
                self._git(
                    container,
                    "update-index",
                    "--add",
                    "--cacheinfo",
                    f"{mode},{name},{key}",
                    env=env,
                )
            tree = self._git(container, "write-tree", env=env).strip()
        finally:
            index.unlink(missing_ok=True)
        parents = ["-p", parent] if parent else []
        made = self._git(container, "commit-tree", tree, *parents, "-m", message).strip()
        self._git(container, "update-ref", f"refs/heads/{BRANCH}", made)
        return made

    def put(self, container: str, key: str, data: bytes = b"") -> None:
        self.commit(container, {key: data}, f"put {key}")

    def get(self, container: str, key: str) -> bytes | None:
        if self.head(container) is None:
            return None
        try:
            out = subprocess.run(
                ["git", "--git-dir", str(self._repo(container)), "show", f"{BRANCH}:{key}"],
                capture_output=True,
                env={**os.environ, **GIT_ENV},
                timeout=60,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"git show {BRANCH}:{key}: timed out") from None
        return out.stdout if out.returncode == 0 else None

    def keys(self, container: str, prefix: str = "") -> list[str]:
        if self.head(container) is None:
            return []
        listed = self._git(container, "ls-tree", "-r", "--name-only", BRANCH).splitlines()
        return sorted(k for k in listed if k.startswith(prefix))

    def delete(self, container: str, key: str) -> None:
        if self.get(container, key) is not None:
            self.commit(container, {key: None}, f"delete {key}")


class CloneView:
    """What git itself says of a clone a driver made (never the driver's code)."""

    def __init__(self, path: Path):
        self.path = path

    def _ask(self, *args: str) -> str:
        return git("-C", str(self.path), *args).strip()

    def head(self) -> str:
        return self._ask("rev-parse", "HEAD")

    def resolve(self, ref: str) -> str:
        return self._ask("rev-parse", ref)

    def commits(self) -> int:
        """How many commits the checked-out history holds (a shallow clone: to its depth)."""
        return int(self._ask("rev-list", "--count", "HEAD"))

    def shallow(self) -> bool:
        return self._ask("rev-parse", "--is-shallow-repository") == "true"

    def remote_branches(self) -> list[str]:
        return self._ask("branch", "-r", "--format=%(refname:short)").split()

    def config(self, name: str) -> str:
        return self._ask("config", name)


class Git(Kind):
    name = "git"
    credential_keys = ("username", "password")
    sdk_packages = ()
    # Load only, as a clone; the rest refused with Argo's texts (spec 1.3 Git row, 2.7).
    argo_capabilities = capabilities(
        """clone clone_depth clone_revision clone_fetch_refspecs clone_submodules
        clone_single_branch auth_basic auth_ssh_key ssh_host_key_check
        auth_rejects_bad_credentials tls_custom_ca tls_insecure_skip_verify
        refuses_unsupported""",
        where="kinds.git",
    )

    @property
    def key_field(self) -> str:
        return "repo"

    def location(self, endpoint: Endpoint, container: str, key: str = "") -> Location:
        creds = endpoint.credentials
        fields: dict[str, Any] = {}
        secrets: dict[str, dict[str, str]] = {}
        context: dict[str, Any] = {}
        if endpoint.server == "git-ssh":
            base = f"ssh://{creds['user']}@127.0.0.1:{endpoint.port}{creds['repos_dir']}/"
            fields["sshPrivateKeySecret"] = {"name": SECRET, "key": "sshPrivateKey"}
            # The unauthorized key rides in the same Secret, for `wrong_secrets` to swap in.
            secrets[SECRET] = {
                "sshPrivateKey": creds["ssh_private_key"],
                "wrongSshPrivateKey": creds["wrong_ssh_private_key"],
            }
            context["ssh_known_hosts"] = str(known_hosts_file(endpoint))
        elif endpoint.server == "git-daemon":
            base = f"git://127.0.0.1:{endpoint.port}/"
        else:  # smart HTTP, the basic-auth tree
            base = f"{endpoint.url}{creds.get('auth_path', '/auth')}/"
            fields["usernameSecret"] = {"name": SECRET, "key": "username"}
            fields["passwordSecret"] = {"name": SECRET, "key": "password"}
            secrets[SECRET] = {"username": creds["user"], "password": creds["password"]}
            if endpoint.tls:
                context["ca_bundle"] = endpoint.ca_bundle
        keys = RepoUrls(base, container)
        return Location(self.type, self.key_field, fields, secrets, context, keys).with_key(key)

    def admin(self, endpoint: Endpoint) -> GitAdmin:
        return GitAdmin(endpoint)

    def in_container(self, location: Location, container: str) -> Location:
        return location.placing(dataclasses.replace(repo_urls(location), container=container))

    def object_key(self, artifact: Any) -> str:
        return ""

    def key_only(self, key: str, location: Location | None = None) -> dict[str, Any]:
        raise self._lacks("key: a Git location has none")

    def repository(self, location: Location, key_format: str) -> dict[str, Any]:
        raise self._lacks("repository: Argo's Git location is never an artifact repository")

    def wrong_secrets(self, location: Location) -> dict[str, dict[str, str]]:
        secrets = {name: dict(keys) for name, keys in location.secrets.items()}
        keys = secrets.get(SECRET, {})
        if "password" in keys:
            keys["password"] = "not-" + keys["password"]
        if "sshPrivateKey" in keys:
            keys["sshPrivateKey"] = keys["wrongSshPrivateKey"]
        return secrets

    def tls_on_plain(self, location: Location) -> Location:
        urls = repo_urls(location)
        return location.placing(
            dataclasses.replace(urls, base=urls.base.replace("http:", "https:", 1))
        )

    # --- Git's own variants -------------------------------------------------------------
    def clone_view(self, path: Path) -> CloneView:
        return CloneView(path)

    def submodule_file(self, url: str, path: str) -> bytes:
        """The `.gitmodules` text declaring one submodule at `path` fetched from `url`."""
        return f'[submodule "{path}"]\n\tpath = {path}\n\turl = {url}\n'.encode()

    def without_secrets(self, location: Location) -> Location:
        """`location` with no credential fields and no Secrets (the URL kept)."""
        bare = location.replace(usernameSecret=None, passwordSecret=None, sshPrivateKeySecret=None)
        return bare.with_secrets({})

    def with_known_hosts(self, location: Location, path: Path) -> Location:
        """`location` whose pod knows the hosts in `path` (and no others)."""
        return location.with_context(ssh_known_hosts=str(path))

    def as_user(self, location: Location, user: str | None) -> Location:
        """`location` whose SSH URL names `user` (None: no user, so Argo's default `git`)."""
        urls = repo_urls(location)
        scheme, rest = urls.base.split("://", 1)
        host = rest.split("@", 1)[-1]
        base = f"{scheme}://{user}@{host}" if user else f"{scheme}://{host}"
        return location.placing(dataclasses.replace(urls, base=base))


def repo_urls(location: Location) -> RepoUrls:
    assert isinstance(location.placed, RepoUrls), "a Git location places its container in `repo`"
    return location.placed


def known_hosts_file(endpoint: Endpoint) -> Path:
    """A known-hosts file holding the SSH server's host key, beside its repositories."""
    path = Path(endpoint.credentials["repos_dir"]).parent / "client_known_hosts"
    text = endpoint.credentials["known_hosts"].strip() + "\n"
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path


KIND = Git()
