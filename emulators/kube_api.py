"""A local stand-in for the Kubernetes API server: NOT a real kube-apiserver.

No real API server can run here, so this small in-memory server answers the few calls artifact
repository resolution makes, in the wire format of the real one, so the official ``kubernetes``
client talks to it unchanged:

* core/v1 ConfigMaps and Secrets: get, list, create, update (resourceVersion conflicts are 409),
  delete; namespaces: get, create (409 if it exists), delete;
* ``argoproj.io/v1alpha1`` WorkflowTemplates and ClusterWorkflowTemplates: get, list (and
  create/delete for seeding);
* errors as Kubernetes ``Status`` objects (401, 403, 404, 409, 503);
* bearer-token auth on everything under ``/api`` and ``/apis`` (``/healthz`` is open);
* TLS with a given certificate and key;
* injected faults through ``/artconf/faults`` (same token): a 403 on one object
  (``{"forbid": [{"resource", "namespace", "name"}]}``), a 503 for the next N requests
  (``{"unavailable": N}``, or only those under one namespace with ``"namespace"``, so parallel
  tests do not steal each other's faults); ``/artconf/reset`` empties everything and
  ``/artconf/requests`` counts API calls.

It has no admission, no RBAC, no watch, no field validation beyond the object's shape, and no
persistence. Run it as ``python -m emulators.kube_api --port P [--cert C --key K]`` with the token
in ``ARTCONF_KUBE_TOKEN``; it binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import hmac
import json
import os
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from emulators.standin_http import loopback_server

VERSION = "v1.31.0-artconf-standin"
USER = "system:serviceaccount:argo:argo-workflow-controller"

CORE = {"configmaps": "ConfigMap", "secrets": "Secret"}
ARGO = {"workflowtemplates": "WorkflowTemplate"}
ARGO_CLUSTER = {"clusterworkflowtemplates": "ClusterWorkflowTemplate"}

_ROUTES = [
    (
        re.compile(
            r"^/api/v1/namespaces/(?P<ns>[^/]+)/(?P<res>configmaps|secrets)(?:/(?P<name>[^/]+))?$"
        ),
        "core",
    ),
    (re.compile(r"^/api/v1/(?P<res>configmaps|secrets)$"), "core-all"),
    (re.compile(r"^/api/v1/namespaces(?:/(?P<name>[^/]+))?$"), "namespaces"),
    (
        re.compile(
            r"^/apis/argoproj\.io/v1alpha1/namespaces/(?P<ns>[^/]+)/(?P<res>workflowtemplates)(?:/(?P<name>[^/]+))?$"
        ),
        "argo",
    ),
    (
        re.compile(
            r"^/apis/argoproj\.io/v1alpha1/(?P<res>clusterworkflowtemplates)(?:/(?P<name>[^/]+))?$"
        ),
        "argo-cluster",
    ),
]


def status(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    """A Kubernetes ``Status`` object."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


class State:
    """Objects, namespaces and faults, under one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.namespaces: dict[str, dict[str, Any]] = {}
        self.forbidden: set[tuple[str, str, str]] = set()  # (resource, namespace, name)
        self.unavailable = 0  # the next N API requests get a 503
        self.unavailable_in: dict[str, int] = {}  # the same, counted per namespace
        self.requests = 0
        self.version = 0

    def next_version(self) -> str:
        self.version += 1
        return str(self.version)


class Handler(BaseHTTPRequestHandler):
    server_version = "artconf-kube-standin"
    protocol_version = "HTTP/1.1"
    state: State
    token: str

    # --- plumbing ----------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(
            f"{self.command} {self.path.split('?')[0]} {args[1] if len(args) > 1 else ''}\n"
        )

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        expected = f"Bearer {self.token}"
        return hmac.compare_digest(header.encode(), expected.encode())

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --- dispatch ----------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/healthz", "/readyz", "/livez"):
            self._plain("ok")
            return
        if not self._authorized():
            self._send(401, status(401, "Unauthorized", "Unauthorized"))
            return
        try:
            body = self._body() if method in ("POST", "PUT") else None
        except ValueError:
            self._send(400, status(400, "BadRequest", "the request body is not JSON"))
            return
        state = self.state
        if path.startswith("/artconf/"):
            with state.lock:
                self._admin(method, path, body)
            return
        if path == "/version":
            self._send(200, {"major": "1", "minor": "31", "gitVersion": VERSION})
            return
        with state.lock:
            state.requests += 1
            scoped = re.search(r"/namespaces/([^/]+)/", path)
            namespace = scoped.group(1) if scoped else None
            if namespace is not None and state.unavailable_in.get(namespace, 0) > 0:
                state.unavailable_in[namespace] -= 1
                self._send(
                    503,
                    status(
                        503,
                        "ServiceUnavailable",
                        "the server is currently unable to handle the request",
                    ),
                )
                return
            if state.unavailable > 0:
                state.unavailable -= 1
                self._send(
                    503,
                    status(
                        503,
                        "ServiceUnavailable",
                        "the server is currently unable to handle the request",
                    ),
                )
                return
            for pattern, group in _ROUTES:
                match = pattern.match(path)
                if match:
                    self._resource(method, group, match.groupdict(), body)
                    return
        self._send(404, status(404, "NotFound", "the server could not find the requested resource"))

    def _plain(self, text: str) -> None:
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _admin(self, method: str, path: str, body: Any) -> None:
        state = self.state
        if path == "/artconf/reset" and method == "POST":
            state.reset()
            self._send(200, {"reset": True})
        elif path == "/artconf/requests" and method == "GET":
            self._send(200, {"requests": state.requests})
        elif path == "/artconf/faults" and method == "POST":
            body = body or {}
            for item in body.get("forbid") or []:
                state.forbidden.add((item["resource"], item.get("namespace", ""), item["name"]))
            if "unavailable" in body and body.get("namespace"):
                state.unavailable_in[str(body["namespace"])] = int(body["unavailable"])
            elif "unavailable" in body:
                state.unavailable = int(body["unavailable"])
            if body.get("clear"):
                state.forbidden.clear()
                state.unavailable = 0
                state.unavailable_in.clear()
            self._send(200, {"forbidden": len(state.forbidden), "unavailable": state.unavailable})
        else:
            self._send(404, status(404, "NotFound", f"no admin endpoint {method} {path}"))

    # --- resources ---------------------------------------------------------------------
    def _resource(self, method: str, group: str, parts: dict[str, str | None], body: Any) -> None:
        if group == "namespaces":
            self._namespaces(method, parts.get("name"), body)
            return
        resource = str(parts["res"])
        namespace = "" if group == "argo-cluster" else str(parts.get("ns") or "")
        name = parts.get("name")
        kind = {**CORE, **ARGO, **ARGO_CLUSTER}[resource]
        api_version = "v1" if group.startswith("core") else "argoproj.io/v1alpha1"
        verb = {
            "GET": "get" if name else "list",
            "POST": "create",
            "PUT": "update",
            "DELETE": "delete",
        }[method]
        qualified = resource if group.startswith("core") else f"{resource}.argoproj.io"
        if name and (resource, namespace, name) in self.state.forbidden:
            where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
            api_group = "" if group.startswith("core") else "argoproj.io"
            self._send(
                403,
                status(
                    403,
                    "Forbidden",
                    f'{qualified} "{name}" is forbidden: User "{USER}" cannot {verb} resource '
                    f'"{resource}" in API group "{api_group}"{where}',
                    name=name,
                    kind=resource,
                ),
            )
            return
        objects = self.state.objects
        if group == "core-all":
            items = [o for (r, _, _), o in sorted(objects.items()) if r == resource]
            self._send(200, _list(kind, api_version, items))
            return
        if verb == "list":
            items = [
                o for (r, ns, _), o in sorted(objects.items()) if r == resource and ns == namespace
            ]
            self._send(200, _list(kind, api_version, items))
            return
        if verb == "create":
            if not isinstance(body, dict) or not (body.get("metadata") or {}).get("name"):
                self._send(
                    422, status(422, "Invalid", f"{kind} is invalid: metadata.name: Required value")
                )
                return
            name = body["metadata"]["name"]
            if (resource, namespace, name) in objects:
                self._send(
                    409,
                    status(
                        409,
                        "AlreadyExists",
                        f'{qualified} "{name}" already exists',
                        name=name,
                        kind=resource,
                    ),
                )
                return
            self._send(201, self._store(resource, namespace, kind, api_version, body))
            return
        key = (resource, namespace, str(name))
        current = objects.get(key)
        if current is None:
            self._send(
                404,
                status(
                    404, "NotFound", f'{qualified} "{name}" not found', name=name, kind=resource
                ),
            )
            return
        if verb == "get":
            self._send(200, current)
        elif verb == "delete":
            del objects[key]
            self._send(
                200,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {"name": name, "kind": resource},
                },
            )
        else:  # update
            if not isinstance(body, dict):
                self._send(400, status(400, "BadRequest", "the request body must be an object"))
                return
            given = (body.get("metadata") or {}).get("resourceVersion")
            if given and given != current["metadata"]["resourceVersion"]:
                self._send(
                    409,
                    status(
                        409,
                        "Conflict",
                        f'Operation cannot be fulfilled on {qualified} "{name}": the object has '
                        "been modified; please apply your changes to the latest version and try "
                        "again",
                        name=name,
                        kind=resource,
                    ),
                )
                return
            body.setdefault("metadata", {})["uid"] = current["metadata"]["uid"]
            body["metadata"]["creationTimestamp"] = current["metadata"]["creationTimestamp"]
            self._send(200, self._store(resource, namespace, kind, api_version, body))

    def _store(
        self, resource: str, namespace: str, kind: str, api_version: str, body: dict
    ) -> dict:
        obj = copy.deepcopy(body)
        obj["kind"], obj["apiVersion"] = kind, api_version
        meta = obj.setdefault("metadata", {})
        if namespace:
            meta["namespace"] = namespace
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", _now())
        meta["resourceVersion"] = self.state.next_version()
        if kind == "Secret" and obj.get("stringData"):
            import base64

            data = obj.setdefault("data", {}) or {}
            for k, v in obj.pop("stringData").items():
                data[k] = base64.b64encode(v.encode()).decode()
            obj["data"] = data
        self.state.objects[(resource, namespace, meta["name"])] = obj
        return obj

    def _namespaces(self, method: str, name: str | None, body: Any) -> None:
        namespaces = self.state.namespaces
        if method == "GET" and not name:
            self._send(200, _list("Namespace", "v1", list(namespaces.values())))
        elif method == "POST":
            name = ((body or {}).get("metadata") or {}).get("name")
            if not name:
                self._send(
                    422,
                    status(422, "Invalid", "Namespace is invalid: metadata.name: Required value"),
                )
            elif name in namespaces:
                self._send(
                    409,
                    status(
                        409,
                        "AlreadyExists",
                        f'namespaces "{name}" already exists',
                        name=name,
                        kind="namespaces",
                    ),
                )
            else:
                obj = {
                    "kind": "Namespace",
                    "apiVersion": "v1",
                    "metadata": {
                        **body["metadata"],
                        "uid": str(uuid.uuid4()),
                        "creationTimestamp": _now(),
                        "resourceVersion": self.state.next_version(),
                    },
                    "status": {"phase": "Active"},
                }
                namespaces[name] = obj
                self._send(201, obj)
        elif name not in namespaces:
            self._send(
                404,
                status(
                    404, "NotFound", f'namespaces "{name}" not found', name=name, kind="namespaces"
                ),
            )
        elif method == "GET":
            self._send(200, namespaces[name])
        elif method == "DELETE":
            obj = namespaces.pop(name)
            for key in [k for k in self.state.objects if k[1] == name]:
                del self.state.objects[key]
            self._send(200, obj)
        else:
            self._send(
                405, status(405, "MethodNotAllowed", f"{method} is not supported on namespaces")
            )


def _list(kind: str, api_version: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "kind": f"{kind}List",
        "apiVersion": api_version,
        "metadata": {"resourceVersion": ""},
        "items": items,
    }


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_server(
    port: int, token: str, cert: str | None = None, key: str | None = None
) -> ThreadingHTTPServer:
    """A ready-to-serve stand-in bound to 127.0.0.1:``port`` (0 picks a free port)."""
    handler = type("BoundHandler", (Handler,), {"state": State(), "token": token})
    return loopback_server(handler, port, cert, key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args(argv)
    token = os.environ.get("ARTCONF_KUBE_TOKEN", "")
    if not token:
        print("ARTCONF_KUBE_TOKEN must hold the bearer token", file=sys.stderr)
        return 2
    server = make_server(args.port, token, args.cert, args.key)
    scheme = "https" if args.cert else "http"
    print(
        f"kube API stand-in listening on {scheme}://127.0.0.1:{args.port}",
        file=sys.stderr,
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
