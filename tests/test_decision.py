"""conformance.decision: run, skip (by whom, what, why) or strict xfail, from declarations only."""

from __future__ import annotations

import pytest

from conformance.capabilities import Capability
from conformance.decision import CaseInfo, Expect, Run, Skip, TargetView, decide
from conformance.declared import Fails
from conformance.profiles import parse_profile

PROFILE = parse_profile(
    {
        "server": "srv",
        "driver": "s3",
        "kind": "emulator",
        "description": "a test backend",
        "gaps": {"auth_sas": {"reason": "no SAS here"}},
        "modes": {"plain": {"gaps": {"tls_custom_ca": {"reason": "plain HTTP"}}}},
        "known_bugs": {
            "test_dots": {
                "reason": "refuses dots",
                "reference": "srv#1",
                "fails": {"code": "ERR_INTERNAL", "match": "InvalidName"},
            }
        },
    },
    "srv.yaml",
)
EVERYTHING = frozenset(Capability)
ASSERTION = Fails(("assertion",))
REFS = {
    "s3-quirk": ("s3", "argo s3.go", ASSERTION),
    "gcs-quirk": ("gcs", "argo gcs.go", ASSERTION),
    "core": ("", "x", ASSERTION),
}


def case(capability="load", *, requires=(), deviations=(), mode="plain", name="test_case"):
    return CaseInfo("s3", "srv", mode, capability, f"test_suite::{name}", requires, deviations)


def target(capabilities=EVERYTHING, deviations=()):
    return TargetView("python:t:f", {"s3": frozenset(capabilities)}, frozenset(deviations))


def test_a_declared_capability_on_a_capable_backend_runs():
    assert decide(case("load"), target(), PROFILE, REFS) == Run()


def test_a_capability_the_target_lacks_skips_by_driver_naming_it():
    decision = decide(case("save"), target({Capability.LOAD}), PROFILE, REFS)
    assert decision == Skip("driver", "save", "unsupported-by-driver: python:t:f (s3) lacks save")


def test_a_prerequisite_the_target_lacks_skips_by_driver():
    decision = decide(case("load", requires=("save",)), target({Capability.LOAD}), PROFILE, REFS)
    assert isinstance(decision, Skip) and (decision.by, decision.missing) == ("driver", "save")


def test_a_backend_gap_skips_by_backend_with_its_reason():
    decision = decide(case("auth_sas"), target(), PROFILE, REFS)
    assert decision == Skip(
        "backend",
        "auth_sas",
        "unsupported-by-backend: srv (plain) cannot prove auth_sas: no SAS here",
    )


@pytest.mark.parametrize(("mode", "runs"), [("plain", False), ("tls", True)])
def test_a_gap_of_one_mode_skips_only_in_that_mode(mode, runs):
    decision = decide(case("tls_custom_ca", mode=mode), target(), PROFILE, REFS)
    assert isinstance(decision, Run) is runs


def test_the_driver_is_asked_before_the_backend():
    decision = decide(case("auth_sas"), target({Capability.LOAD}), PROFILE, REFS)
    assert isinstance(decision, Skip) and decision.by == "driver"


def test_a_declared_deviation_of_this_driver_is_a_strict_xfail_citing_argo():
    decision = decide(
        case(deviations=("s3-quirk",)), target(deviations={"s3-quirk"}), PROFILE, REFS
    )
    assert decision == Expect(
        "s3-quirk: argo s3.go",
        "target declares deviation s3-quirk (s3-quirk: argo s3.go)",
        ASSERTION,
    )


def test_a_deviation_of_another_driver_does_not_apply():
    decision = decide(
        case(deviations=("gcs-quirk",)), target(deviations={"gcs-quirk"}), PROFILE, REFS
    )
    assert decision == Run()


def test_a_core_deviation_applies_to_every_driver():
    decision = decide(case(deviations=("core",)), target(deviations={"core"}), PROFILE, REFS)
    assert isinstance(decision, Expect)


def test_a_deviation_the_target_does_not_declare_runs_the_case():
    assert decide(case(deviations=("s3-quirk",)), target(), PROFILE, REFS) == Run()


def test_a_known_server_bug_is_a_strict_xfail_with_its_reference():
    decision = decide(case(name="test_dots"), target(), PROFILE, REFS)
    assert decision == Expect(
        "srv#1", "srv bug: refuses dots", Fails(("ERR_INTERNAL",), "InvalidName")
    )


def test_a_skip_wins_over_a_known_bug():
    decision = decide(case("save", name="test_dots"), target({Capability.LOAD}), PROFILE, REFS)
    assert isinstance(decision, Skip)


def test_case_info_travels_as_a_plain_dict():
    info = case(requires=("save",), deviations=("s3-quirk",))
    data = info.to_dict()
    assert data["requires"] == ["save"] and isinstance(data, dict)
    assert CaseInfo.from_dict(data) == info
    assert info.column.key == "srv" and case(mode="tls").column.key == "srv-tls"


# A profile whose known bug predates `fails` (no failure declared).
WITHOUT_FAILS = {
    "server": "srv",
    "driver": "s3",
    "kind": "emulator",
    "description": "a test backend",
    "known_bugs": {"test_dots": {"reason": "refuses dots", "reference": "srv#1"}},
}


def test_a_known_bug_without_the_failure_it_declares_is_refused():
    with pytest.raises(ValueError, match=r"known_bugs\.test_dots\.fails: needs `fails:"):
        parse_profile(WITHOUT_FAILS, "srv.yaml")


def test_an_older_runs_profile_snapshot_without_fails_still_reads():
    """Run directories keep their profiles; one from before `fails` was required is read for
    the report (its known bug declares no failure) instead of skipping the whole run."""
    profile = parse_profile(WITHOUT_FAILS, "run/profiles/srv.yaml", snapshot=True)
    assert profile.known_bugs["test_dots"].fails == Fails(())
