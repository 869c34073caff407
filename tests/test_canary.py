"""Canary: with fixed secret values, no output of a run contains any of them in any encoding."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import urllib.parse
import warnings
from pathlib import Path

import pytest
from _pytest._io.saferepr import saferepr

from conformance import redaction
from conformance.redaction import Known, placeholder, redact_longrepr, redact_report
from drivers import new_driver
from drivers.core.secrets import SecretValue
from tests.inner import kit_env
from tests.matrix_runs import REPO

# Values with characters that URL-encoding changes, so each encoding is a distinct needle.
FIXED = {
    "minio": {"secret_key": "canary+minio/root=1", "user_secret_key": "canary+minio/user=2"},
    "moto": {"secret_key": "canary+moto/key=3"},
    "azurite": {
        "account_key": base64.b64encode(b"canary-azurite-account-key-64-bytes" * 2).decode()
    },
    "nginx": {
        "password": "canary+nginx/writer=4",
        "reader_password": "canary+nginx/reader=5",
        "client_secret": "canary+nginx/oauth=6",
    },
    "git-http": {"password": "canary+git/http=7"},
}


def spellings(label: str, value: str) -> dict[str, str]:
    """The needles for one secret: raw, base64 (padded and URL-safe) and URL-encoded."""
    raw = value.encode()
    return {
        f"{label} raw": value,
        f"{label} base64": base64.b64encode(raw).decode(),
        f"{label} base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        f"{label} url": urllib.parse.quote(value, safe=""),
        f"{label} url-plus": urllib.parse.quote_plus(value),
    }


def needles() -> dict[str, str]:
    found = {}
    for server, fields in FIXED.items():
        for name, value in fields.items():
            found.update(spellings(f"{server}.{name}", value))
    return found


class _Truncating:
    """A driver whose open_stream loses data: makes the run fail and copy server logs."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def open_stream(self, artifact):
        import io

        stream = self.inner.open_stream(artifact)
        data = stream.read()[:1]
        stream.close()
        return io.BytesIO(data)


def truncating_driver(artifact, secrets, context):
    return _Truncating(new_driver(artifact, secrets, context))


def test_no_secret_value_appears_in_any_output(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "ARTCONF_FIXED_SECRETS": json.dumps(FIXED),
        "ARTCONF_STATE_DIR": str(tmp_path / "state"),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance.cli",
            "run",
            "--target",
            "python:tests.test_canary:truncating_driver",
            "--backends",
            "minio,moto,azurite,nginx,git-http",
            "--reports",
            str(tmp_path / "reports"),
            "-n",
            "2",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    run_dir = tmp_path / "reports" / "latest"
    assert (run_dir / "records.jsonl").exists(), result.stdout + result.stderr
    assert result.returncode == 1  # the truncating driver fails its open_stream cells
    assert list((run_dir / "logs").glob("*.log")), "failing cases should have copied logs"
    outputs = {"stdout": result.stdout, "stderr": result.stderr}
    for path in Path(run_dir).resolve().rglob("*"):
        if path.is_file():
            outputs[str(path)] = path.read_text(errors="replace")
    hits = [
        f"{label} in {where}"
        for where, text in outputs.items()
        for label, needle in needles().items()
        if needle in text
    ]
    assert hits == []


# --- a target that leaks its credentials into every channel it can (tests/broken/leaky.py) ----

LEAKY = "python:tests.broken.leaky:make_driver"
LEAKY_BACKENDS = "minio,fake-gcs"  # minio: real (fixed) credentials; fake-gcs: fresh keys
LEAKY_CASES = (
    "(test_open_stream_gives_the_object_bytes and one-byte)"  # the exception propagates
    " or test_open_stream_of_missing_key_is_not_found"  # the case catches it and asserts
    " or test_load_empty_object_is_empty_file"  # a skip
)
# Errors and reprs cut long values to `head...tail`: no 12-character end of a secret survives.
PIECE = 12


def piece_needles() -> dict[str, str]:
    """The first and last characters of each spelling of the fixed minio secrets."""
    found = {}
    for name, value in FIXED["minio"].items():
        for label, needle in spellings(f"minio.{name}", value).items():
            found[f"{label} head"] = needle[:PIECE]
            found[f"{label} tail"] = needle[-PIECE:]
    return found


def leaky_env(tmp_path: Path) -> dict[str, str]:
    return kit_env(
        tmp_path / "state",
        ARTCONF_FIXED_SECRETS=json.dumps(FIXED),
        ARTCONF_LEAKY_RECORD=str(tmp_path / "leaked.jsonl"),
        PYTEST_ADDOPTS="-p tests.broken.leaky",  # its user-property hook, in every process
    )


def leaked_needles(tmp_path: Path) -> dict[str, str]:
    """Every value the leaky target leaked in the run, in every spelling."""
    lines = (tmp_path / "leaked.jsonl").read_text().splitlines()
    values = sorted({json.loads(line) for line in lines})
    assert FIXED["minio"]["secret_key"] in values  # the run leaked the real credential
    assert any(v.startswith('{"type": "service_account"') for v in values)  # and a fresh key
    found = {}
    for index, value in enumerate(values):
        found.update(spellings(f"leaked[{index}] {value[:6]}...", value))
    return found


def files_under(root: Path) -> dict[str, str]:
    return {
        str(path): path.read_text(errors="replace")
        for path in root.resolve().rglob("*")
        if path.is_file()
    }


def assert_no_needle(outputs: dict[str, str], needles: dict[str, str]) -> None:
    hits = [
        f"{label} in {where} ({text.count(needle)} times)"
        for where, text in outputs.items()
        for label, needle in needles.items()
        if needle in text
    ]
    assert hits == []


def run_leaky(tmp_path: Path, argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=leaky_env(tmp_path),
        cwd=tmp_path,
        timeout=600,
    )


def test_leaky_target_secrets_stay_out_of_artconf_run_outputs(tmp_path):
    argv = [
        sys.executable, "-m", "conformance.cli", "run",
        "--target", LEAKY,
        "--backends", LEAKY_BACKENDS,
        "--tls", "off",
        "--reports", str(tmp_path / "reports"),
        "-n", "2",
        "-k", LEAKY_CASES,
        "--tb", "long",  # tracebacks and captured output are off by default: show them here
    ]  # fmt: skip
    result = run_leaky(tmp_path, argv)
    run_dir = tmp_path / "reports" / "latest"
    assert (run_dir / "records.jsonl").exists(), result.stdout + result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    outputs = {"stdout": result.stdout, "stderr": result.stderr, **files_under(run_dir)}
    assert_no_needle(outputs, {**needles(), **leaked_needles(tmp_path), **piece_needles()})
    # The leaks were made and shown, redacted: failure text, skip reason, output, properties.
    junit = (run_dir / "junit.xml").read_text()
    assert "leaky open_stream: <redacted>" in result.stdout
    assert "leaky stdout: <redacted>" in result.stdout
    assert "leaky open_stream: &lt;redacted&gt;" in junit
    assert "leaky skip: &lt;redacted&gt;" in junit
    assert '<property name="leaky" value="[&quot;&lt;redacted&gt;' in junit
    # The records still read the failure's first line (reprcrash), now redacted.
    reasons = [json.loads(line)["reason"] for line in (run_dir / "records.jsonl").open()]
    guarded = ("drivers.core.errors.Internal: ", "conformance.targets.UncaughtDriverError: ")
    assert any(r.startswith(guarded) and "<redacted>" in r for r in reasons)


def test_leaky_target_secrets_stay_out_of_pytest_outputs(tmp_path):
    """Plain pytest under xdist, showing locals and every report (-rA -l): the same."""
    junit_path = tmp_path / "junit.xml"
    argv = [
        sys.executable, "-m", "pytest", "--pyargs", "conformance.suites",
        "-p", "no:cacheprovider", f"--rootdir={REPO}",
        f"--artconf-target={LEAKY}",
        f"--artconf-backends={LEAKY_BACKENDS}",
        "--artconf-tls=off",
        "-n", "2", "-rA", "-l",
        f"--junitxml={junit_path}", "-o", "junit_logging=all",
        f"--basetemp={tmp_path / 'basetemp'}",
        "-k", LEAKY_CASES,
    ]  # fmt: skip
    result = run_leaky(tmp_path, argv)
    assert result.returncode == 1, result.stdout + result.stderr
    junit = junit_path.read_text()
    outputs = {"stdout": result.stdout, "stderr": result.stderr, "junit.xml": junit}
    assert_no_needle(outputs, {**needles(), **leaked_needles(tmp_path), **piece_needles()})
    assert re.search(r"leaked += \['<redacted>'", result.stdout)  # --showlocals: the locals
    assert "leaky open_stream: <redacted>" in result.stdout
    assert "leaky warning: <redacted>" in result.stdout
    assert "leaky skip: &lt;redacted&gt;" in junit
    assert "leaky stdout: &lt;redacted&gt;" in junit  # junit_logging=all: captured output too
    assert '<property name="leaky" value="[&quot;&lt;redacted&gt;' in junit


# --- the redaction plugin's pieces (conformance/redaction.py) ----------------------------------

SECRET = "canary'quote\\slash+plus/=1"


def test_known_hides_a_secret_whole_escaped_encoded_and_cut():
    known = Known([SecretValue(SECRET)])
    shown = [
        f"plain {SECRET} text",
        repr(["x", SECRET]),  # escaped quote and backslash, as --showlocals prints it
        json.dumps({"k": SECRET}),
        base64.b64encode(SECRET.encode()).decode(),
        urllib.parse.quote(SECRET, safe=""),
        saferepr("x" * 100 + SECRET + "y" * 300),  # cut: the secret's head before `...`
        saferepr("y" * 300 + SECRET + "x" * 100),  # cut: its tail after `...`
        f"...{urllib.parse.quote(SECRET, safe='')[-14:]}' (161 characters)",  # errors.bounded
    ]
    for text in shown:
        cleaned = known.text(text)
        assert "<redacted>" in cleaned, text
        assert "quote" not in cleaned and "slash" not in cleaned, cleaned


def test_known_keeps_text_without_secrets_and_ignores_short_cut_pieces():
    known = Known(["canary+minio/root=1"])
    assert known.text("nothing ... to hide") == "nothing ... to hide"
    assert known.text("a cut that ends in canary+...") == "a cut that ends in canary+..."


def _failure_repr(secret: str):
    def leaking(token: str) -> None:
        credentials = {"token": token}  # a local: getrepr(showlocals=True) prints it
        raise RuntimeError(f"cannot use {credentials['token']}")

    try:
        try:
            leaking(secret)
        except RuntimeError as cause:
            raise ValueError(f"wrapped: {cause}") from cause
    except ValueError as exc:
        return pytest.ExceptionInfo.from_exception(exc).getrepr(showlocals=True, chain=True)


def test_longrepr_keeps_its_structure_and_loses_the_secret():
    longrepr = _failure_repr(SECRET)
    assert SECRET in str(longrepr) or repr(SECRET)[1:-1] in str(longrepr)
    redacted = redact_longrepr(longrepr, Known([SECRET]))
    assert redacted is longrepr  # still the repr object: terminal, junit and xdist use it
    assert longrepr.reprcrash.message == "ValueError: wrapped: cannot use <redacted>"
    assert longrepr.chain[-1][1] is longrepr.reprcrash
    text = str(longrepr)
    assert re.search(r'token += "<redacted>"', text)  # the frame's locals
    assert "quote" not in text and "slash" not in text


def _report(**fields) -> pytest.TestReport:
    base = {
        "nodeid": "t.py::test",
        "location": ("t.py", 1, "test"),
        "keywords": {},
        "outcome": "failed",
        "longrepr": f"boom {SECRET}",
        "when": "call",
        "sections": [("Captured stdout call", f"out {SECRET}")],
        "user_properties": [("artconf", '{"case": "c"}'), ("p", f"prop {SECRET}")],
    }
    return pytest.TestReport(**{**base, **fields})


def test_report_texts_and_properties_are_redacted():
    report = _report()
    redact_report(report, Known([SECRET]))
    assert report.longrepr == "boom <redacted>"
    assert report.sections == [("Captured stdout call", "out <redacted>")]
    assert report.user_properties == [("artconf", '{"case": "c"}'), ("p", "prop <redacted>")]
    skipped = _report(outcome="skipped", longrepr=("t.py", 3, f"Skipped: {SECRET}"))
    redact_report(skipped, Known([SECRET]))
    assert skipped.longrepr == ("t.py", 3, "Skipped: <redacted>")


def test_a_redaction_error_withholds_the_text_and_raises_nothing(monkeypatch):
    def broken(self, text: str) -> str:
        raise KeyError("bug")

    monkeypatch.setattr(Known, "text", broken)
    failed, skipped = _report(), _report(outcome="skipped", longrepr=("t.py", 3, SECRET))
    for report in (failed, skipped):
        redact_report(report, Known([SECRET]))
    withheld = placeholder(KeyError())
    assert failed.longrepr == withheld
    assert skipped.longrepr == ("t.py", 3, withheld)  # the terminal needs a skip's 3-tuple
    assert failed.sections == [("Captured stdout call", withheld)]
    assert failed.user_properties == [("artconf", withheld), ("p", withheld)]
    assert "redaction failed (KeyError)" in withheld


def test_without_the_secrets_every_text_is_withheld(monkeypatch):
    def unavailable(config):
        raise OSError("no pool")

    monkeypatch.setattr(redaction, "run_secrets", unavailable)
    report = _report()
    redaction.Redaction(config=None)._redact_made(report)  # type: ignore[arg-type]
    assert report.longrepr == placeholder(OSError())
    assert SECRET not in repr(report.sections) + repr(report.user_properties)


def test_internal_errors_and_warnings_are_redacted_too(monkeypatch):
    monkeypatch.setattr(redaction, "run_secrets", lambda config: Known([SECRET]))
    hooks = redaction.Redaction(config=None)  # type: ignore[arg-type]
    excrepr = _failure_repr(SECRET)
    hooks.pytest_internalerror(excrepr=excrepr, excinfo=None)
    assert "<redacted>" in str(excrepr) and "slash" not in str(excrepr)
    message = warnings.WarningMessage(UserWarning(f"w {SECRET}"), UserWarning, "f.py", 1)
    hooks.pytest_warning_recorded(warning_message=message)
    assert str(message.message) == "w <redacted>"
