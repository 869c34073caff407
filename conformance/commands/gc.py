"""`artconf gc plan|run`: what Argo's artifact garbage collection will do with a Workflow (spec 7).

Give the Workflow as `kubectl get wf NAME -n NS -o yaml` prints it: GC reads its status (the
nodes' outputs, the frozen repository, what GC already did). `--manifests DIR` (ConfigMaps,
Secrets, WorkflowTemplates, as `kubectl apply -f DIR` reads them) or `--kube` (the cluster of
the kubeconfig) add what the status lacks and let the Secrets be checked; without either, the
plan comes from the status alone and says what it could not check.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from conformance.commands.artifact import EXIT_CODES
from conformance.commands.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from conformance.commands.resolve import add_source_options

# The GC rules, the Kubernetes sources and the drivers load the SDKs: they are imported in the
# functions that use them, so that building the parser (every `artconf` invocation) does not.
STRATEGY_CHOICES = ("OnWorkflowCompletion", "OnWorkflowDeletion", "ready")

PLAN_DESCRIPTION = """\
Print the GC pods Argo creates for the Workflow: per strategy (NOW: ready at this pass; LATER:
once the phase completes, or when the Workflow is deleted), each pod's name, service account,
labels and annotations, its WorkflowArtifactGCTask and the task's label, the Secrets it mounts,
its plugin sidecars, and per node the artifacts it deletes with the location each one has once
relocated (type, bucket, key) and where that location came from.

WARNINGS name what will get stuck (STUCK: the finalizer stays, `kubectl delete wf` hangs) or
leak: a location type Argo cannot delete (http, artifactory, git, hdfs, raw), a Secret missing
from the manifests or cluster, an S3 directory key without a trailing "/", a GCS object that is
already gone, a phase that is not completed, nothing to collect.

The repository is the one Argo froze in status.artifactRepositoryRef; without it, it is
resolved from --manifests/--kube as `artconf resolve` does.
"""

PLAN_EPILOG = """\
examples:
  artconf gc plan --workflow examples/gc/multi-strategy.yaml --manifests examples/gc/manifests
  kubectl get wf my-wf -n team -o yaml > wf.yaml
  artconf gc plan --workflow wf.yaml --kube --json

--strategy: without it, the strategies not processed yet (NOW and LATER); `ready` only what runs
at this pass; a strategy name that strategy, whatever its state.

exit codes: 0 planned (warnings do not change it), 2 bad input (file, YAML, a missing Workflow
field), 3 a WorkflowTemplate not found, 4 the cluster refused a read
"""

RUN_DESCRIPTION = """\
Run the GC pods that are ready now, as Argo's next pass would. --dry-run (the default) prints the
plan and every artifact that would be deleted, and touches nothing. --delete deletes them with
the kit's reference drivers and the Secrets from --manifests or --kube, against the real storage,
then prints per artifact the result, the events, whether the finalizer would be removed, the
tasks Argo keeps, and the status patch Argo would record (deleted flags,
artifactGCStatus.strategiesProcessed and podsRecouped, the ArtifactGCError condition,
finalizers). A pod whose Secret is missing is not run: in a cluster it never starts.

Feeding the result back: the input file does not change, so running --delete on it again plans
the same pods. --out FILE writes the Workflow as Argo leaves it after this pass (the status
patch applied); give FILE as --workflow next time and GC finds nothing left to collect, as
Argo does. FILE may be WF.yaml itself. (On a cluster, Argo's controller records the same
itself.)
"""

RUN_EPILOG = """\
examples:
  artconf gc run --workflow wf.yaml --manifests ./k8s                  # dry run
  artconf gc run --workflow wf.yaml --manifests ./k8s --delete --out wf-after.yaml
  artconf gc run --workflow wf-after.yaml --manifests ./k8s --delete   # nothing left to collect

exit codes: 0 everything ready was deleted (or nothing was to be), 1 an artifact was not
deleted (each is named, with why, on stderr), 2 bad input or options, 3 a WorkflowTemplate not
found, 4 the cluster refused a read
"""


def _usage_error(message: str) -> Exception:
    from drivers.core.errors import BadRequest

    return BadRequest(message)


def _inputs(args: argparse.Namespace) -> Any:
    from conformance.commands.resolve import open_source, read_workflow
    from conformance.gc_report import load_inputs

    workflow = read_workflow(args.workflow)
    source = open_source(args) if (args.manifests or args.kube) else None
    return load_inputs(
        workflow,
        args.workflow,
        source,
        namespace=args.namespace,
        controller_namespace=args.controller_namespace,
    )


def _emit(text: str, found: list[Any]) -> None:
    from drivers.core.secrets import redact

    with contextlib.suppress(BrokenPipeError):  # `artconf gc plan ... | head`
        print(redact(text, found))


def _emit_json(data: Any, found: list[Any]) -> None:
    """JSON with every string value redacted on its own, so the document stays valid JSON."""
    from drivers.core.secrets import redact

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value, found)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}  # keys are field names and IDs
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    with contextlib.suppress(BrokenPipeError):
        print(json.dumps(clean(data), indent=2, sort_keys=True))


def _fail(exc: Exception, found: list[Any]) -> int:
    from drivers.core.errors import ArtifactError
    from drivers.core.secrets import redact

    name = exc.code.name if isinstance(exc, ArtifactError) else "KUBE"
    print(redact(f"artconf: {name}: {exc}", found), file=sys.stderr)
    if isinstance(exc, ArtifactError):
        return EXIT_CODES.get(exc.code, EXIT_FAILED)
    if getattr(exc, "status", None) in (401, 403):
        return EXIT_CODES["ERR_FORBIDDEN"]
    return EXIT_FAILED


def cmd_gc_plan(args: argparse.Namespace) -> int:
    from conformance.gc_report import build_plan, render_plan
    from drivers.controller.kube import KubeError
    from drivers.core.errors import ArtifactError

    found: list[Any] = []
    try:
        inputs = _inputs(args)
        found = inputs.secrets_seen
        report = build_plan(inputs, args.strategy)
    except (ArtifactError, KubeError) as exc:
        return _fail(exc, found)
    if args.output == "json":
        _emit_json(report, found)
    else:
        _emit("\n".join(render_plan(report)), found)
    return EXIT_OK


def cmd_gc_run(args: argparse.Namespace) -> int:
    from conformance.gc_report import build_plan, render_dry_run, render_run, run, would_delete
    from drivers.controller.kube import KubeError
    from drivers.core.errors import ArtifactError

    if not args.delete and args.out:
        print("artconf: error: --out needs --delete (a dry run changes nothing)", file=sys.stderr)
        return EXIT_USAGE
    if args.delete and not (args.manifests or args.kube):
        print(
            "artconf: error: --delete needs --manifests DIR or --kube: the GC pods read the "
            "storage credentials from the Secrets there",
            file=sys.stderr,
        )
        return EXIT_USAGE
    found: list[Any] = []
    try:
        inputs = _inputs(args)
        found = inputs.secrets_seen
        plan = build_plan(inputs)
        if not args.delete:
            items = would_delete(plan)
            if args.output == "json":
                _emit_json({"mode": "dry-run", "plan": plan, "wouldDelete": items}, found)
            else:
                _emit("\n".join(render_dry_run(plan, items)), found)
            return EXIT_OK
        report, passed = run(inputs, plan)
        if args.out:
            _write_workflow(args.out, passed.workflow)
    except (ArtifactError, KubeError) as exc:
        return _fail(exc, found)
    if args.output == "json":
        _emit_json({"mode": "delete", "plan": plan, **report}, found)
    else:
        from conformance.gc_report import render_plan

        lines = render_plan(plan) + render_run(report)
        if args.out:
            lines.append(f"the Workflow after this pass: {args.out} (give it as --workflow next)")
        else:
            lines.append(
                f"note: {args.workflow} is unchanged, so --delete on it plans the same pods "
                "again; --out FILE keeps the Workflow as Argo leaves it"
            )
        _emit("\n".join(lines), found)
    from drivers.core.secrets import redact

    if report["error"]:
        print(redact(f"artconf: gc: the pass ended: {report['error']}", found), file=sys.stderr)
    for item in report["failed"]:
        where = f"{item['pod']}/{item['node']}/{item['artifact']}"
        print(
            redact(f"artconf: gc: {where} not deleted: {item.get('error', '')}", found),
            file=sys.stderr,
        )
    return EXIT_OK if report["ok"] else EXIT_FAILED


def _write_workflow(path: str, workflow: dict[str, Any]) -> None:
    import yaml

    try:
        with open(path, "w", encoding="utf-8") as out:
            yaml.safe_dump(workflow, out, sort_keys=False)
    except OSError as exc:
        raise _usage_error(f"--out {path}: cannot be written: {exc.strerror or exc}") from None


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workflow", required=True, metavar="WF.yaml", help="the Workflow, with its status"
    )
    add_source_options(parser, required=False)
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--json", dest="output", action="store_const", const="json", help="one JSON object"
    )
    output.add_argument("-o", "--output", choices=("text", "json"), help="text (default) or json")
    parser.set_defaults(output="text")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "gc",
        help="what Argo's artifact garbage collection does with a Workflow; run it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands: plan (print the GC pods and warnings), run (dry run, or --delete)",
    )
    actions = parser.add_subparsers(dest="gc_action", required=True, metavar="ACTION")
    plan = actions.add_parser(
        "plan",
        help="print the GC pods Argo would create, their artifacts, and warnings",
        description=PLAN_DESCRIPTION,
        epilog=PLAN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _options(plan)
    plan.add_argument(
        "--strategy",
        choices=STRATEGY_CHOICES,
        help="plan only this strategy, or only what is ready now (default: every strategy "
        "not processed yet)",
    )
    plan.set_defaults(func=cmd_gc_plan)
    run = actions.add_parser(
        "run",
        help="dry-run (default) or --delete what is ready, with the reference drivers",
        description=RUN_DESCRIPTION,
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _options(run)
    mode = run.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run",
        dest="delete",
        action="store_false",
        help="print what would be deleted (the default)",
    )
    mode.add_argument(
        "--delete", dest="delete", action="store_true", help="delete it, against the storage"
    )
    run.add_argument(
        "--out",
        metavar="FILE",
        help="with --delete: write the Workflow as Argo leaves it (status patch applied)",
    )
    run.set_defaults(func=cmd_gc_run, delete=False)
