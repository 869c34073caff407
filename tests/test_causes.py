"""Failure causes, hints and groups (conformance.causes) and their terminal text
(conformance.matrix.render_failures), on hand-made records."""

from __future__ import annotations

import re

from conformance.causes import cause_of, group_failures, hint_for
from conformance.matrix import render_failures
from conformance.records import Record
from conformance.targets import DRIVER_METHODS, driver_problem

TLS_REASON = (
    "ERR_INTERNAL: loading key 'in/{i}/a.txt' in bucket 'artconf-{hex}' at 127.0.0.1:{port}: "
    "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
    "failed: self-signed certificate in certificate chain (_ssl.c:1006)'))"
)
# The interface-3 group header: letter, capability, count, two spaces, the cause.
HEADER = re.compile(r"^[FXE] [a-z_0-9]+ x\d+  \S.*$")


def rec(outcome="fail", *, capability="load", case="c", reason="", driver="s3", **kw) -> Record:
    fields = dict(
        run_id="r1", kit_sha="abc", target="python:m:f", driver=driver, backend="minio",
        mode="tls", capability=capability, case=case, case_id=f"suite::{case}[{driver}-minio]",
        outcome=outcome, reason=reason,
    )  # fmt: skip
    fields.update(kw)
    return Record(**fields)


def tls_records(count: int, capability: str = "load") -> list[Record]:
    return [
        rec(
            capability=capability,
            case=f"case_{i}",
            reason=TLS_REASON.format(i=i, hex=f"{i:016x}"[::-1], port=40000 + i),
        )
        for i in range(count)
    ]


def test_a_hundred_tls_failures_differing_in_bucket_key_and_port_share_one_cause():
    records = tls_records(100)
    causes = {cause_of(r) for r in records}
    assert len(causes) == 1, sorted(causes)[:3]
    (cause,) = causes
    assert "CERTIFICATE_VERIFY_FAILED" in cause  # the reason itself is kept
    assert "<bucket>" in cause and "<port>" in cause and "<key>" in cause
    assert "artconf-" not in cause and "4000" not in cause
    groups = group_failures(records)
    assert [len(g.records) for g in groups] == [100]
    assert groups[0].records == records  # in record order


def test_tmp_paths_hex_ids_and_sizes_become_placeholders():
    a = rec(reason="FileNotFoundError: '/tmp/pytest-of-u/pytest-7/test_a0/out/x.bin' is missing")
    b = rec(reason="FileNotFoundError: '/tmp/pytest-of-u/pytest-9/test_b3/in/y.bin' is missing")
    assert cause_of(a) == cause_of(b) == "FileNotFoundError: '<tmp>' is missing"
    sizes = [
        rec(reason=f"content: expected {n} bytes (sha256 {h}), got 0 bytes (sha256 e3b0c442)")
        for n, h in ((1048576, "9f86d081884c7d65"), (5242880, "2c26b46b68ffc68f"))
    ]
    assert cause_of(sizes[0]) == cause_of(sizes[1])
    assert "<hex>" in cause_of(sizes[0]) and "1048576" not in cause_of(sizes[0])
    uuids = ("0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7")
    ids = [rec(reason=f"request {u} failed") for u in uuids]
    assert cause_of(ids[0]) == cause_of(ids[1]) == "request <id> failed"


def test_different_messages_keep_different_causes_and_codes_stay():
    missing = rec(reason="expected ERR_NOT_FOUND, got ERR_INTERNAL: 403 Forbidden")
    other = rec(reason="expected ERR_NOT_FOUND, but the call succeeded")
    assert cause_of(missing) != cause_of(other)
    assert "403" in cause_of(missing)  # an HTTP status is the cause, not a case's value


def test_cause_is_the_first_non_empty_line_and_bounded():
    record = rec(reason="\n  AssertionError: keys differ\nassert ['a'] == ['b']\n")
    assert cause_of(record) == "AssertionError: keys differ"
    assert cause_of(rec(reason="")) == "(no message)"
    long = cause_of(rec(reason="x" * 5000))
    assert len(long) <= 200 and long.endswith("...")


def test_groups_split_by_capability_and_state_largest_first_ties_in_first_seen_order():
    records = [
        rec(capability="delete", case="d1", reason="ERR_NOT_FOUND: gone"),
        *tls_records(3, capability="load"),
        rec(capability="list_objects", case="l1", reason="keys differ"),
        *tls_records(3, capability="save"),
        rec("xpass", capability="load", case="x1", reason=tls_records(1)[0].reason),
        rec("pass", capability="load", case="ok"),
        rec("skip", capability="load", case="sk"),
        rec("xfail", capability="load", case="xf", reason="declared"),
        rec("infra-error", capability="save", case="e1", reason="server minio died"),
    ]  # fmt: skip
    groups = group_failures(records)
    assert [(g.state, g.capability, len(g.records)) for g in groups] == [
        ("fail", "load", 3),
        ("fail", "save", 3),
        ("fail", "delete", 1),
        ("fail", "list_objects", 1),
        ("xpass", "load", 1),
        ("infra-error", "save", 1),
    ]
    assert sum(len(g.records) for g in groups) == 10  # pass, skip and xfail are not failures


def test_hints_the_kit_knows():
    tls = tls_records(1)[0]
    assert "s3.caSecret" in hint_for(tls) and "6.1" in hint_for(tls)
    gcs_tls = rec(driver="gcs", reason="SSLError: CERTIFICATE_VERIFY_FAILED")
    assert "context.ca_bundle" in hint_for(gcs_tls)
    handshake = rec(reason="SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number")
    assert hint_for(handshake) is None  # TLS to a plain server: no CA would help
    # The guard's own words (conformance.targets.driver_problem), so that they cannot drift.
    none = rec(reason=f"python:m:f: {driver_problem(None)}")
    assert "returned no driver" in hint_for(none)
    empty = rec(reason=f"python:m:f: {driver_problem(object())}")
    assert "returned no driver" in hint_for(empty)
    half = type("Half", (), {m: lambda self: None for m in DRIVER_METHODS if m != "save_stream"})
    some = rec(reason=f"python:m:f: {driver_problem(half())}")
    assert "add the method(s) save_stream" in hint_for(some)
    wrong_kind = rec(
        driver="azure", reason="'NoneType' object has no attribute 'access_key_secret'"
    )
    assert "factory.kinds" in hint_for(wrong_kind) and "azure" in hint_for(wrong_kind)
    plain = rec(
        reason="python:m:f: load raised ValueError: object not found (not an ArtifactError)"
    )
    assert "ArtifactError" in hint_for(plain) and "not ValueError" in hint_for(plain)
    raising = rec(reason="python:m:f: the driver factory raised RuntimeError: boom")
    assert "--tb=short" in hint_for(raising)
    assert "known_bugs" in hint_for(rec("xpass", reason="[XPASS(strict)] declared"))
    gone = rec(capability="delete", reason="drivers.core.errors.NotFound: s3: no such object")
    assert "GC is retried" in hint_for(gone)
    not_found = rec(reason="expected ERR_NOT_FOUND, got ERR_INTERNAL: NoSuchKey")
    assert "NotFound" in hint_for(not_found)
    assert hint_for(rec(reason="AssertionError: keys differ")) is None


def test_render_failures_has_the_interface_shape():
    contract = "load of a missing key raises ERR_NOT_FOUND (spec 1.5)."
    records = [
        *tls_records(5),
        rec(capability="load", case="m", reason="AssertionError: keys differ", contract=contract,
            spec="1.5"),
        rec("infra-error", capability="save", case="e", reason="server minio died"),
    ]  # fmt: skip
    lines = render_failures(records).splitlines()
    assert lines[0] == (
        "failures: 7 cases in 3 groups (by capability and cause); first case of each:"
    )
    headers = [line for line in lines[1:] if not line.startswith("    ")]
    assert all(HEADER.match(line) for line in headers), headers
    assert [h.split("  ")[0] for h in headers] == ["F load x5", "F load x1", "E save x1"]
    assert lines[2] == "    first: suite::case_0[s3-minio]"
    assert lines[3].startswith("    hint: the CA arrives in the artifact's s3.caSecret")
    # The contract's own citation is said once, as the spec sections.
    assert (
        "    first: suite::m[s3-minio]: load of a missing key raises ERR_NOT_FOUND  (spec 1.5)"
        in lines
    )
    assert render_failures([rec("pass"), rec("skip")]) == ""


def test_render_failures_shows_at_most_limit_groups_and_says_where_the_rest_are():
    records = [rec(capability=f"cap_{i}", case=f"c{i}", reason=f"reason {i}") for i in range(7)]
    lines = render_failures(records, limit=3, records_path="reports/r1/records.jsonl").splitlines()
    assert len([line for line in lines if HEADER.match(line)]) == 3
    assert lines[-1] == "... and 4 more groups (see reports/r1/records.jsonl or the report)"
    assert render_failures(records, limit=3).endswith("(see records.jsonl or the report)")
