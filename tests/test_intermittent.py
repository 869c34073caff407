"""Intermittent deviations: a race of the target's own client, declared once for its driver.

A row with `intermittent: true` covers every case of its driver that otherwise runs: a pass
stays a pass, exactly the declared failure becomes an xfail citing the row, and any other
failure stays a failure (conformance.expectations).
"""

from __future__ import annotations

import pytest

from conformance.recorder import REFERENCE, outcome_of
from conformance.session import intermittent_rows
from drivers.core.deviations import get_deviation, parse_deviations
from drivers.core.errors import BadRequest

pytest_plugins = ["pytester"]

RACE = "gcs-save-early-answer-race"

CONFTEST = """
import pytest
from conformance.decision import Expect
from conformance.declared import Fails
from conformance.expectations import INTERMITTENT, ExpectationCheck

def pytest_configure(config):
    config.pluginmanager.register(ExpectationCheck(), "artconf-expectations")

def pytest_runtest_setup(item):
    fails = Fails(("ERR_INTERNAL",), "writer close: io: read/write on closed pipe")
    item.stash[INTERMITTENT] = (Expect("race: ref", "declares the race", fails),)
"""

CASES = """
from drivers.core.errors import Internal, NotFound

def test_passes():
    pass

def test_hits_the_race():
    raise Internal("upload f: writer close: io: read/write on closed pipe")

def test_fails_otherwise():
    raise NotFound("key missing")

def test_same_code_other_message():
    raise Internal("upload f: writer close: connection reset")
"""


def test_only_the_declared_failure_is_absorbed_and_a_pass_stays_a_pass(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_cases=CASES)
    run = pytester.inline_run("-p", "no:cacheprovider", "-p", "no:xdist")
    by_case: dict[str, dict] = {}
    for report in run.getreports("pytest_runtest_logreport"):
        by_case.setdefault(report.nodeid.split("::")[-1], {})[report.when] = report
    outcomes = {case: outcome_of(phases)[0] for case, phases in by_case.items()}
    assert outcomes == {
        "test_passes": "pass",
        "test_hits_the_race": "xfail",
        "test_fails_otherwise": "fail",
        "test_same_code_other_message": "fail",
    }
    raced = dict(by_case["test_hits_the_race"]["call"].user_properties)
    said = outcome_of(by_case["test_hits_the_race"])[1]
    assert said.startswith("declares the race; the case ended with ERR_INTERNAL: upload f: writer")
    assert raced[REFERENCE] == "race: ref"
    assert REFERENCE not in dict(by_case["test_passes"]["call"].user_properties)


def test_the_registry_row_is_intermittent_and_says_how_it_fails():
    row = get_deviation(RACE)
    assert row.intermittent and row.driver == "gcs"
    assert row.fails == {
        "code": "ERR_INTERNAL",
        "match": "writer close: io: read/write on closed pipe",
    }


def test_an_intermittent_row_without_its_failure_is_refused():
    row = {
        "id": "some-race",
        "section": "1.3",
        "argo_reference": "somewhere.go",
        "argo_behaviour": "fails now and then",
        "ours": "never fails",
        "intermittent": True,
    }
    with pytest.raises(BadRequest, match=r"some-race.*intermittent row must say how it fails"):
        parse_deviations([row])


def test_only_declared_rows_apply():
    from conformance.session import deviation_refs

    refs = deviation_refs()
    assert [d for d, _ in intermittent_rows(frozenset(), refs)] == []
    rows = intermittent_rows(frozenset({RACE}), refs)
    assert [(d, e.reference.split(":")[0]) for d, e in rows] == [("gcs", RACE)]
