"""Probing a resolved artifact repository with its Secrets, and naming what stopped the probe.

:func:`probe_repository` takes a workflow whose repository Argo's resolution has chosen
(``drivers.controller.resolution``), and through the reference drivers and the repository's own
Secrets (read from Kubernetes) lists the sample pod's archive key, writes a probe object under it
and deletes it. :func:`classify_failure` names the kind of failure: auth, tls, connection,
permission, not-found, configuration (or other). ``artconf resolve --check`` prints the result.

Why here, beside ``drivers.factory``: the probe needs both halves of ``drivers``, the controller
half (the resolved repository, the sample pod's archive location, ``KubeSecretSource``) and the
drivers proper (``new_driver``). ``drivers.controller`` never touches storage and does not
depend on the drivers, so it stays that way; and nothing here needs the conformance kit, so the
probe is a library call, not a part of the command line.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from drivers.controller.kube import KubeError, KubeSecretSource, ObjectSource
from drivers.controller.resolution import (
    WorkflowResolution,
    archive_location,
    find_template,
    sample_archive_key,
    sample_pod,
)
from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext
from drivers.core.errors import ArtifactError, Code, causes, is_cert_failure
from drivers.core.model import Artifact, go_path_join, parse_artifact
from drivers.core.secrets import SecretValue
from drivers.factory import new_driver

# Lower-case marks in the failure's text (types and messages of its whole chain).
_AUTH_MARKS = (
    "signaturedoesnotmatch",
    "invalidaccesskeyid",
    "authenticationfailed",
    "invalidsecurity",
    "invalid_grant",
    "invalidtoken",
    "expiredtoken",
)
_CONNECTION_MARKS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "getaddrinfo",
    "connection refused",
    "could not connect",
    "failed to establish a new connection",
    "timed out",
    "connect timeout",
    "max retries exceeded",
)
_MISSING_BUCKET_MARKS = ("nosuchbucket", "bucket does not")


def failure_text(exc: BaseException) -> str:
    """The lower-cased types and messages of ``exc`` and its causes, joined by `` | ``."""
    return " | ".join(f"{type(link).__name__}: {link}".lower() for link in causes(exc))


def classify_failure(exc: BaseException) -> str:
    """auth | tls | connection | permission | not-found | configuration | other.

    The order matters: a certificate failure is tls whatever its code, an SDK's auth code wins
    over the HTTP status, and a TLS error without a certificate failure (a plain-HTTP server
    on an https endpoint) is tls only when nothing names a connection failure.
    """
    text = failure_text(exc)
    if is_cert_failure(exc):
        return "tls"
    if any(mark in text for mark in _AUTH_MARKS):
        return "auth"
    code = exc.code if isinstance(exc, ArtifactError) else None
    if code is Code.UNAUTHORIZED:
        return "auth"
    if code is Code.FORBIDDEN:
        return "permission"
    if code is Code.NOT_FOUND:
        return "not-found"
    if any(mark in text for mark in _CONNECTION_MARKS):
        return "connection"
    if "sslerror" in text or "wrong version number" in text:
        return "tls"
    if code is Code.BAD_REQUEST:
        return "configuration"
    return "other"


def probe_repository(
    workflow: dict[str, Any],
    result: WorkflowResolution,
    source: ObjectSource,
    secrets_seen: list[SecretValue],
) -> dict[str, Any]:
    """List one key, write and delete a probe object with the resolved repository.

    Returns ``{"ok", "steps": [{"step", "result"}], and on failure "category", "error" and
    "step"}``. Every Secret value read is appended to ``secrets_seen``, so that the caller can
    redact them from whatever it prints.
    """
    pod = sample_pod(workflow, result.template_spec)
    template = find_template(pod.template_name, workflow, result.template_spec)
    location, _ = archive_location(template, result.repository)
    steps: list[dict[str, str]] = []
    report: dict[str, Any] = {"ok": False, "steps": steps}
    if location is None or not location.location_types():
        report.update(category="configuration", error="artifact storage is not configured")
        return report
    kind = location.location_types()[0]
    sample = sample_archive_key(workflow, result)
    base = sample.get("key") or "artconf-probe"
    fields = location.get().to_dict()
    secret_source = KubeSecretSource(source, result.namespace)
    with tempfile.TemporaryDirectory(prefix="artconf-check-") as tmp:
        context = DriverContext.from_environment(temp_dir=Path(tmp))
        probe_key = go_path_join(base, f"artconf-probe-{uuid.uuid4().hex[:12]}.txt")

        def artifact(key: str) -> Artifact:
            made = parse_artifact({"name": "artconf-probe", kind: fields})
            made.get().set_key(key)  # a key field, or an URL's path (Artifactory)
            return made

        step = "connect"
        try:
            with new_driver(artifact(base), secret_source, context) as driver:
                if Capability.DELETE not in driver.capabilities:
                    step = "read"
                    steps.extend(_probe_without_delete(driver, artifact(probe_key), Path(tmp)))
                    secrets_seen.extend(secret_source.read)
                    report["ok"] = True
                    return report
                step = "list"
                try:
                    listed = len(driver.list_objects(artifact(base)))
                except ArtifactError as exc:
                    missing_bucket = any(
                        mark in failure_text(exc) for mark in _MISSING_BUCKET_MARKS
                    )
                    if exc.code is not Code.NOT_FOUND or missing_bucket:
                        raise
                    listed = 0  # nothing under the archive key yet: the listing itself worked
                steps.append({"step": "list", "result": f"ok ({min(listed, 1)} key seen)"})
                step = "write"
                local = Path(tmp) / "probe.txt"
                local.write_text("artifact-conformance probe; safe to delete\n")
                driver.save(str(local), artifact(probe_key))
                steps.append({"step": "write", "result": f"ok ({probe_key})"})
                step = "delete"
                driver.delete(artifact(probe_key))
                steps.append({"step": "delete", "result": "ok"})
        except (ArtifactError, KubeError) as exc:
            secrets_seen.extend(secret_source.read)
            steps.append({"step": step, "result": "failed"})
            report.update(category=classify_failure(exc), error=str(exc), step=step)
            return report
        secrets_seen.extend(secret_source.read)
    report["ok"] = True
    return report


def _probe_without_delete(driver: Any, probe: Artifact, tmp: Path) -> list[dict[str, str]]:
    """A driver that cannot delete (Artifactory, as Argo's) is probed by reading a key that
    does not exist: a 404 proves the connection, TLS and credentials. Nothing is written, since
    the probe could not remove it."""
    try:
        driver.load(probe, str(tmp / "read-probe"))
        seen = "ok (the probe key exists)"
    except ArtifactError as exc:
        if exc.code is not Code.NOT_FOUND:
            raise
        seen = "ok (404 for a key that does not exist, as expected)"
    return [
        {"step": "read", "result": seen},
        {
            "step": "write",
            "result": "skipped: Argo's driver for this repository cannot delete, so the probe "
            "writes nothing it could not remove",
        },
    ]
