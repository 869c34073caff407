"""drivers.core.retry: spec 6.4 policies, Go backoff semantics, env overrides (no real sleeping);
drivers.calls: the wrapper the drivers run their operations in."""

from __future__ import annotations

import logging

import pytest

from drivers.calls import call, translating
from drivers.core.context import DriverContext
from drivers.core.errors import Code, Forbidden, Internal, NotFound
from drivers.core.retry import (
    DEFAULT_RETRY_DEFAULT,
    EXECUTOR_RETRY_DEFAULT,
    OPERATIONS,
    WAIT_TIMEOUT,
    Backoff,
    artifact_gc_policy,
    default_retry,
    executor_retry,
    parse_go_duration,
    policy_for,
    retry_call,
    retry_every_error,
)

NO_ENV: dict[str, str] = {}
ALL_DRIVERS = ("s3", "gcs", "azure", "oss", "http", "artifactory", "git", "hdfs", "raw", "plugin")


class Clock:
    """Records sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def failing(exc: Exception, successes_after: int | None = None):
    """A callable failing with ``exc``, succeeding on call number ``successes_after + 1``."""
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if successes_after is not None and len(calls) > successes_after:
            return "ok"
        raise exc

    return fn, calls


def test_backoff_validation() -> None:
    with pytest.raises(ValueError, match="steps"):
        Backoff(steps=0, duration=1, factor=1, jitter=0)
    with pytest.raises(ValueError, match="duration"):
        Backoff(steps=1, duration=-1, factor=1, jitter=0)
    with pytest.raises(ValueError, match="jitter"):
        Backoff(steps=1, duration=1, factor=1, jitter=float("nan"))
    with pytest.raises(ValueError, match="cap"):
        Backoff(steps=1, duration=1, factor=1, jitter=0, cap=0)


def test_executor_retry_delays_without_and_with_jitter() -> None:
    b = EXECUTOR_RETRY_DEFAULT
    assert b.delays(rand=lambda: 0.0) == pytest.approx([1.0, 1.6, 2.56, 4.096])
    assert b.delays(rand=lambda: 1.0) == pytest.approx([1.5, 2.4, 3.84, 6.144])


def test_cap_bounds_the_growth() -> None:
    b = Backoff(steps=5, duration=2, factor=10, jitter=0, cap=50)
    assert b.delays() == [2, 20, 50, 50]


def test_zero_factor_keeps_the_duration() -> None:
    assert Backoff(steps=3, duration=0.5, factor=0, jitter=0).delays() == [0.5, 0.5]


def test_success_after_transient_failures_sleeps_exact_delays() -> None:
    fn, calls = failing(Internal("flaky", transient=True), successes_after=2)
    clock = Clock()
    assert retry_call(fn, EXECUTOR_RETRY_DEFAULT, sleep=clock, rand=lambda: 0.5) == "ok"
    assert len(calls) == 3
    assert clock.sleeps == pytest.approx([1.25, 2.0])


def test_randomness_is_drawn_only_for_sleeps() -> None:
    draws: list[int] = []

    def rand() -> float:
        draws.append(1)
        return 0.0

    assert retry_call(lambda: 7, EXECUTOR_RETRY_DEFAULT, sleep=Clock(), rand=rand) == 7
    assert draws == []


def test_exhaustion_message_and_code() -> None:
    last = NotFound("no key", transient=True)
    fn, calls = failing(last)
    clock = Clock()
    with pytest.raises(NotFound) as info:
        retry_call(fn, EXECUTOR_RETRY_DEFAULT, sleep=clock, rand=lambda: 0.0)
    assert str(info.value) == f"{WAIT_TIMEOUT}: no key"
    assert info.value.code is Code.NOT_FOUND
    assert info.value.cause is last
    assert len(calls) == 5
    assert len(clock.sleeps) == 4


def test_non_transient_error_is_reraised_unchanged_immediately() -> None:
    err = Forbidden("denied")
    fn, calls = failing(err)
    clock = Clock()
    with pytest.raises(Forbidden) as info:
        retry_call(fn, EXECUTOR_RETRY_DEFAULT, sleep=clock)
    assert info.value is err
    assert len(calls) == 1
    assert clock.sleeps == []


def test_no_policy_means_one_attempt() -> None:
    err = Internal("flaky", transient=True)
    fn, calls = failing(err)
    with pytest.raises(Internal) as info:
        retry_call(fn, None, sleep=Clock())
    assert info.value is err
    assert len(calls) == 1


def test_foreign_exception_exhausts_as_internal() -> None:
    fn, calls = failing(ConnectionResetError("reset"))
    with pytest.raises(Internal, match=f"^{WAIT_TIMEOUT}: reset$"):
        retry_call(fn, DEFAULT_RETRY_DEFAULT, is_transient=retry_every_error, sleep=Clock())
    assert len(calls) == 5


def test_foreign_exception_without_transient_flag_is_not_retried() -> None:
    fn, calls = failing(KeyError("x"))
    with pytest.raises(KeyError):
        retry_call(fn, EXECUTOR_RETRY_DEFAULT, sleep=Clock())
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("driver", "operation", "expected"),
    [
        ("s3", "load", Backoff(5, 1.0, 1.6, 0.5)),
        ("s3", "save", Backoff(5, 1.0, 1.6, 0.5)),
        ("s3", "list_objects", Backoff(5, 1.0, 1.6, 0.5)),
        ("s3", "delete", Backoff(4, 0.010, 5.0, 0.1)),
        ("s3", "open_stream", None),
        ("s3", "is_directory", None),
        ("gcs", "load", Backoff(5, 2.0, 2.0, 0.1, cap=600.0)),
        ("gcs", "save", Backoff(5, 2.0, 2.0, 0.1, cap=600.0)),
        ("gcs", "delete", Backoff(5, 2.0, 2.0, 0.1, cap=600.0)),
        ("gcs", "list_objects", Backoff(5, 2.0, 2.0, 0.1, cap=600.0)),
        ("gcs", "open_stream", Backoff(5, 2.0, 2.0, 0.1, cap=600.0)),
        ("gcs", "is_directory", None),
        ("oss", "load", Backoff(5, 2.0, 2.0, 0.1)),
        ("oss", "open_stream", Backoff(5, 2.0, 2.0, 0.1)),
        ("oss", "save", Backoff(5, 2.0, 2.0, 0.1)),
        ("oss", "delete", Backoff(5, 2.0, 2.0, 0.1)),
        ("oss", "list_objects", Backoff(5, 2.0, 2.0, 0.1)),
        ("oss", "is_directory", None),
    ],
)
def test_policy_table(driver: str, operation: str, expected: Backoff | None) -> None:
    assert policy_for(driver, operation, NO_ENV) == expected


@pytest.mark.parametrize("driver", ["azure", "http", "artifactory", "git", "hdfs", "raw", "plugin"])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_drivers_without_retries(driver: str, operation: str) -> None:
    assert policy_for(driver, operation, NO_ENV) is None


@pytest.mark.parametrize("driver", ALL_DRIVERS)
def test_save_stream_is_never_retried(driver: str) -> None:
    assert policy_for(driver, "save_stream", NO_ENV) is None


def test_unknown_operation_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown operation"):
        policy_for("s3", "download", NO_ENV)


@pytest.mark.parametrize(
    ("driver", "operation", "attempts", "sleeps"),
    [
        ("s3", "load", 5, [1.0, 1.6, 2.56, 4.096]),
        ("s3", "delete", 4, [0.01, 0.05, 0.25]),
        ("gcs", "save", 5, [2.0, 4.0, 8.0, 16.0]),
        ("oss", "load", 5, [2.0, 4.0, 8.0, 16.0]),
        ("azure", "load", 1, []),
        ("s3", "open_stream", 1, []),
    ],
)
def test_attempt_counts_and_delays_per_driver(
    driver: str, operation: str, attempts: int, sleeps: list[float]
) -> None:
    fn, calls = failing(Internal("flaky", transient=True))
    clock = Clock()
    with pytest.raises(Internal):
        retry_call(fn, policy_for(driver, operation, NO_ENV), sleep=clock, rand=lambda: 0.0)
    assert len(calls) == attempts
    assert clock.sleeps == pytest.approx(sleeps)


def test_executor_retry_env_overrides() -> None:
    env = {
        "EXECUTOR_RETRY_BACKOFF_STEPS": "3",
        "EXECUTOR_RETRY_BACKOFF_DURATION": "500ms",
        "EXECUTOR_RETRY_BACKOFF_FACTOR": "2",
        "EXECUTOR_RETRY_BACKOFF_JITTER": "0",
    }
    assert policy_for("s3", "load", env) == Backoff(3, 0.5, 2.0, 0.0)
    fn, calls = failing(Internal("flaky", transient=True))
    clock = Clock()
    with pytest.raises(Internal):
        retry_call(fn, policy_for("s3", "save", env), sleep=clock)
    assert len(calls) == 3
    assert clock.sleeps == [0.5, 1.0]


def test_env_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECUTOR_RETRY_BACKOFF_STEPS", "2")
    assert executor_retry().steps == 2
    monkeypatch.setenv("EXECUTOR_RETRY_BACKOFF_STEPS", "7")
    assert policy_for("s3", "load").steps == 7


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("EXECUTOR_RETRY_BACKOFF_STEPS", "five", "steps"),
        ("EXECUTOR_RETRY_BACKOFF_STEPS", "0", "steps"),
        ("EXECUTOR_RETRY_BACKOFF_DURATION", "5", "duration"),
        ("EXECUTOR_RETRY_BACKOFF_DURATION", "-1s", "duration"),
        ("EXECUTOR_RETRY_BACKOFF_FACTOR", "x1.5", "factor"),
        ("EXECUTOR_RETRY_BACKOFF_JITTER", "-0.5", "jitter"),
    ],
)
def test_bad_env_values_fall_back_with_a_warning(
    name: str, value: str, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="drivers.core.retry"):
        backoff = executor_retry({name: value, "EXECUTOR_RETRY_BACKOFF_FACTOR_UNUSED": "1"})
    assert getattr(backoff, field) == getattr(EXECUTOR_RETRY_DEFAULT, field)
    assert name in caplog.text
    assert repr(value) in caplog.text


def test_a_bad_value_does_not_discard_good_ones() -> None:
    env = {"EXECUTOR_RETRY_BACKOFF_STEPS": "x", "EXECUTOR_RETRY_BACKOFF_DURATION": "2s"}
    assert executor_retry(env) == Backoff(5, 2.0, 1.6, 0.5)


def test_empty_env_value_means_default() -> None:
    assert executor_retry({"EXECUTOR_RETRY_BACKOFF_STEPS": ""}) == EXECUTOR_RETRY_DEFAULT


def test_artifact_gc_retries_every_error() -> None:
    assert artifact_gc_policy(NO_ENV) == Backoff(5, 0.010, 2.0, 0.0)  # DefaultRetry: no jitter
    fn, calls = failing(Forbidden("denied"))
    clock = Clock()
    with pytest.raises(Forbidden, match=WAIT_TIMEOUT):
        retry_call(
            fn,
            artifact_gc_policy(NO_ENV),
            is_transient=retry_every_error,
            sleep=clock,
            rand=lambda: 1.0,  # a jitter would show at its largest
        )
    assert len(calls) == 5
    assert clock.sleeps == pytest.approx([0.01, 0.02, 0.04, 0.08])


def test_default_retry_env_overrides() -> None:
    env = {"RETRY_BACKOFF_STEPS": "2", "RETRY_BACKOFF_DURATION": "1m30s"}
    assert default_retry(env) == Backoff(2, 90.0, 2.0, 0.0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("500ms", 0.5),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        ("-2s", -2.0),
        ("+3s", 3.0),
        ("0", 0.0),
        ("300us", 0.0003),
        ("300µs", 0.0003),
        ("10ns", 1e-8),
        (".5s", 0.5),
        ("2h45m", 9900.0),
    ],
)
def test_parse_go_duration(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "1x", "s", "1s2", "-", "one second", "1 s"])
def test_parse_go_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_go_duration(text)


# --------------------------------------------------------------------------------------------
# drivers.calls: the wrapper every reference driver runs its operations in
# --------------------------------------------------------------------------------------------


def _translate(exc: BaseException, what: str) -> Internal:
    return Internal(f"failed {what}: {exc}", transient=isinstance(exc, ConnectionError), cause=exc)


def test_call_retries_translated_transient_failures_with_the_driver_policy() -> None:
    clock = Clock()
    resets: list[int] = []
    fn, attempts = failing(ConnectionResetError("reset"), successes_after=2)
    context = DriverContext(settings={}, sleep=clock)
    result = call(
        "gcs",
        "load",
        "reading k",
        fn,
        context=context,
        translate=_translate,
        on_transient=lambda: resets.append(1),
    )
    assert result == "ok" and len(attempts) == 3
    assert len(clock.sleeps) == 2 and len(resets) == 2  # GCS: 2 s, then 4 s, +10% jitter
    assert 2.0 <= clock.sleeps[0] <= 2.2 and 4.0 <= clock.sleeps[1] <= 4.4


def test_call_raises_fatal_errors_at_once_from_their_cause() -> None:
    clock = Clock()
    original = ValueError("bad")
    with pytest.raises(Internal) as caught:
        call(
            "gcs",
            "load",
            "reading k",
            failing(original)[0],
            context=DriverContext(sleep=clock),
            translate=_translate,
        )
    assert caught.value.message == "failed reading k: bad"
    assert caught.value.__cause__ is original and clock.sleeps == []
    # An ArtifactError is never translated again; with no policy (Azure) there is one attempt.
    passed = NotFound("gone")
    with pytest.raises(NotFound) as caught:
        call(
            "azure", "load", "x", failing(passed)[0], context=DriverContext(), translate=_translate
        )
    assert caught.value is passed


def test_translating_drops_a_cause_the_translation_dropped() -> None:
    def redacting(exc: BaseException, what: str) -> Internal:
        return Internal(f"{what}: <redacted>")  # no cause: the original text held a secret

    with pytest.raises(Internal) as caught, translating("reading", redacting):
        raise OSError("sig=SECRET")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
