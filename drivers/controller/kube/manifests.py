"""Objects from a directory of manifests, read as ``kubectl apply -f DIR`` would read them.

Every ``*.yaml``, ``*.yml`` and ``*.json`` file below the directory (sorted, recursively) may hold
several documents and ``kind: List`` objects. An object without ``metadata.namespace`` lands in
the default namespace (``--namespace``, default ``default``); a later object with the same kind,
namespace and name replaces an earlier one, as a second apply would. Secrets take base64
``data`` and plain ``stringData``; ``stringData`` wins for a key in both, as the API server
does. Problems are :class:`ManifestError` naming the file (and line, for YAML syntax); unknown
fields are errors, as ``kubectl apply`` with strict field validation; objects of other kinds
are ignored and listed in :attr:`ManifestSource.notes`.
"""

from __future__ import annotations

import base64
import binascii
import copy
from pathlib import Path
from typing import Any

import yaml

from drivers.controller.kube.base import KubeError, not_found
from drivers.core.errors import BadRequest

SUFFIXES = (".yaml", ".yml", ".json")

_META_FIELDS = frozenset(
    {
        "name",
        "namespace",
        "labels",
        "annotations",
        "generateName",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "finalizers",
        "ownerReferences",
        "managedFields",
        "selfLink",
    }
)
_FIELDS = {
    "ConfigMap": frozenset({"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"}),
    "Secret": frozenset(
        {"apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable"}
    ),
    "WorkflowTemplate": frozenset({"apiVersion", "kind", "metadata", "spec"}),
    "ClusterWorkflowTemplate": frozenset({"apiVersion", "kind", "metadata", "spec"}),
}
_API_VERSIONS = {
    "ConfigMap": "v1",
    "Secret": "v1",
    "WorkflowTemplate": "argoproj.io/v1alpha1",
    "ClusterWorkflowTemplate": "argoproj.io/v1alpha1",
}
_RESOURCE = {
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "WorkflowTemplate": "workflowtemplates.argoproj.io",
    "ClusterWorkflowTemplate": "clusterworkflowtemplates.argoproj.io",
}


class ManifestError(BadRequest):
    """A manifest that ``kubectl apply`` would refuse; the message names file and place."""


def yaml_documents(path: Path) -> list[Any]:
    """The documents of one YAML/JSON file; a syntax error names the file, line and column."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot be read: {exc}") from None
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        line = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(f"{where}: invalid YAML{line}: {problem}") from None


class ManifestSource:
    """An :class:`~drivers.controller.kube.base.ObjectSource` over a manifests directory (or a
    file)."""

    def __init__(self, directory: str | Path, namespace: str = "default") -> None:
        self.directory = Path(directory)
        self.namespace = namespace or "default"
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.origin: dict[tuple[str, str, str], str] = {}
        self.notes: list[str] = []
        if not self.directory.exists():
            raise ManifestError(f"{self.directory}: no such file or directory")
        files = (
            [self.directory]
            if self.directory.is_file()
            else sorted(
                p for p in self.directory.rglob("*") if p.is_file() and p.suffix in SUFFIXES
            )
        )
        for path in files:
            for index, document in enumerate(yaml_documents(path)):
                self._add(document, f"{path} (document {index + 1})")

    # --- loading -----------------------------------------------------------------------
    def _add(self, document: Any, where: str) -> None:
        if document is None:
            return
        if not isinstance(document, dict):
            raise ManifestError(f"{where}: expected a Kubernetes object (a mapping)")
        kind = document.get("kind")
        if not kind:
            raise ManifestError(f"{where}: no `kind`; every object needs kind and apiVersion")
        if kind == "List" or (
            isinstance(kind, str) and kind.endswith("List") and "items" in document
        ):
            items = document.get("items") or []
            if not isinstance(items, list):
                raise ManifestError(f"{where}: `items` of a List must be a list")
            for position, item in enumerate(items):
                self._add(item, f"{where} items[{position}]")
            return
        if kind not in _FIELDS:
            self.notes.append(f"{where}: ignored {kind} (only {', '.join(_FIELDS)} are read)")
            return
        self._check(document, kind, where)
        meta = document["metadata"]
        namespace = (
            "" if kind == "ClusterWorkflowTemplate" else meta.get("namespace") or self.namespace
        )
        obj = copy.deepcopy(document)
        obj["metadata"]["namespace"] = namespace
        if kind == "Secret":
            obj["data"] = self._secret_data(document, where)
            obj.pop("stringData", None)
        ident = (kind, namespace, meta["name"])
        if ident in self.objects:
            self.notes.append(
                f"{where}: {kind} {_label(namespace, meta['name'])} replaces the one from "
                f"{self.origin[ident]}"
            )
        self.objects[ident] = obj
        self.origin[ident] = where

    def _check(self, document: dict[str, Any], kind: str, where: str) -> None:
        unknown = sorted(set(document) - _FIELDS[kind])
        if unknown:
            raise ManifestError(
                f"{where}: {kind} has unknown field(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(sorted(_FIELDS[kind]))}"
            )
        expected = _API_VERSIONS[kind]
        if document.get("apiVersion") != expected:
            raise ManifestError(
                f"{where}: {kind} needs apiVersion {expected!r}, not {document.get('apiVersion')!r}"
            )
        meta = document.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
            raise ManifestError(f"{where}: {kind} needs metadata.name")
        unknown = sorted(set(meta) - _META_FIELDS)
        if unknown:
            raise ManifestError(
                f"{where}: {kind} {meta['name']}: unknown metadata field(s) {', '.join(unknown)}"
            )
        for field in ("labels", "annotations"):
            _string_map(meta.get(field), f"{where}: {kind} {meta['name']} metadata.{field}")
        for field in ("data", "stringData", "binaryData"):
            if field in document:
                _string_map(document[field], f"{where}: {kind} {meta['name']} {field}")

    def _secret_data(self, document: dict[str, Any], where: str) -> dict[str, bytes]:
        name = document["metadata"]["name"]
        data: dict[str, bytes] = {}
        for key, value in (document.get("data") or {}).items():
            try:
                data[key] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ManifestError(
                    f"{where}: Secret {name} data.{key} is not valid base64; put plain text "
                    "under stringData instead"
                ) from None
        for key, value in (document.get("stringData") or {}).items():
            data[key] = value.encode()  # stringData wins, as on the API server
        return data

    # --- reads -------------------------------------------------------------------------
    def _get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        obj = self.objects.get((kind, namespace, name))
        if obj is None:
            raise not_found(_RESOURCE[kind], name)
        return copy.deepcopy(obj)

    def get_config_map(self, namespace: str, name: str) -> dict[str, Any]:
        return self._get("ConfigMap", namespace, name)

    def get_secret(self, namespace: str, name: str) -> dict[str, Any]:
        return self._get("Secret", namespace, name)

    def get_workflow_template(self, namespace: str, name: str) -> dict[str, Any]:
        return self._get("WorkflowTemplate", namespace, name)

    def get_cluster_workflow_template(self, name: str) -> dict[str, Any]:
        return self._get("ClusterWorkflowTemplate", "", name)

    def describe(self) -> str:
        return f"manifests in {self.directory}"

    def close(self) -> None:
        """Nothing to release."""


def _label(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _string_map(value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise ManifestError(f"{where}: expected a mapping of strings")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise ManifestError(
                f"{where}.{key}: values must be strings (got {type(item).__name__}); quote it"
            )


__all__ = ["KubeError", "ManifestError", "ManifestSource", "yaml_documents"]
