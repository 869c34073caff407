"""What every Kubernetes object source shares: its protocol, its errors, Secrets over it.

A source answers the few reads artifact repository resolution needs (ConfigMaps, Secrets,
WorkflowTemplates, ClusterWorkflowTemplates). Failures are :class:`KubeError`, shaped like a
Kubernetes ``Status`` (HTTP code, reason, message), so the resolver can apply Argo's rules:
NotFound falls through, anything else aborts, and transient errors are retried first
(``util/errors/errors.go`` ``isTransientErr``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from drivers.core.errors import BadRequest
from drivers.core.secrets import SecretValue

#: ``util/errors`` message fragments that make any error transient (network and etcd).
TRANSIENT_MESSAGES: tuple[str, ...] = (
    "connection closed by foreign host",
    "tls handshake timeout",
    "i/o timeout",
    "connection timed out",
    "connection reset by peer",
    "http2: client connection lost",
    "http2: server sent goaway",
    "connection refused",
    "invalid connection",
    "etcdserver: leader changed",
    "etcdserver: request timed out",
    "etcdserver: too many requests",
    # Python spellings of the same network conditions
    "connection aborted",
    "remote end closed connection",
    "read timed out",
    "max retries exceeded",
)


def kube_transient(status: int | None, reason: str, message: str) -> bool:
    """Argo's ``isTransientErr`` for an API error (spec 6.4: DefaultRetry, transient only)."""
    lowered = message.lower()
    if status == 429 or reason == "TooManyRequests":
        return True
    if status == 503 or reason in ("ServiceUnavailable", "ServerTimeout"):
        return True
    if status == 403 and "exceeded quota" in lowered:
        return True
    if status == 409 and "operation cannot be fulfilled on resourcequota" in lowered:
        return True
    if status == 500 and "resource quota evaluation timed out" in lowered:
        return True
    if any(fragment in lowered for fragment in TRANSIENT_MESSAGES):
        return True
    pattern = os.environ.get("TRANSIENT_ERROR_PATTERN", "")
    if pattern:
        try:
            return re.search(pattern, message) is not None
        except re.error:
            return False
    return False


class KubeError(Exception):
    """A failed API call, as a Kubernetes ``Status``: ``status`` (HTTP), ``reason``, message.

    ``status`` is ``None`` for a failure below HTTP (DNS, connection, TLS). ``str()`` is the
    Status message, which is what client-go's error prints.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str = "",
        transient: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.transient = kube_transient(status, reason, message) if transient is None else transient

    @property
    def not_found(self) -> bool:
        return self.status == 404 or self.reason == "NotFound"

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), self.message, self.status, self.reason, self.transient))


def _rebuild(cls: type[KubeError], message: str, status: Any, reason: str, transient: bool):
    return cls(message, status=status, reason=reason, transient=transient)


def not_found(resource: str, name: str) -> KubeError:
    """The API server's 404 for ``resource`` (plural, e.g. ``configmaps``) named ``name``."""
    return KubeError(f'{resource} "{name}" not found', status=404, reason="NotFound")


@runtime_checkable
class ObjectSource(Protocol):
    """Where Kubernetes objects come from: the API server or a directory of manifests.

    Each method returns the object as plain data (``metadata``, ``data`` ...) or raises
    :class:`KubeError`; Secrets come back with ``data`` already decoded to bytes.
    """

    def get_config_map(self, namespace: str, name: str) -> dict[str, Any]: ...

    def get_secret(self, namespace: str, name: str) -> dict[str, Any]: ...

    def get_workflow_template(self, namespace: str, name: str) -> dict[str, Any]: ...

    def get_cluster_workflow_template(self, name: str) -> dict[str, Any]: ...

    def describe(self) -> str:
        """Where the objects come from, for explanations (never a credential)."""
        ...


class KubeSecretSource:
    """A :class:`drivers.core.secrets.SecretSource` reading Secrets of one namespace from a source.

    The namespace is the workflow's: Argo mounts repository Secrets into the workflow's pods,
    so they must exist there whichever namespace the repository ConfigMap came from. Errors
    are :class:`BadRequest` naming the Secret and the key (and the namespace and source).
    """

    def __init__(self, source: ObjectSource, namespace: str) -> None:
        self.source = source
        self.namespace = namespace
        self.read: list[SecretValue] = []  # every value handed out, for redaction

    def get(self, name: str, key: str) -> SecretValue:
        try:
            secret = self.source.get_secret(self.namespace, name)
        except KubeError as exc:
            if exc.not_found:
                raise BadRequest(
                    f"secret {name!r} not found in namespace {self.namespace!r} "
                    f"({self.source.describe()}), so its key {key!r} cannot be read: create "
                    "the secret in the workflow's namespace or fix the selector's name"
                ) from exc
            raise BadRequest(
                f"secret {name!r} key {key!r} in namespace {self.namespace!r} cannot be read "
                f"({self.source.describe()}): {exc}"
            ) from exc
        data: Mapping[str, bytes] = secret.get("data") or {}
        if key not in data:
            raise BadRequest(
                f"secret {name!r} in namespace {self.namespace!r} has no key {key!r} (it has "
                f"{', '.join(sorted(data)) or 'no keys'}): fix the selector's key"
            )
        value = SecretValue(data[key])
        self.read.append(value)
        return value

    def __repr__(self) -> str:
        return f"KubeSecretSource({self.source.describe()!r}, namespace={self.namespace!r})"
