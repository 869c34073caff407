"""Strict xfails that absorb only the failure they declare.

A server's known bug (profile `known_bugs`) or a deviation the target declares says how the
case fails: `fails: {code: ERR_INTERNAL, match: "XMinioInvalidResourceName"}`, where `code` is
an Argo code (or a list of them) of the ArtifactError the case ends with, or `assertion` for a
check of the case that fails without a driver error. Anything else the case ends with stays a
failure, with its own message and a note on what was declared:

- an exception of the driver that is not an ArtifactError (the kit's guard turns it into
  `UncaughtDriverError`), or a factory that raised: never absorbed, it is the driver's bug;
- a TLS certificate failure, unless the declared pattern asks for "certificate";
- an error of the kit itself (a fixture, the case's own code): never absorbed.

The session stores the case's `Expect` decision in `item.stash[EXPECTED]`.

An intermittent deviation (a race in the target's own client, `intermittent: true` in the
registry) covers every case of its driver that otherwise runs, from `item.stash[INTERMITTENT]`:
a case that passes is a pass; one that fails with exactly the declared failure becomes an
xfail citing the row; any other failure stays a failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.decision import Expect
from conformance.declared import ASSERTION, Fails
from conformance.recorder import REFERENCE
from conformance.targets import UncaughtDriverError
from drivers.core.errors import ArtifactError, exception_chain, is_cert_failure

EXPECTED = pytest.StashKey[Expect]()
INTERMITTENT = pytest.StashKey[tuple[Expect, ...]]()


@dataclass(frozen=True)
class Actual:
    """What a case ended with: an Argo code, `assertion`, or something never absorbed."""

    code: str
    message: str
    absorbable: bool = True
    certificate: bool = False  # a TLS certificate failure somewhere in the chain


def actual_failure(exc: BaseException) -> Actual:
    chain = list(exception_chain(exc))
    uncaught = next((e for e in chain if isinstance(e, UncaughtDriverError)), None)
    if uncaught is not None:
        return Actual("uncaught driver exception", str(uncaught), absorbable=False)
    error = next((e for e in chain if isinstance(e, ArtifactError)), None)
    certificate = is_cert_failure(exc)
    if error is not None:
        message = f"{exc}\n{error}" if error is not exc else str(error)
        return Actual(error.code.value, message, certificate=certificate)
    if isinstance(exc, (AssertionError, pytest.fail.Exception)):
        return Actual(ASSERTION, str(exc), certificate=certificate)
    return Actual(f"kit error {type(exc).__name__}", str(exc), absorbable=False)


def absorbs(fails: Fails, actual: Actual) -> bool:
    if not actual.absorbable or actual.code not in fails.codes:
        return False
    if actual.certificate and not re.search("certificate", fails.match, re.I):
        return False
    return re.search(fails.match, actual.message) is not None


class ExpectationCheck:
    """Turns a strict xfail back into a failure when the case failed otherwise than declared."""

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]):
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if call.excinfo is not None and report.failed and call.when == "call":
            self._absorb_intermittent(item, report, actual_failure(call.excinfo.value))
        expected = item.stash.get(EXPECTED, None)
        if expected is None or call.excinfo is None or not hasattr(report, "wasxfail"):
            return
        actual = actual_failure(call.excinfo.value)
        if expected.fails is not None and absorbs(expected.fails, actual):
            return
        declared = str(expected.fails) if expected.fails else "nothing (no `fails` declared)"
        note = (
            f"[not the declared failure: {expected.reference} declares {declared}; "
            f"the case ended with {actual.code}]"
        )
        report.outcome = "failed"
        del report.wasxfail
        crash = getattr(report.longrepr, "reprcrash", None)
        if crash is not None:
            crash.message = f"{crash.message} {note}"
        else:
            report.longrepr = f"{report.longrepr}\n{note}"
        report.sections.append(("artconf expectation", note))

    @staticmethod
    def _absorb_intermittent(item: pytest.Item, report: pytest.TestReport, actual: Actual) -> None:
        for chance in item.stash.get(INTERMITTENT, ()):
            if chance.fails is not None and absorbs(chance.fails, actual):
                report.outcome = "skipped"  # how pytest reports an xfail
                said = actual.message.strip().splitlines()[0] if actual.message.strip() else ""
                report.wasxfail = f"{chance.reason}; the case ended with {actual.code}: {said}"
                report.user_properties.append((REFERENCE, chance.reference))
                return
