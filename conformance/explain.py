"""The text form of an ``artconf resolve`` report: how each decision reads on a terminal.

``drivers.controller.resolution`` decides (chosen, skipped, aborted, not tried, frozen, re-read;
reasons; ConfigMap reads) and ``conformance.commands.resolve`` gathers those decisions, the
status and the archive key into one report, the same for ``-o json``. This module only renders
that report as lines of text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def candidate_line(decision: Mapping[str, Any]) -> str:
    """One candidate: its outcome, Argo's string of it, why, and the ConfigMap reads it took."""
    calls = decision.get("attempts", 0)
    suffix = f" [{calls} read{'s' if calls != 1 else ''}]" if calls else ""
    return f"{decision['outcome']:<10} {decision['candidate']}: {decision['reason']}{suffix}"


def render_text(report: Mapping[str, Any]) -> str:
    """The whole report: the workflow, its ref, the candidates, the status, the key, the check."""
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
        lines.append(f"  {index}. {candidate_line(decision)}")
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
