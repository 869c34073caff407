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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.commands.artifact import EXIT_CODES

# The resolution, the Kubernetes sources and the probe load the SDKs and the Kubernetes client:
# they are imported in the functions that use them, so that building the parser (every
# `artconf` invocation) does not pay for them.
if TYPE_CHECKING:
    from drivers.controller.kube import ObjectSource

#: `drivers.controller.kube.DEFAULT_CONTROLLER_NAMESPACE`, for the help text (a kit test keeps
#: the two equal).
DEFAULT_CONTROLLER_NAMESPACE = "argo"
WORKFLOW_FIELDS = frozenset({"apiVersion", "kind", "metadata", "spec", "status"})
#: Plain-string credentials inside a repository (not SecretKeySelectors): always redacted.
PLAIN_CREDENTIAL_FIELDS = frozenset({"securityToken"})


def _usage_error(message: str) -> Exception:
    """A bad file or option: BAD_REQUEST, printed as one line."""
    from drivers.core.errors import BadRequest

    return BadRequest(message)


# --- inputs ---------------------------------------------------------------------------------


def read_workflow(path: str) -> dict[str, Any]:
    """The one Workflow in ``path``; bad YAML names the file and line, unknown fields are errors."""
    from drivers.controller.kube import yaml_documents

    file = Path(path)
    if not file.is_file():
        raise _usage_error(f"--workflow {path}: no such file")
    documents = [d for d in yaml_documents(file) if d is not None]
    workflows = [d for d in documents if isinstance(d, dict) and d.get("kind") == "Workflow"]
    if len(workflows) != 1:
        kinds = ", ".join(str(d.get("kind")) for d in documents if isinstance(d, dict)) or "none"
        raise _usage_error(
            f"{path}: expected exactly one Workflow (kind: Workflow), found {len(workflows)} "
            f"(kinds: {kinds})"
        )
    wf = workflows[0]
    unknown = sorted(set(wf) - WORKFLOW_FIELDS)
    if unknown:
        raise _usage_error(
            f"{path}: Workflow has unknown field(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(WORKFLOW_FIELDS))}"
        )
    meta = wf.get("metadata")
    if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
        raise _usage_error(f"{path}: Workflow needs metadata.name or metadata.generateName")
    if not isinstance(wf.get("spec"), dict):
        raise _usage_error(f"{path}: Workflow needs a spec")
    return wf


def open_source(args: argparse.Namespace) -> ObjectSource:
    from drivers.controller.kube import KubeApiSource, ManifestSource

    if args.manifests:
        return ManifestSource(args.manifests, namespace=args.namespace)
    return KubeApiSource.connect(args.kubeconfig, args.context)


# --- redaction -------------------------------------------------------------------------------


def _plain_credentials(data: Any, found: list[str]) -> Any:
    """``data`` with every plain-string credential field replaced; values collected in found."""
    from drivers.core.secrets import REDACTED

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


# --- the report ------------------------------------------------------------------------------


def build_report(
    args: argparse.Namespace, workflow: dict[str, Any], source: ObjectSource, found: list[str]
) -> tuple[dict[str, Any], int]:
    from drivers.controller.kube import load_controller_config
    from drivers.controller.resolution import ResolutionError, resolve_workflow, sample_archive_key
    from drivers.core.errors import Code
    from drivers.core.secrets import SecretValue
    from drivers.probe import probe_repository

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
        report["check"] = probe_repository(workflow, result, source, secrets)
        found.extend(s.reveal() for s in secrets)
        if not report["check"]["ok"]:
            code = code or 1
    return report, code


def cmd_resolve(args: argparse.Namespace) -> int:
    from conformance.explain import render_text
    from drivers.controller.kube import KubeError
    from drivers.core.errors import ArtifactError
    from drivers.core.secrets import redact

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


def add_source_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """Where the Kubernetes objects come from (``--manifests`` or ``--kube``) and the
    namespaces; shared by the commands that read them (resolve, gc)."""
    where = parser.add_mutually_exclusive_group(required=required)
    where.add_argument(
        "--manifests", metavar="DIR", help="ConfigMaps, Secrets, WorkflowTemplates (kubectl apply)"
    )
    where.add_argument("--kube", action="store_true", help="read them from the cluster")
    parser.add_argument("--kubeconfig", metavar="FILE", help="with --kube (default: $KUBECONFIG)")
    parser.add_argument("--context", help="kubeconfig context (with --kube)")
    parser.add_argument(
        "--namespace",
        default="default",
        metavar="NS",
        help="namespace of objects without one, and of the Workflow (default: default)",
    )
    parser.add_argument(
        "--controller-namespace",
        default=DEFAULT_CONTROLLER_NAMESPACE,
        metavar="NS",
        help=f"where the controller runs (default {DEFAULT_CONTROLLER_NAMESPACE})",
    )


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "resolve",
        help="explain which artifact repository a Workflow will use",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes: 0 resolved (and checked), 1 INTERNAL or a failed check, "
        "2 BAD_REQUEST or usage, 3 NOT_FOUND (no candidate), 4 UNAUTHORIZED or FORBIDDEN",
    )
    parser.add_argument("--workflow", required=True, metavar="WF.yaml", help="the Workflow")
    add_source_options(parser, required=True)
    parser.add_argument(
        "--check", action="store_true", help="probe the repository: list, write, delete"
    )
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")
    parser.set_defaults(func=cmd_resolve)
