"""Differential: the target and the reference, side by side on the same server, must agree
(spec 1.1, 1.3); where the reference differs from Argo on purpose, a deviation row says so.

Runs only for a target that asks for the lane (`Target.differential`; the target made of
Argo's own drivers does). Scenarios and how outcomes are compared: `conformance/differential.py`.
"""

from __future__ import annotations

import pytest

from conformance import differential as lane
from conformance.cases import deviation, differential, verifies


def _params(operation: str) -> list:
    return [
        pytest.param(s, id=s.name, marks=[m for d in s.deviations for m in deviation(d)])
        for s in lane.scenarios(operation)
    ]


def _agree(store, scenario: lane.Scenario) -> None:
    sides = {}
    for side in ("target", "reference"):
        location, objects = store.bucket_on(store.backend.endpoint)
        objects.put_many(dict(scenario.layout))
        driver = store.driver_for(location) if side == "target" else store.reference_for(location)
        workdir = store.tmp / side
        workdir.mkdir()
        sides[side] = lane.observe(
            scenario,
            driver,
            lambda key, location=location: store.artifact_in(location, key),
            objects.keys,
            objects.get,
            workdir,
        )
    target, reference = sides["target"], sides["reference"]
    problem = lane.difference(target, reference, store.target.name)
    if not problem:
        return
    if target.error is not None and target.code != reference.code:
        # The target's own error ends the case, so a deviation that declares Argo's code
        # (`fails: {code: ...}`) matches exactly that.
        raise AssertionError(problem) from target.error
    raise AssertionError(problem)


@differential
@verifies("load")
@pytest.mark.parametrize("scenario", _params("load"))
def test_load_agrees_with_the_reference(store, scenario):
    """load writes what the reference writes, or fails with its code (spec 1.1, 1.3)."""
    _agree(store, scenario)


@differential
@verifies("open_stream")
@pytest.mark.parametrize("scenario", _params("open_stream"))
def test_open_stream_agrees_with_the_reference(store, scenario):
    """open_stream yields the reference's bytes, or fails with its code (spec 1.1, 1.3)."""
    _agree(store, scenario)


@differential
@verifies("is_directory")
@pytest.mark.parametrize("scenario", _params("is_directory"))
def test_is_directory_agrees_with_the_reference(store, scenario):
    """is_directory answers as the reference does, or fails with its code (spec 1.1, 1.3)."""
    _agree(store, scenario)


@differential
@verifies("list_objects")
@pytest.mark.parametrize("scenario", _params("list_objects"))
def test_list_objects_agrees_with_the_reference(store, scenario):
    """list_objects lists the reference's keys, or fails with its code (spec 1.1, 1.3)."""
    _agree(store, scenario)


@differential
@verifies("delete")
@pytest.mark.parametrize("scenario", _params("delete"))
def test_delete_agrees_with_the_reference(store, scenario):
    """delete leaves the bucket as the reference leaves it, or fails with its code
    (spec 1.1, 7.3)."""
    _agree(store, scenario)


@differential
@verifies("save")
@pytest.mark.parametrize("scenario", _params("save"))
def test_save_agrees_with_the_reference(store, scenario):
    """save leaves the bucket as the reference leaves it, or fails with its code
    (spec 1.1, 1.3)."""
    _agree(store, scenario)
