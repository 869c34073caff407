"""Argo's retry policies per driver and operation (spec 6.4), with Go's backoff semantics.

Argo wraps driver calls in k8s ``wait.ExponentialBackoff`` through ``util/wait.Backoff``. We
reproduce the numbers and the error text exactly, and take the clock and the randomness as
parameters so tests can assert attempt counts and delays without sleeping.

``save_stream`` is never retried by any driver (spec 1.1: the reader may be partly consumed), so
``policy_for(driver, "save_stream")`` is ``None`` for every driver. Drivers whose ``save_stream``
buffers to a temporary file and calls ``save`` get ``save``'s policy through that call, which is
safe because the file can be re-read.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

from drivers.core.errors import ArtifactError, Code, error_for

log = logging.getLogger(__name__)

T = TypeVar("T")

OPERATIONS = frozenset(
    {"load", "open_stream", "save", "save_stream", "delete", "list_objects", "is_directory"}
)


@dataclass(frozen=True)
class Backoff:
    """k8s ``wait.Backoff``: ``steps`` attempts, sleeping ``duration`` (seconds) then ``*factor``.

    Each sleep is ``duration * (1 + jitter * rand())``. ``cap`` (seconds) bounds the growth of
    ``duration``. client-go also zeroes the remaining steps when the cap is hit; none of Argo's
    policies reaches its cap, so we only clamp.
    """

    steps: int
    duration: float
    factor: float
    jitter: float
    cap: float | None = None

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"backoff steps must be at least 1, got {self.steps}")
        for name in ("duration", "factor", "jitter"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"backoff {name} must be a finite number >= 0, got {value}")
        if self.cap is not None and self.cap <= 0:
            raise ValueError(f"backoff cap must be positive, got {self.cap}")

    def delays(self, rand: Callable[[], float] = random.random) -> list[float]:
        """The sleeps between attempts if every attempt fails (``steps - 1`` of them)."""
        return list(self.iter_delays(rand))

    def iter_delays(self, rand: Callable[[], float] = random.random) -> Iterator[float]:
        """Lazily yield the sleeps, drawing randomness only when a sleep is needed."""
        duration = self.duration
        for _ in range(self.steps - 1):
            yield duration * (1 + self.jitter * rand()) if self.jitter > 0 else duration
            if self.factor:
                duration *= self.factor
            if self.cap is not None:
                duration = min(duration, self.cap)


# --------------------------------------------------------------------------------------------
# Environment overrides
# --------------------------------------------------------------------------------------------

_GO_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Parse a Go ``time.ParseDuration`` string ("1s", "500ms", "1m30s", "-2h") into seconds."""
    s = text.strip()
    if s in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if s.startswith("-") else 1.0
    body = s[1:] if s[:1] in "+-" else s
    if not body:
        raise ValueError(f"invalid duration {text!r}")
    total = 0.0
    pos = 0
    for match in _GO_DURATION_PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _GO_DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body) or pos == 0:
        raise ValueError(f'invalid duration {text!r}: expected a Go duration such as "1s"')
    return sign * total


def _from_env(default: Backoff, prefix: str, env: Mapping[str, str]) -> Backoff:
    """Apply ``<prefix>_STEPS/_DURATION/_FACTOR/_JITTER``; a bad value keeps the default."""
    parsers: dict[str, tuple[str, Callable[[str], float | int]]] = {
        "steps": ("_STEPS", int),
        "duration": ("_DURATION", parse_go_duration),
        "factor": ("_FACTOR", float),
        "jitter": ("_JITTER", float),
    }
    result = default
    for field, (suffix, parse) in parsers.items():
        name = prefix + suffix
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        try:
            result = replace(result, **{field: parse(raw)})
        except ValueError as exc:
            log.warning(
                "ignoring %s=%r (%s); using the default %s=%s",
                name,
                raw,
                exc,
                field,
                getattr(default, field),
            )
    return result


# --------------------------------------------------------------------------------------------
# Policies (spec 6.4)
# --------------------------------------------------------------------------------------------

EXECUTOR_RETRY_DEFAULT = Backoff(steps=5, duration=1.0, factor=1.6, jitter=0.5)
# client-go retry.DefaultBackoff
CLIENT_GO_DEFAULT_BACKOFF = Backoff(steps=4, duration=0.010, factor=5.0, jitter=0.1)
GCS_BACKOFF = Backoff(steps=5, duration=2.0, factor=2.0, jitter=0.1, cap=600.0)
OSS_BACKOFF = Backoff(steps=5, duration=2.0, factor=2.0, jitter=0.1)
# util/retry DefaultRetry (v4.0.5 util/retry/retry.go): no jitter, sleeps 10, 20, 40, 80 ms.
DEFAULT_RETRY_DEFAULT = Backoff(steps=5, duration=0.010, factor=2.0, jitter=0.0)


def executor_retry(env: Mapping[str, str] = os.environ) -> Backoff:
    """``ExecutorRetry`` with the ``EXECUTOR_RETRY_BACKOFF_*`` overrides, read at call time."""
    return _from_env(EXECUTOR_RETRY_DEFAULT, "EXECUTOR_RETRY_BACKOFF", env)


def default_retry(env: Mapping[str, str] = os.environ) -> Backoff:
    """``DefaultRetry`` with the ``RETRY_BACKOFF_*`` overrides, read at call time."""
    return _from_env(DEFAULT_RETRY_DEFAULT, "RETRY_BACKOFF", env)


def artifact_gc_policy(env: Mapping[str, str] = os.environ) -> Backoff:
    """The per-artifact GC retry around ``delete``; use with ``is_transient=retry_every_error``."""
    return default_retry(env)


def retry_every_error(_: BaseException) -> bool:
    """Artifact GC retries every error, transient or not (spec 6.4)."""
    return True


_CLOUD_RETRIED = ("load", "save", "delete", "list_objects", "open_stream")
_STATIC_POLICIES: dict[tuple[str, str], Backoff] = {
    ("s3", "delete"): CLIENT_GO_DEFAULT_BACKOFF,
    **{("gcs", op): GCS_BACKOFF for op in _CLOUD_RETRIED},
    **{("oss", op): OSS_BACKOFF for op in _CLOUD_RETRIED},
}
_EXECUTOR_RETRY_OPERATIONS = {("s3", op) for op in ("load", "save", "list_objects")}


def policy_for(driver: str, operation: str, env: Mapping[str, str] = os.environ) -> Backoff | None:
    """The backoff Argo applies to ``driver.operation``, or ``None`` for a single attempt.

    Azure relies on its SDK pipeline; HTTP, Artifactory, Git, HDFS, Raw and Plugin never retry;
    ``save_stream`` is never retried (see the module docstring).
    """
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; expected one of {sorted(OPERATIONS)}")
    if (driver, operation) in _EXECUTOR_RETRY_OPERATIONS:
        return executor_retry(env)
    return _STATIC_POLICIES.get((driver, operation))


# --------------------------------------------------------------------------------------------
# Running a call under a policy
# --------------------------------------------------------------------------------------------

WAIT_TIMEOUT = "timed out waiting for the condition"


def _transient_flag(exc: BaseException) -> bool:
    return bool(getattr(exc, "transient", False))


def retry_call(
    fn: Callable[[], T],
    backoff: Backoff | None,
    *,
    is_transient: Callable[[BaseException], bool] = _transient_flag,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> T:
    """Call ``fn`` until it succeeds, a non-transient error occurs, or the steps run out.

    A non-transient error propagates unchanged. Exhaustion raises an :class:`ArtifactError` with
    the last error's code and transient flag and the message
    ``timed out waiting for the condition: <last error>`` (Argo's ``waitutil.Backoff``).
    ``backoff=None`` means exactly one attempt.
    """
    if backoff is None:
        return fn()
    delays = backoff.iter_delays(rand)
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc):
                raise
            delay = next(delays, None)
            if delay is None:
                raise _exhausted(exc) from exc
            log.info(
                "attempt %d of %d failed, retrying in %.3fs: %s",
                attempt,
                backoff.steps,
                delay,
                exc,
            )
            sleep(delay)
            attempt += 1


def _exhausted(last: BaseException) -> ArtifactError:
    code = last.code if isinstance(last, ArtifactError) else Code.INTERNAL
    return error_for(
        code,
        f"{WAIT_TIMEOUT}: {last}",
        transient=_transient_flag(last),
        cause=last,
    )
