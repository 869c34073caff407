"""Why cases failed, one line each, so that a hundred failures with one cause read as one.

`cause_of` reduces a failing record's reason to its first line with the values that differ
from case to case (bucket names, keys, temporary paths, hex ids, ports, sizes) replaced by
placeholders; `group_failures` groups the failing records by (state, capability, cause);
`hint_for` says what the kit knows about fixing a cause, when it knows something.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from conformance.records import Record
from conformance.targets import DRIVER_METHODS
from drivers.core.errors import is_cert_failure_message

# Record outcome -> group state; other outcomes are not failures.
FAILURE_STATES = {"fail": "fail", "xpass": "xpass", "infra-error": "infra-error"}
MAX_CAUSE = 200  # characters: a cause is one terminal line, give or take the prefix

_QUOTE = r"['\"]"
# Order matters: paths and buckets first (they contain hex and digits), numbers last.
_PLACEHOLDERS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, flags), replacement)
    for pattern, replacement, flags in (
        # Temporary paths: pytest's tmp_path, /tmp, macOS's /var/folders.
        (r"(?:/private)?/(?:tmp|var/folders)/[^\s'\",):]*", "<tmp>", 0),
        (r"[^\s'\"(]*pytest-of-[^\s'\",):]*", "<tmp>", 0),
        # The kit's buckets are artconf-<hex>; any quoted name after "bucket"/"container".
        (r"\bartconf-[0-9a-z][0-9a-z-]{5,}", "<bucket>", 0),
        (rf"\b(bucket|container)(\s+|=|:\s*){_QUOTE}[^'\"]*{_QUOTE}", r"\1\2'<bucket>'", re.I),
        (rf"\b(key|blob|object|prefix)(\s+|=|:\s*){_QUOTE}[^'\"]*{_QUOTE}", r"\1\2'<key>'", re.I),
        # Ids: UUIDs, memory addresses, hex of 8 digits or more (a digest, a request id).
        (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<id>", re.I),
        (r"\b0x[0-9a-f]+\b", "<addr>", re.I),
        (r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", "<hex>", re.I),
        # Ports: host:port and "port N".
        (
            r"((?:localhost|\d{1,3}(?:\.\d{1,3}){3}|\]|\b[a-z][\w.-]*\.[a-z]+)):\d{2,5}\b",
            r"\1:<port>",
            re.I,
        ),
        (r"\b(port)(\s*=\s*|\s+)\d{2,5}\b", r"\1\2<port>", re.I),
        # Numbers in sizes and counts ("1048576 bytes", "5 MiB", "1001 keys"), long numbers.
        (
            r"\b\d+(?:\.\d+)?(\s*)(bytes?|[KMG]i?B|B|parts?|objects?|keys?|files?|blocks?)\b",
            r"<n>\1\2",
            0,
        ),
        (r"\b(offset|size|length)(\s*=?\s*)\d+\b", r"\1\2<n>", re.I),
        (r"(?<![\w.<])\d{4,}(?![\w>])", "<n>", 0),
    )
)


def cause_of(record: Record) -> str:
    """The failure's cause in one line, the same for every case failing the same way."""
    lines = [line.strip() for line in (record.reason or "").splitlines() if line.strip()]
    if not lines:
        return "(no message)"
    cause = lines[0].removeprefix("Failed: ")  # pytest.fail's prefix says nothing
    for pattern, replacement in _PLACEHOLDERS:
        cause = pattern.sub(replacement, cause)
    cause = re.sub(r"\s+", " ", cause)
    if len(cause) > MAX_CAUSE:
        cause = cause[: MAX_CAUSE - 3].rstrip() + "..."
    return cause


_WRONG_KIND = re.compile(r"'NoneType' object has no attribute '(\w+)'")
_NOT_ARTIFACT_ERROR = re.compile(r"(\w+) raised (\w+): .*\(not an ArtifactError\)")
# conformance.targets.driver_problem's words, which the guard puts in the case's error.
_NO_METHODS = re.compile(r"the driver(?: \(\w+\))? has no method\(s\) (\w+(?:, \w+)*)")
_NO_DRIVER = "the driver factory returned None"
_NOT_FOUND = re.compile(r"\bNotFound\b|ERR_NOT_FOUND")


def hint_for(record: Record) -> str | None:
    """What to do about the failure, when the kit knows; None otherwise."""
    reason = record.reason or ""
    if record.outcome == "infra-error":
        log = f" (server log: {record.log})" if record.log else ""
        return f"the server failed, not the driver{log}: rerun; if it persists, check the server"
    if record.outcome == "xpass":
        return (
            "a case expected to fail passed: drop the stale declaration (the factory's "
            "deviations, or the server profile's known_bugs entry)"
        )
    if is_cert_failure_message(reason):  # OpenSSL's words, as the drivers classify them
        if record.driver == "s3":
            return (
                "the CA arrives in the artifact's s3.caSecret (caSecret in Argo, spec 6.1): read "
                "it with the secrets and pass it to the client; it replaces the OS bundle"
            )
        return (
            "the CA arrives in context.ca_bundle (spec 6.1): pass context.verify to the SDK "
            "(verify=...), never the OS bundle"
        )
    missing = _NO_METHODS.search(reason)
    if _NO_DRIVER in reason or missing:
        names = missing.group(1) if missing else ", ".join(DRIVER_METHODS)
        if names.split(", ") == list(DRIVER_METHODS):
            return (
                "the factory returned no driver (None, or an object without any of the seven "
                "methods): return the driver object (docs/driver-guide.md, 'The seven methods')"
            )
        return (
            f"add the method(s) {names} to the driver (docs/driver-guide.md, 'The seven methods')"
        )
    if "the driver factory raised" in reason:
        return (
            "the factory raised before any method ran: rerun one case with -k NAME --tb=short "
            "to see its traceback"
        )
    wrong_kind = _WRONG_KIND.search(reason)
    if wrong_kind:
        return (
            f"'{wrong_kind.group(1)}' was read from an unset location (this case's location is "
            f"{record.driver or 'of another kind'}): declare factory.kinds with the location "
            "types the driver serves, or read the attribute named after the case's kind"
        )
    not_artifact = _NOT_ARTIFACT_ERROR.search(reason)
    if not_artifact:
        method, exc = not_artifact.groups()
        return (
            f"{method} must raise a drivers.core.errors.ArtifactError (NotFound, BadRequest, "
            f"Forbidden, ...; spec 1.5), not {exc}"
        )
    deleting = record.capability in ("delete", "delete_directory")
    if deleting and _NOT_FOUND.search(reason) and "expected ERR_NOT_FOUND" not in reason:
        return "deleting a missing key must succeed: GC is retried (spec 7.3)"
    if re.search(r"expected ERR_NOT_FOUND, got ERR_", reason):
        return "raise drivers.core.errors.NotFound when the key or bucket does not exist (spec 1.5)"
    if "ERR_NOT_IMPLEMENTED" in reason and "TODO" in reason:
        return "still the init-driver TODO: implement it, or leave its capability undeclared"
    return None


@dataclass
class FailureGroup:
    """Failing records of one state and capability that share one cause."""

    state: str  # "fail", "xpass" or "infra-error"
    capability: str
    cause: str
    records: list[Record] = field(default_factory=list)  # in record order
    hint: str | None = None


def group_failures(records: Iterable[Record]) -> list[FailureGroup]:
    """The failing records by (state, capability, cause): largest group first, ties in the
    order their first case appears; the hint is the first case's."""
    groups: dict[tuple[str, str, str], FailureGroup] = {}
    for record in records:
        state = FAILURE_STATES.get(record.outcome)
        if state is None:
            continue
        cause = cause_of(record)
        group = groups.get((state, record.capability, cause))
        if group is None:
            group = FailureGroup(state, record.capability, cause, hint=hint_for(record))
            groups[(state, record.capability, cause)] = group
        group.records.append(record)
    ordered = list(groups.values())  # dicts keep first-seen order; sort is stable
    ordered.sort(key=lambda g: -len(g.records))
    return ordered
