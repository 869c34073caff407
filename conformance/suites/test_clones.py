"""Repository inputs: a clone lands whole, at the commit and depth asked, with its submodules,
over each transport's own authentication (spec 1.3, 2.7).

The session's repositories (`emulators/git_repos.py`) are on every such server: `main` (six
commits on `master`, a `feature` branch, a lightweight and an annotated tag, a pull ref outside
the branches, an 8 MiB file), `sub`, `with-sub` (a submodule at `libs/sub`, by the relative URL
`../sub`) and `empty`. What a case expects is what the server's own tools say of the repository
on the server (`store.admin`), never a constant, so a driver that checks out anything else
fails.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conformance import checks
from conformance.cases import deviation, requires, verifies
from drivers.core.errors import Code
from drivers.core.secrets import MemorySecretSource

REFUSED = (Code.UNAUTHORIZED, Code.FORBIDDEN)


def clone(store, location, name: str = "out", **fields) -> Path:
    """Load `location` (with `fields` set) through a driver for it; the clone's path."""
    location = location.replace(**fields)
    out = store.tmp / name
    store.driver_for(location).load(store.artifact_in(location, ""), str(out))
    assert out.is_dir(), f"a repository load must leave a directory at {out}"
    return out


def repo(store, name: str):
    return store.kind.in_container(store.location, name)


def view(store, path: Path):
    return store.kind.clone_view(path)


# --- the clone ------------------------------------------------------------------------------


@verifies("clone")
def test_clone_lands_as_a_directory_at_the_default_branch(store):
    """load clones the whole repository into the load path, `master` checked out, every file
    of its tree there byte for byte, the 8 MiB one too (spec 1.3)."""
    out = clone(store, repo(store, "main"))
    assert view(store, out).head() == store.admin.rev("main", "master")
    for key in store.admin.keys("main"):
        checks.same_file(out / key, store.admin.get("main", key))
    big = (out / "big.bin").read_bytes()
    expected = store.admin.get("main", "big.bin")
    assert hashlib.sha256(big).hexdigest() == hashlib.sha256(expected).hexdigest()


@verifies("clone")
def test_a_committed_file_is_in_the_clone(store):
    """What the server's repository holds at `master` is what the clone holds (spec 1.3)."""
    store.objects.put("dir/in.txt", b"committed \x00\xff")
    out = clone(store, store.location)
    checks.same_file(out / "dir" / "in.txt", b"committed \x00\xff")


@verifies("clone")
def test_an_empty_repository_loads_as_an_initialised_one(store):
    """An empty remote is no error: the load path becomes a repository with `origin` set to
    the remote and a branch named `master` tracking it (spec 1.3, empty repository)."""
    out = clone(store, store.location)
    assert view(store, out).config("remote.origin.url") == store.location.fields["repo"]
    assert view(store, out).config("branch.master.remote") == "origin"


@verifies("clone")
@deviation("missing-is-not-found")
def test_a_missing_repository_is_not_found(store):
    """A repository the server does not have ends the load with an error, not an empty
    directory (spec 1.5)."""
    location = repo(store, "no-such-repository")
    driver = store.driver_for(location)
    checks.raises(
        lambda: driver.load(store.artifact_in(location, ""), str(store.tmp / "out")),
        Code.NOT_FOUND,
    )


# --- depth, revision, fetch, branch ---------------------------------------------------------


def history(store, commits: int) -> None:
    """`commits` commits on `master` of the case's repository, and no tag (a tag is another
    tip a shallow clone also fetches to the depth)."""
    for number in range(1, commits + 1):
        store.admin.commit(store.bucket, {"n.txt": f"{number}\n".encode()}, f"commit {number}")


@verifies("clone_depth")
@pytest.mark.parametrize("depth", [1, 3])
def test_depth_keeps_that_many_commits(store, depth):
    """`depth: n` is a shallow clone of exactly n commits of `master` (spec 1.3)."""
    history(store, 6)
    out = clone(store, store.location, depth=depth)
    assert view(store, out).commits() == depth
    assert view(store, out).shallow()
    checks.same_file(out / "n.txt", b"6\n")


@verifies("clone_depth")
def test_no_depth_is_the_whole_history(store):
    """Without `depth` the clone has every commit of `master` (spec 1.3: nil means 0)."""
    history(store, 6)
    out = clone(store, store.location)
    assert view(store, out).commits() == 6
    assert not view(store, out).shallow()


REVISIONS = [
    pytest.param("full-hash", id="full-hash"),
    pytest.param("short-hash", id="short-hash"),
    pytest.param("v-light", id="lightweight-tag"),
    pytest.param("v1.0", id="annotated-tag"),
    pytest.param("feature", id="branch"),
    pytest.param("HEAD~1", id="head-parent"),
]


@verifies("clone_revision")
@pytest.mark.parametrize("revision", REVISIONS)
def test_revision_is_checked_out(store, revision):
    """`revision` by full hash, short hash, tag, branch or `HEAD~1` checks out that commit
    (spec 1.3: fetch the branches, resolve, check out the hash)."""
    admin = store.admin
    if revision == "full-hash":
        revision = admin.rev("main", "master~3")
    elif revision == "short-hash":
        revision = admin.rev("main", "master~3")[:7]
    expected = admin.rev("main", revision)
    out = clone(store, repo(store, "main"), revision=revision)
    assert view(store, out).head() == expected


@verifies("clone_fetch_refspecs")
def test_fetch_refspecs_bring_refs_outside_the_branches(store):
    """`fetch` refspecs are fetched after the clone, so a pull-request ref exists in it
    (spec 1.3)."""
    ref = "refs/pull/7/head"
    out = clone(store, repo(store, "main"), fetch=[f"{ref}:{ref}"])
    assert view(store, out).resolve(ref) == store.admin.rev("main", ref)


@verifies("clone_revision")
@requires("clone_fetch_refspecs")
def test_a_fetched_ref_can_be_the_revision(store):
    """A revision reachable only through a `fetch` refspec is checked out (spec 1.3)."""
    ref = "refs/pull/7/head"
    out = clone(store, repo(store, "main"), fetch=[f"{ref}:{ref}"], revision=ref)
    assert view(store, out).head() == store.admin.rev("main", ref)
    assert (out / "pull.txt").is_file()


@verifies("clone_single_branch")
def test_single_branch_fetches_only_that_branch(store):
    """`singleBranch` with `branch` clones that branch alone and checks it out (spec 1.3)."""
    out = clone(store, repo(store, "main"), singleBranch=True, branch="feature")
    assert view(store, out).head() == store.admin.rev("main", "feature")
    remote = view(store, out).remote_branches()
    assert remote == ["origin/feature"], f"remote branches in the clone: {remote}"


@verifies("clone_single_branch")
@deviation("configuration-errors-are-bad-request")
def test_single_branch_without_a_branch_is_refused(store):
    """`singleBranch` without `branch` is Argo's error, before anything is cloned (spec 1.3)."""
    location = repo(store, "main").replace(singleBranch=True)
    driver = store.driver_for(location)
    out = store.tmp / "out"
    checks.raises(
        lambda: driver.load(store.artifact_in(location, ""), str(out)),
        Code.BAD_REQUEST,
        match="single branch mode without a branch specified",
    )
    assert not out.exists() or not any(out.iterdir()), "the refused load cloned anyway"


# --- submodules ------------------------------------------------------------------------------


@verifies("clone_submodules")
def test_submodules_are_cloned_recursively(store):
    """A submodule named by its full URL is initialised and updated, through the same
    transport and credentials (spec 1.3: recursively unless disabled)."""
    sub = repo(store, "sub")
    declared = store.kind.submodule_file(sub.fields["repo"], "vendor/sub")
    store.admin.commit(
        store.bucket,
        {".gitmodules": declared, "app.txt": b"app"},
        "a submodule by URL",
        gitlinks={"vendor/sub": store.admin.rev("sub", "master")},
    )
    out = clone(store, store.location)
    checks.same_file(out / "vendor" / "sub" / "sub.txt", store.admin.get("sub", "sub.txt"))
    assert view(store, out / "vendor" / "sub").head() == store.admin.rev("sub", "master")


@verifies("clone_submodules")
@deviation("relative-submodule-urls")
def test_relative_submodule_urls_follow_the_superproject(store):
    """A submodule named by a relative URL (`../sub` and the suffix) is fetched from beside the
    superproject, over its transport (spec 1.3)."""
    out = clone(store, repo(store, "with-sub"))
    checks.same_file(out / "libs" / "sub" / "sub.txt", store.admin.get("sub", "sub.txt"))
    assert view(store, out / "libs" / "sub").head() == store.admin.rev("sub", "master")


@verifies("clone_submodules")
def test_disable_submodules_leaves_them_empty(store):
    """`disableSubmodules: true` clones the superproject only (spec 1.3)."""
    out = clone(store, repo(store, "with-sub"), disableSubmodules=True)
    assert (out / "top.txt").is_file()
    assert not (out / "libs" / "sub" / "sub.txt").exists(), "a disabled submodule was cloned"


# --- authentication and transport -----------------------------------------------------------


@verifies("auth_basic")
@requires("clone")
@deviation("refusals-are-typed")
def test_basic_auth_is_sent_and_needed(store):
    """The username and password Secrets are sent: the same repository, asked for without
    them, is refused (spec 1.3, credentials by URL scheme)."""
    out = clone(store, repo(store, "main"))
    assert (out / "README.md").is_file()
    anonymous = store.kind.without_secrets(repo(store, "main"))
    driver = store.driver_for(anonymous)
    checks.raises(
        lambda: driver.load(store.artifact_in(anonymous, ""), str(store.tmp / "anon")), *REFUSED
    )


@verifies("auth_rejects_bad_credentials")
@requires("clone")
@deviation("refusals-are-typed")
def test_wrong_credentials_are_refused_without_a_prompt(store):
    """A wrong password or an unauthorized SSH key ends in a typed refusal at once:
    never a prompt for input, never a hang, not transient (spec 1.5, 6.5)."""
    location = repo(store, "main")
    backoff = checks.Backoff()
    driver = store.new_driver(
        store.artifact_in(location, ""),
        MemorySecretSource(store.kind.wrong_secrets(location)),
        store.context_with(location, sleep=backoff),
    )
    out = store.tmp / "out"
    checks.raises(
        lambda: driver.load(store.artifact_in(location, ""), str(out)), *REFUSED, backoff=backoff
    )


@verifies("auth_ssh_key")
@requires("clone")
def test_ssh_key_from_the_secret_logs_in(store):
    """The private key from `sshPrivateKeySecret` logs in as the URL's user (spec 1.3)."""
    out = clone(store, repo(store, "main"))
    assert view(store, out).head() == store.admin.rev("main", "master")


@verifies("auth_ssh_key")
@requires("clone")
@deviation("refusals-are-typed")
def test_a_url_without_user_logs_in_as_git(store):
    """An SSH URL without a user logs in as Argo's GetUser default user, which this server
    does not have, so the load is refused, typed (spec 1.3)."""
    location = store.kind.as_user(repo(store, "main"), None)
    driver = store.driver_for(location)
    checks.raises(
        lambda: driver.load(store.artifact_in(location, ""), str(store.tmp / "out")), *REFUSED
    )


@verifies("ssh_host_key_check")
@requires("clone")
@deviation("refusals-are-typed")
def test_an_unknown_host_key_is_refused(store):
    """With `insecureIgnoreHostKey` false, a server whose key the known hosts lack is refused
    before any login, typed, never a prompt (spec 1.3)."""
    nobody = store.tmp / "known_hosts_empty"
    nobody.write_text("")
    location = store.kind.with_known_hosts(repo(store, "main"), nobody)
    driver = store.driver_for(location)
    out = store.tmp / "out"
    checks.raises(
        lambda: driver.load(store.artifact_in(location, ""), str(out)),
        *REFUSED,
        match=r"(?i)host key",
    )


@verifies("ssh_host_key_check")
@requires("clone")
def test_insecure_ignore_host_key_accepts_an_unknown_host(store):
    """`insecureIgnoreHostKey: true` skips the check: the same server is cloned (spec 1.3)."""
    nobody = store.tmp / "known_hosts_empty"
    nobody.write_text("")
    location = store.kind.with_known_hosts(repo(store, "main"), nobody)
    out = clone(store, location, insecureIgnoreHostKey=True)
    assert (out / "README.md").is_file()


@verifies("tls_custom_ca")
@requires("clone")
def test_a_server_signed_by_an_untrusted_ca_is_refused(store):
    """Without the session's CA in the pod's trust, the handshake fails with a certificate
    error, not retried (spec 6.1)."""
    location = store.kind.untrusted(repo(store, "main"))
    backoff = checks.Backoff()
    driver = store.driver_for(location, sleep=backoff)
    checks.raises(
        lambda: driver.load(store.artifact_in(location, ""), str(store.tmp / "out")),
        Code.INTERNAL,
        Code.FORBIDDEN,
        match=r"(?i)certificate",
        backoff=backoff,
    )


@verifies("tls_insecure_skip_verify")
@requires("clone")
def test_insecure_skip_tls_accepts_an_untrusted_server(store):
    """`insecureSkipTLS: true` clones from a server no trusted CA signed (spec 2.7)."""
    location = store.kind.untrusted(repo(store, "main"))
    out = clone(store, location, insecureSkipTLS=True)
    assert view(store, out).head() == store.admin.rev("main", "master")


# --- what a repository input refuses ------------------------------------------------------


@verifies("refuses_unsupported")
@requires("clone")
def test_save_is_refused_with_argos_error(store):
    """Repository artifacts are input only: save is ERR_BAD_REQUEST "<type> output artifacts
    unsupported", and the repository is untouched (spec 1.3)."""
    before = store.admin.head("main")
    path = store.local_file("in.txt", b"never pushed")
    checks.raises(
        lambda: store.driver.save(str(path), store.artifact_in(repo(store, "main"), "")),
        Code.BAD_REQUEST,
        match=r"\w+ output artifacts unsupported",
    )
    assert store.admin.head("main") == before
