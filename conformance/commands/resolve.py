"""`artconf resolve`: which artifact repository a Workflow will use, and why.

Reads the objects from a manifests directory (as `kubectl apply -f DIR` would) or from the
cluster of the kubeconfig (`--kube`; in a pod, the in-cluster service account), resolves the
repository exactly as Argo's controller (spec 3), and prints each candidate (chosen; skipped and
why; aborted; not tried), the status Argo would record, and the archive key of a sample pod
(Argo's v2 pod names). `--check` then probes the repository with its Secrets using the reference
drivers: list one key, write and delete a probe object; a failure is classified as auth, tls,
connection (DNS, refused, timeout), permission, not-found or configuration. Credentials never
appear in the output.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from conformance.commands.artifact import EXIT_CODES
from drivers.controller.kube import (
    DEFAULT_CONTROLLER_NAMESPACE,
    KubeApiSource,
    KubeError,
    KubeSecretSource,
    ManifestSource,
    ObjectSource,
    load_controller_config,
    yaml_documents,
)
from drivers.controller.resolution import (
    ResolutionError,
    WorkflowResolution,
    archive_location,
    find_template,
    resolve_workflow,
    sample_archive_key,
    sample_pod,
)
from drivers.core.errors import ArtifactError, BadRequest, Code
from drivers.core.model import go_path_join, parse_artifact
from drivers.core.secrets import REDACTED, SecretValue, redact

WORKFLOW_FIELDS = frozenset({"apiVersion", "kind", "metadata", "spec", "status"})
#: Plain-string credentials inside a repository (not SecretKeySelectors): always redacted.
PLAIN_CREDENTIAL_FIELDS = frozenset({"securityToken"})


class ResolveUsageError(BadRequest):
    """A bad file or option; printed as one line."""


# --- inputs ---------------------------------------------------------------------------------


def read_workflow(path: str) -> dict[str, Any]:
    """The one Workflow in ``path``; bad YAML names the file and line, unknown fields are errors."""
    file = Path(path)
    if not file.is_file():
        raise ResolveUsageError(f"--workflow {path}: no such file")
    documents = [d for d in yaml_documents(file) if d is not None]
    workflows = [d for d in documents if isinstance(d, dict) and d.get("kind") == "Workflow"]
    if len(workflows) != 1:
        kinds = ", ".join(str(d.get("kind")) for d in documents if isinstance(d, dict)) or "none"
        raise ResolveUsageError(
            f"{path}: expected exactly one Workflow (kind: Workflow), found {len(workflows)} "
            f"(kinds: {kinds})"
        )
    wf = workflows[0]
    unknown = sorted(set(wf) - WORKFLOW_FIELDS)
    if unknown:
        raise ResolveUsageError(
            f"{path}: Workflow has unknown field(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(WORKFLOW_FIELDS))}"
        )
    meta = wf.get("metadata")
    if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
        raise ResolveUsageError(f"{path}: Workflow needs metadata.name or metadata.generateName")
    if not isinstance(wf.get("spec"), dict):
        raise ResolveUsageError(f"{path}: Workflow needs a spec")
    return wf


def open_source(args: argparse.Namespace) -> ObjectSource:
    if args.manifests:
        return ManifestSource(args.manifests, namespace=args.namespace)
    return KubeApiSource.connect(args.kubeconfig, args.context)


# --- redaction -------------------------------------------------------------------------------


def _plain_credentials(data: Any, found: list[str]) -> Any:
    """``data`` with every plain-string credential field replaced; values collected in found."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if key in PLAIN_CREDENTIAL_FIELDS and isinstance(value, str) and value:
                found.append(value)
                out[key] = REDACTED
            else:
                out[key] = _plain_credentials(value, found)
        return out
    if isinstance(data, list):
        return [_plain_credentials(v, found) for v in data]
    return data


# --- the probe -------------------------------------------------------------------------------

_TLS_MARKS = ("certificate verify failed", "certificate_verify_failed", "ssl", "tls")
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


def classify_text(exc: BaseException) -> str:
    """The lower-cased types and messages of ``exc`` and its causes."""
    texts = []
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts.append(f"{type(current).__name__}: {current}".lower())
        current = current.__cause__ or current.__context__
    return " | ".join(texts)


def classify_failure(exc: BaseException) -> str:
    """auth | tls | connection | permission | not-found | configuration | other."""
    text = classify_text(exc)
    if "certificate verify failed" in text or "certificate_verify_failed" in text:
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


def probe(
    workflow: dict[str, Any],
    result: WorkflowResolution,
    source: ObjectSource,
    secrets_seen: list[SecretValue],
) -> dict[str, Any]:
    """List one key, write and delete a probe object with the resolved repository."""
    from drivers import new_driver
    from drivers.core.context import DriverContext

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

        def artifact(key: str):
            key_field = "blob" if kind == "azure" else "key"
            return parse_artifact({"name": "artconf-probe", kind: {**fields, key_field: key}})

        step = "connect"
        try:
            with new_driver(artifact(base), secret_source, context) as driver:
                step = "list"
                try:
                    listed = len(driver.list_objects(artifact(base)))
                except ArtifactError as exc:
                    missing_bucket = any(
                        mark in classify_text(exc) for mark in ("nosuchbucket", "bucket does not")
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


# --- output ----------------------------------------------------------------------------------


def build_report(
    args: argparse.Namespace, workflow: dict[str, Any], source: ObjectSource, found: list[str]
) -> tuple[dict[str, Any], int]:
    controller = load_controller_config(source, args.controller_namespace)
    meta = workflow.get("metadata") or {}
    report: dict[str, Any] = {
        "workflow": meta.get("name") or f"{meta.get('generateName')}<generated>",
        "namespace": meta.get("namespace") or args.namespace,
        "source": source.describe(),
        "controller": controller.origin + ("" if controller.found else " (not found)"),
    }
    try:
        result = resolve_workflow(workflow, source, controller, namespace=args.namespace)
    except ResolutionError as exc:
        report["candidates"] = [d.to_dict() for d in exc.decisions]
        report["notes"] = list(controller.warnings)
        report["error"] = str(exc)
        return report, EXIT_CODES.get(exc.code, 1)
    report["namespace"] = result.namespace
    report["ref"] = None if result.ref is None else result.ref.to_dict()
    report["refOrigin"] = result.ref_origin
    report["frozen"] = result.frozen
    report["artifactRepositoryRef"] = _plain_credentials(result.status.to_dict(), found)
    report["candidates"] = [d.to_dict() for d in result.decisions]
    report["notes"] = [*result.resolution.notes, *result.notes]
    report["archiveKey"] = sample_archive_key(workflow, result)
    code = 0
    if "error" in report["archiveKey"] and "not configured" not in report["archiveKey"]["error"]:
        code = EXIT_CODES[Code.BAD_REQUEST]
    if args.check:
        secrets: list[SecretValue] = []
        report["check"] = probe(workflow, result, source, secrets)
        found.extend(s.reveal() for s in secrets)
        if not report["check"]["ok"]:
            code = code or 1
    return report, code


def render_text(report: dict[str, Any]) -> str:
    lines = [
        f"workflow {report['workflow']} in namespace {report['namespace']}",
        f"  objects from {report['source']}; controller configuration: {report['controller']}",
    ]
    if "ref" in report:
        ref = report["ref"]
        if ref is None:
            lines.append(
                "artifactRepositoryRef: none (no ref in the Workflow, its template or the defaults)"
            )
        else:
            origin = ", ".join(f"{k} from {v}" for k, v in report["refOrigin"].items())
            lines.append(f"artifactRepositoryRef: {json.dumps(ref)} ({origin})")
    lines.append("candidates:")
    for index, decision in enumerate(report["candidates"], 1):
        calls = decision.get("attempts", 0)
        suffix = f" [{calls} read{'s' if calls != 1 else ''}]" if calls else ""
        outcome, candidate = decision["outcome"], decision["candidate"]
        lines.append(f"  {index}. {outcome:<10} {candidate}: {decision['reason']}{suffix}")
    for note in report.get("notes") or []:
        lines.append(f"note: {note}")
    if "error" in report:
        lines.append(f"error: {report['error']}")
        return "\n".join(lines)
    status = report["artifactRepositoryRef"]
    lines.append(f"status.artifactRepositoryRef: {json.dumps(status, sort_keys=True)}")
    key = report["archiveKey"]
    where = (
        f"pod {key['pod']} (template {key['template']!r}, node {key['node']}), from {key['from']}"
    )
    if "key" in key:
        lines.append(f"archive key: {key['type']} {key['key']}  [{where}]")
    else:
        lines.append(f"archive key: none: {key['error']}  [{where}]")
    for note in key.get("notes") or []:
        lines.append(f"note: {note}")
    check = report.get("check")
    if check is not None:
        for step in check["steps"]:
            lines.append(f"check {step['step']}: {step['result']}")
        if check["ok"]:
            lines.append("check: OK")
        else:
            lines.append(f"check: FAILED ({check['category']}): {check['error']}")
    return "\n".join(lines)


def cmd_resolve(args: argparse.Namespace) -> int:
    found: list[str] = []
    try:
        workflow = read_workflow(args.workflow)
        source = open_source(args)
        report, code = build_report(args, workflow, source, found)
    except (ArtifactError, KubeError) as exc:
        name = exc.code.name if isinstance(exc, ArtifactError) else "KUBE"
        print(redact(f"artconf: {name}: {exc}", found), file=sys.stderr)
        code = EXIT_CODES.get(exc.code, 1) if isinstance(exc, ArtifactError) else 1
        return code
    if args.output == "json":
        text = json.dumps(report, indent=2, sort_keys=True)
    else:
        text = render_text(report)
    try:
        print(redact(text, found))
    except BrokenPipeError:  # `artconf resolve ... | head`
        return code
    if "error" in report:
        print(redact(f"artconf: resolve: {report['error']}", found), file=sys.stderr)
    return code


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "resolve",
        help="explain which artifact repository a Workflow will use",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes: 0 resolved (and checked), 1 INTERNAL or a failed check, "
        "2 BAD_REQUEST or usage, 3 NOT_FOUND (no candidate), 4 UNAUTHORIZED or FORBIDDEN",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--manifests", metavar="DIR", help="objects from manifests (kubectl apply)")
    where.add_argument("--kube", action="store_true", help="objects from the cluster")
    parser.add_argument("--workflow", required=True, metavar="WF.yaml", help="the Workflow")
    parser.add_argument(
        "--controller-namespace",
        default=DEFAULT_CONTROLLER_NAMESPACE,
        metavar="NS",
        help=f"where the controller runs (default {DEFAULT_CONTROLLER_NAMESPACE})",
    )
    parser.add_argument(
        "--namespace",
        default="default",
        metavar="NS",
        help="namespace of objects without one, and of the Workflow (default: default)",
    )
    parser.add_argument("--kubeconfig", metavar="FILE", help="with --kube (default: $KUBECONFIG)")
    parser.add_argument("--context", help="kubeconfig context (with --kube)")
    parser.add_argument(
        "--check", action="store_true", help="probe the repository: list, write, delete"
    )
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")
    parser.set_defaults(func=cmd_resolve)
