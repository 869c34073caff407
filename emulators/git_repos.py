"""The bare repositories every git server serves, built with the `git` binary, and their facts.

`build_repositories(root)` writes, under `root`:

- `probe.git`: one commit, for the servers' readiness probes.
- `main.git`: `master` with six commits (commit k adds `history/<k>.txt`, "commit <k>\\n", and
  rewrites `README.md` to "version <k>\\n"; commit 5 adds `big.bin`, 8 MiB of deterministic
  pseudo-random bytes); `feature`, one commit adding `feature.txt` off commit 3; the
  lightweight tag `v-light` on commit 2 and the annotated tag `v1.0` on commit 4; and
  `refs/pull/7/head`, a commit on no branch adding `pull.txt` (only an extra fetch refspec
  reaches it).
- `sub.git`: `master` with two commits of `sub.txt`.
- `with-sub.git`: one commit of `top.txt` and a submodule at `libs/sub` whose URL is the
  relative `../sub.git`, so it resolves beside the superproject on every transport and prefix.
- `empty.git`: no commits at all.

The content is deterministic: a fixed identity and fixed dates, no user or system git config
(`GIT_CONFIG_GLOBAL=/dev/null`, `GIT_CONFIG_NOSYSTEM=1`), so every hash is the same on every
machine. Commits are made with plumbing (`hash-object`, `update-index`, `commit-tree`) straight
into the bare repositories: no work tree, no checkout. `describe(root)` reads the facts back
with git itself, for tests to compare what a driver checked out against the truth.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

DEFAULT_BRANCH = "master"
MASTER_COMMITS = 6
FEATURE_BRANCH = "feature"
FEATURE_BASE = 3  # `feature` branches off this master commit (1-based)
LIGHT_TAG, LIGHT_TAG_COMMIT = "v-light", 2
ANNOTATED_TAG, ANNOTATED_TAG_COMMIT = "v1.0", 4
PULL_REF = "refs/pull/7/head"
BIG_FILE, BIG_FILE_COMMIT, BIG_FILE_SIZE = "big.bin", 5, 8 * 1024 * 1024
SUBMODULE_PATH, SUBMODULE_URL = "libs/sub", "../sub.git"
REPOSITORIES = ("probe", "main", "sub", "with-sub", "empty")  # each `<name>.git` under root

#: 2023-11-14T22:13:20Z; commit n of a repository is dated n minutes later.
EPOCH = 1_700_000_000
_IDENTITY = {
    "GIT_AUTHOR_NAME": "artconf",
    "GIT_AUTHOR_EMAIL": "artconf@example.invalid",
    "GIT_COMMITTER_NAME": "artconf",
    "GIT_COMMITTER_EMAIL": "artconf@example.invalid",
}


class GitError(RuntimeError):
    """A git command failed; the message names the command and carries git's own words."""


def git_env() -> dict[str, str]:
    """A minimal environment: none of the caller's GIT_* variables, no user or system config."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LC_ALL": "C",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        **_IDENTITY,
    }


def git(
    *args: str,
    git_dir: Path | None = None,
    data: bytes | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Run git (in `git_dir` if given); its stdout, stripped."""
    argv = ["git", "-c", f"init.defaultBranch={DEFAULT_BRANCH}"]
    if git_dir is not None:
        argv += ["--git-dir", str(git_dir)]
    result = subprocess.run(
        [*argv, *args],
        input=data,
        capture_output=True,
        env={**git_env(), **(env or {})},
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        said = result.stderr.decode(errors="replace").strip()
        raise GitError(f"git {' '.join(args[:2])} failed (exit {result.returncode}): {said}")
    return result.stdout.decode(errors="replace").strip()


def _dated(minute: int) -> dict[str, str]:
    when = f"@{EPOCH + 60 * minute} +0000"
    return {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}


def big_file_bytes() -> bytes:
    """8 MiB from SHAKE-256 of a fixed seed: the same bytes on every machine and Python."""
    return hashlib.shake_256(b"artifact-conformance big.bin").digest(BIG_FILE_SIZE)


class _Bare:
    """One bare repository, written with plumbing only."""

    def __init__(self, path: Path):
        self.path = path
        git("init", "--quiet", "--bare", "--template=", str(path))  # no sample hooks

    def run(self, *args: str, data: bytes | None = None, env: dict[str, str] | None = None) -> str:
        return git(*args, git_dir=self.path, data=data, env=env)

    def blob(self, data: bytes) -> str:
        return self.run("hash-object", "-w", "--stdin", data=data)

    def commit(
        self, tree: dict[str, str], message: str, minute: int, parents: list[str] | None = None
    ) -> str:
        """A commit whose tree is exactly `tree`: path -> "<mode> <object>" (a blob's mode is
        100644, a submodule's gitlink 160000)."""
        index = self.path / "artconf-build.index"  # a throw-away index: the repo keeps none
        lines = "".join(f"{entry}\t{path}\n" for path, entry in sorted(tree.items()))
        try:
            self.run(
                "update-index",
                "--add",
                "--index-info",
                data=lines.encode(),
                env={"GIT_INDEX_FILE": str(index)},
            )
            tree_id = self.run("write-tree", env={"GIT_INDEX_FILE": str(index)})
        finally:
            index.unlink(missing_ok=True)
        parent_args = [arg for parent in parents or [] for arg in ("-p", parent)]
        return self.run("commit-tree", tree_id, *parent_args, "-m", message, env=_dated(minute))

    def file(self, text: str | bytes) -> str:
        return f"100644 {self.blob(text.encode() if isinstance(text, str) else text)}"

    def set_ref(self, ref: str, commit: str) -> None:
        self.run("update-ref", ref, commit)


def build_repositories(root: Path) -> None:
    """Write every repository under `root`, replacing whatever was there."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    _build_probe(_Bare(root / "probe.git"))
    _build_main(_Bare(root / "main.git"))
    sub_head = _build_sub(_Bare(root / "sub.git"))
    _build_with_sub(_Bare(root / "with-sub.git"), sub_head)
    _Bare(root / "empty.git")


def _build_probe(repo: _Bare) -> None:
    repo.set_ref("refs/heads/master", repo.commit({"probe.txt": repo.file("probe\n")}, "probe", 1))


def _build_main(repo: _Bare) -> None:
    tree: dict[str, str] = {}
    master: list[str] = []
    feature_tree: dict[str, str] = {}
    for k in range(1, MASTER_COMMITS + 1):
        tree[f"history/{k}.txt"] = repo.file(f"commit {k}\n")
        tree["README.md"] = repo.file(f"version {k}\n")
        if k == BIG_FILE_COMMIT:
            tree[BIG_FILE] = repo.file(big_file_bytes())
        master.append(repo.commit(tree, f"commit {k}", k, master[-1:]))
        if k == FEATURE_BASE:
            feature_tree = dict(tree)
    feature_tree["feature.txt"] = repo.file("feature\n")
    feature = repo.commit(feature_tree, "feature", 7, [master[FEATURE_BASE - 1]])
    tree_of_pull = {**tree, "pull.txt": repo.file("pull request 7\n")}
    pull = repo.commit(tree_of_pull, "pull request 7", 8, master[-1:])
    repo.set_ref("refs/heads/master", master[-1])
    repo.set_ref(f"refs/heads/{FEATURE_BRANCH}", feature)
    repo.set_ref(PULL_REF, pull)
    repo.set_ref(f"refs/tags/{LIGHT_TAG}", master[LIGHT_TAG_COMMIT - 1])
    # The tagger's identity and date come from the GIT_COMMITTER_* variables.
    tagged = master[ANNOTATED_TAG_COMMIT - 1]
    repo.run("tag", "-a", ANNOTATED_TAG, "-m", f"release {ANNOTATED_TAG}", tagged, env=_dated(9))


def _build_sub(repo: _Bare) -> str:
    first = repo.commit({"sub.txt": repo.file("sub 1\n")}, "sub 1", 1)
    second = repo.commit({"sub.txt": repo.file("sub 2\n")}, "sub 2", 2, [first])
    repo.set_ref("refs/heads/master", second)
    return second


def _build_with_sub(repo: _Bare, sub_head: str) -> None:
    gitmodules = (
        f'[submodule "{SUBMODULE_PATH}"]\n\tpath = {SUBMODULE_PATH}\n\turl = {SUBMODULE_URL}\n'
    )
    tree = {
        ".gitmodules": repo.file(gitmodules),
        "top.txt": repo.file("top\n"),
        SUBMODULE_PATH: f"160000 {sub_head}",  # a gitlink: the commit lives in sub.git
    }
    repo.set_ref("refs/heads/master", repo.commit(tree, "with a submodule", 1))


# --- the facts, as git reads them back ----------------------------------------------------


def describe(root: Path) -> dict[str, Any]:
    """What the repositories under `root` hold, by full commit hash (git's own answers)."""

    def rev(repo: str, expression: str) -> str:
        return git("rev-parse", "--verify", expression, git_dir=root / f"{repo}.git")

    def history(repo: str) -> list[str]:
        return git("rev-list", "--reverse", DEFAULT_BRANCH, git_dir=root / f"{repo}.git").split()

    main = root / "main.git"
    big = subprocess.run(
        ["git", "--git-dir", str(main), "cat-file", "blob", f"{DEFAULT_BRANCH}:{BIG_FILE}"],
        capture_output=True,
        env=git_env(),
        timeout=120,
        check=True,
    ).stdout
    added = ("log", "--diff-filter=A", "--format=%H", DEFAULT_BRANCH, "--", BIG_FILE)
    big_added = git(*added, git_dir=main)  # the commit that added it
    with_sub = root / "with-sub.git"
    gitlink = git("ls-tree", DEFAULT_BRANCH, SUBMODULE_PATH, git_dir=with_sub)
    gitmodules = f"{DEFAULT_BRANCH}:.gitmodules"
    url_key = f"submodule.{SUBMODULE_PATH}.url"
    submodule_url = git("config", "--blob", gitmodules, url_key, git_dir=with_sub)
    master = history("main")
    return {
        "main": {
            "default_branch": DEFAULT_BRANCH,
            "master": master,  # oldest first
            "head": master[-1],
            "feature": rev("main", f"refs/heads/{FEATURE_BRANCH}"),
            "feature_base": git("merge-base", DEFAULT_BRANCH, FEATURE_BRANCH, git_dir=main),
            "tags": {  # the commits the tags name
                LIGHT_TAG: rev("main", f"{LIGHT_TAG}^{{commit}}"),
                ANNOTATED_TAG: rev("main", f"{ANNOTATED_TAG}^{{commit}}"),
            },
            "annotated_tag_object": rev("main", f"refs/tags/{ANNOTATED_TAG}"),
            "pull_ref": PULL_REF,
            "pull": rev("main", PULL_REF),
            "big_file": {
                "path": BIG_FILE,
                "size": len(big),
                "sha256": hashlib.sha256(big).hexdigest(),
                "commit": big_added,
            },
        },
        "sub": {"master": history("sub"), "head": rev("sub", DEFAULT_BRANCH)},
        "with-sub": {
            "head": rev("with-sub", DEFAULT_BRANCH),
            "submodule": {
                "path": SUBMODULE_PATH,
                "url": submodule_url,
                "commit": gitlink.split()[2],  # "160000 commit <hash>\tlibs/sub"
            },
        },
        "probe": {"head": rev("probe", DEFAULT_BRANCH)},
        "empty": {"refs": git("for-each-ref", git_dir=root / "empty.git").split()},
    }
