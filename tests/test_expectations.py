"""conformance.expectations: a declared failure absorbs only itself (issue 12)."""

from __future__ import annotations

import pytest

from conformance.declared import Fails, parse_fails
from conformance.expectations import absorbs, actual_failure
from conformance.targets import GuardedDriver, Target
from drivers.core.errors import Internal, NotFound

MINIO_NAMES = Fails(("ERR_INTERNAL",), "XMinioInvalidResourceName")


def failed_check(error: Exception, message: str) -> BaseException:
    """What checks.raises raises: a pytest failure chained to the driver's error."""
    try:
        try:
            raise error
        except Exception as exc:
            raise pytest.fail.Exception(message, pytrace=False) from exc
    except pytest.fail.Exception as exc:
        return exc


def raised_by(func) -> BaseException:
    try:
        func()
    except BaseException as exc:  # pytest.fail's exception is no Exception
        return exc
    raise AssertionError("did not raise")


class Raising:
    def __getattr__(self, name):
        def method(*args):
            raise ValueError("Object name contains unsupported characters")

        return method


def test_the_declared_server_refusal_is_absorbed():
    error = Internal("failed saving key 'a/../b': XMinioInvalidResourceName: bad component")
    assert absorbs(MINIO_NAMES, actual_failure(error))


def test_a_driver_exception_that_is_no_artifact_error_is_never_absorbed():
    driver = GuardedDriver(Raising(), "python:m:f")
    error = raised_by(lambda: driver.save("in", "artifact"))
    actual = actual_failure(error)
    assert not absorbs(MINIO_NAMES, actual)
    assert not absorbs(Fails(("ERR_INTERNAL",), ""), actual)
    assert actual.code == "uncaught driver exception"


def test_a_raising_factory_is_never_absorbed():
    def factory(artifact, secrets, context):
        raise RuntimeError("XMinioInvalidResourceName in the factory")

    target = Target("python:m:f", factory)
    error = raised_by(lambda: target.new_driver(None, None, None))
    assert not absorbs(MINIO_NAMES, actual_failure(error))


def test_another_code_or_message_is_not_absorbed():
    assert not absorbs(MINIO_NAMES, actual_failure(NotFound("XMinioInvalidResourceName")))
    assert not absorbs(MINIO_NAMES, actual_failure(Internal("connection refused")))


def test_a_certificate_failure_is_absorbed_only_when_the_pattern_asks_for_it():
    error = Internal("s3: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    assert not absorbs(Fails(("ERR_INTERNAL",), ""), actual_failure(error))
    assert absorbs(Fails(("ERR_INTERNAL",), "(?i)certificate"), actual_failure(error))


def test_a_failed_check_reads_as_the_driver_error_it_got():
    got = failed_check(Internal("ValueError boom"), "expected ERR_NOT_FOUND, got ERR_INTERNAL")
    assert actual_failure(got).code == "ERR_INTERNAL"
    assert not absorbs(Fails(("assertion",)), actual_failure(got))
    plain = raised_by(lambda: pytest.fail("keys differ: ['a'] != []", pytrace=False))
    assert absorbs(Fails(("assertion",)), actual_failure(plain))
    assert absorbs(Fails(("assertion",)), actual_failure(AssertionError("keys differ")))


def test_an_error_of_the_kit_is_never_absorbed():
    actual = actual_failure(KeyError("fixture"))
    assert not absorbs(Fails(("assertion", "ERR_INTERNAL")), actual)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "needs `fails:"),
        ({"code": "ERR_NOPE"}, r"code: unknown ERR_NOPE"),
        ({"code": "assertion", "match": "("}, "match: not a regular expression"),
        ({"code": "assertion", "pattern": "x"}, "unknown field"),
    ],
)
def test_a_bad_declaration_names_the_field(data, message):
    with pytest.raises(ValueError, match=message):
        parse_fails(data, "minio.yaml: known_bugs.test_x.fails")
