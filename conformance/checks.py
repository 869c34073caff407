"""Assertions shared by the suites, in the spirit of Hadoop's ContractTestUtils.

A failing case should say what went wrong without a debugger: byte comparisons give both
lengths, the first differing offset and both sha256 digests (a repr of megabytes helps nobody);
key comparisons name the missing and the unexpected keys; an expected error names the Argo
code(s) it wanted and what came instead.

    checks.same_bytes(store.objects.get("k"), data)
    checks.same_keys(store.objects.keys(), ["out/a.txt", "out/b.txt"])
    checks.same_files(checks.files_under(out), TREE)
    backoff = checks.Backoff()
    driver = store.new_driver(context=store.context_with(sleep=backoff))
    checks.raises(lambda: driver.load(...), Code.NOT_FOUND, backoff=backoff)
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from conformance.targets import UncaughtDriverError
from drivers.core.errors import ArtifactError, Code, exception_chain

# OpenSSL's words for a failed certificate verification, however a driver wraps them.
_CERTIFICATE_FAILURE = re.compile(r"certificate[ _]verify[ _]failed|certificate verification", re.I)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _first_difference(a: bytes, b: bytes) -> int:
    """The first offset where `a` and `b` differ (the shorter length if one is a prefix)."""
    for offset, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return offset
    return min(len(a), len(b))


def describe_difference(actual: bytes, expected: bytes) -> str:
    """One line on how `actual` differs from `expected`; "" when they are equal."""
    if actual == expected:
        return ""
    return (
        f"expected {len(expected)} bytes (sha256 {_digest(expected)}), "
        f"got {len(actual)} bytes (sha256 {_digest(actual)}); "
        f"first difference at offset {_first_difference(actual, expected)}"
    )


def same_bytes(actual: bytes | None, expected: bytes, what: str = "content") -> None:
    """`actual` is exactly `expected`; None (no such object) is reported as such."""
    __tracebackhide__ = True
    if actual is None:
        pytest.fail(
            f"{what}: nothing there; expected {len(expected)} bytes (sha256 {_digest(expected)})",
            pytrace=False,
        )
    difference = describe_difference(actual, expected)
    if difference:
        pytest.fail(f"{what}: {difference}", pytrace=False)


def same_file(path: Path, expected: bytes) -> None:
    """`path` is a regular file holding exactly `expected`."""
    __tracebackhide__ = True
    if not path.is_file():
        state = "a directory" if path.is_dir() else "missing"
        pytest.fail(
            f"{path}: expected a file of {len(expected)} bytes, it is {state}", pytrace=False
        )
    same_bytes(path.read_bytes(), expected, what=str(path))


def key_difference(actual: Iterable[str], expected: Iterable[str]) -> str:
    """Which keys are missing from `actual` and which are unexpected; "" when the sets agree."""
    got, wanted = set(actual), set(expected)
    parts = []
    if wanted - got:
        parts.append(f"missing {sorted(wanted - got)}")
    if got - wanted:
        parts.append(f"unexpected {sorted(got - wanted)}")
    return "; ".join(parts)


def same_keys(actual: Iterable[str], expected: Iterable[str], what: str = "keys") -> None:
    """`actual` holds exactly the keys of `expected` (as sets), each exactly once."""
    __tracebackhide__ = True
    actual = list(actual)
    difference = key_difference(actual, expected)
    if difference:
        pytest.fail(f"{what}: {difference} (got {len(actual)})", pytrace=False)
    repeated = sorted({k for k in actual if actual.count(k) > 1})
    if repeated:
        pytest.fail(f"{what}: listed more than once: {repeated}", pytrace=False)


def files_under(root: Path) -> dict[str, bytes]:
    """Every regular file under `root`, by `/`-separated relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def same_files(actual: Mapping[str, bytes], expected: Mapping[str, bytes], what="files") -> None:
    """Two trees (relative path -> bytes) hold the same paths with the same bytes."""
    __tracebackhide__ = True
    same_keys(actual, expected, what=what)
    wrong = [
        f"{name}: {describe_difference(actual[name], data)}"
        for name, data in sorted(expected.items())
        if actual[name] != data
    ]
    if wrong:
        shown = "\n  ".join(wrong[:10])
        more = f"\n  ... and {len(wrong) - 10} more" if len(wrong) > 10 else ""
        pytest.fail(f"{what}: {len(wrong)} differ:\n  {shown}{more}", pytrace=False)


def round_trip(store: Any, driver: Any, artifact: Any, data: bytes, objects: Any = None) -> None:
    """save `data` through `driver` at `artifact`, check the server holds exactly it (in
    `objects`, default the case's bucket), then load it back and compare."""
    __tracebackhide__ = True
    path = store.local_file("round-trip/in.bin", data)
    driver.save(str(path), artifact)
    key = store.kind.object_key(artifact)
    same_bytes((objects or store.objects).get(key), data, what=f"object {key!r} after save")
    out = store.tmp / "round-trip" / "out.bin"
    driver.load(artifact, str(out))
    same_file(out, data)


# --- expected errors --------------------------------------------------------------------------


def settled(read: Callable[[], list[str]], *, within: float = 5.0) -> list[str]:
    """`read()` once it is empty, or its last value after `within` seconds.

    For what a driver cleans up after a call it was cancelled in: a plugin aborts in its own
    process after the call has already returned to the kit (spec 1.4), so an open upload may
    linger a moment. A driver that never cleans up still fails, `within` seconds later.
    """
    deadline = time.monotonic() + within
    while True:
        value = read()
        if not value or time.monotonic() >= deadline:
            return value
        time.sleep(0.1)


class Backoff:
    """A driver's retry clock (`DriverContext.sleep`) that records each delay, never sleeps."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def _fail(error: BaseException, message: str) -> None:
    """pytest.fail, chained to the driver's error: what ended the case stays readable to
    `conformance.expectations` (a declared failure absorbs only its own code)."""
    __tracebackhide__ = True
    raise pytest.fail.Exception(message, pytrace=False) from error


def raises(
    call: Callable[[], Any],
    *codes: Code,
    match: str | None = None,
    cause: type[BaseException] | None = None,
    transient: bool | None = False,
    backoff: Backoff | None = None,
) -> ArtifactError:
    """`call()` fails with an ArtifactError whose code is one of `codes`.

    `match`: a regex the message must contain. `transient`: what the error's flag must say
    (None: either). `backoff`: the clock of the driver's context; the error must come at the
    first attempt, with no delay recorded. A TLS certificate failure is the expected error only
    when `match` asks for one: a case that wants ERR_FORBIDDEN from the server must not pass
    because the handshake never got that far. `cause`: the exception the error must carry in
    its chain (e.g. the failing reader's); only then may it be an exception the driver let
    through (not an ArtifactError), which otherwise never is the expected error.
    """
    __tracebackhide__ = True
    if not codes:
        raise TypeError("checks.raises: name the Argo code(s) the case expects")
    wanted = " or ".join(c.value for c in codes)
    try:
        call()
    except ArtifactError as exc:
        error = exc
    else:
        pytest.fail(f"expected {wanted}, but the call succeeded", pytrace=False)
    message = str(error)
    caused = cause is not None and any(isinstance(link, cause) for link in exception_chain(error))
    if cause is not None and not caused:
        _fail(error, f"expected {wanted} caused by {cause.__name__}, got: {message}")
    if isinstance(error, UncaughtDriverError) and not caused:
        _fail(error, f"expected {wanted}, got an exception the driver let through: {message}")
    if error.code not in codes:
        _fail(error, f"expected {wanted}, got {error.code.value}: {message}")
    if match is not None and not re.search(match, message):
        _fail(error, f"{error.code.value} without /{match}/ in: {message}")
    if _CERTIFICATE_FAILURE.search(message) and not re.search("certificate", match or "", re.I):
        _fail(error, f"expected {wanted}, got a TLS certificate failure: {message}")
    if transient is not None and error.transient != transient:
        flag = "transient" if error.transient else "not transient"
        _fail(error, f"{error.code.value} is marked {flag}: {error!r}")
    if backoff is not None and backoff.delays:
        _fail(error, f"{error.code.value} came after retries (backoff {backoff.delays}): {message}")
    return error
