"""Keep the run's credentials out of pytest's own reports, in whichever process makes them.

Failure text, tracebacks (with ``--showlocals``), captured output and logs, skip and xfail
reasons and user properties reach the terminal, junit.xml, the records and (under xdist) the
controller only through the reports, so each report is redacted where it is made: in the
process that ran the case, an xdist worker included. The secrets are the credentials of the
run's servers (workers get them through ``server_pool``) and the values the secret sources of
this process handed out to drivers (``drivers.core.secrets.handed_out``).

A redaction error never turns into a pytest error and never lets the raw text through: what
could not be redacted is replaced by a placeholder saying so.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from collections.abc import Callable, Generator, Iterable
from typing import Any

import pytest

from drivers.core.secrets import REDACTED, SecretValue, handed_out, redact, spellings
from emulators.pytest_plugin import server_pool

# Endpoint credential names whose values are secret; as broad as the records' redaction
# (conformance.session), so access keys are withheld too.
_SECRET_CREDENTIAL = re.compile(r"secret|key|password|token|connection_string")
# A handed-out value this short is no credential, and redacting it would shred ordinary text.
MIN_HANDED_OUT_LENGTH = 8
# pytest's saferepr shortens a long value to `head...tail`, which can cut a secret in two; a
# piece this long next to such a cut is hidden too (shorter pieces could be anything).
MIN_CUT_PIECE = 8
CUT = "..."


def placeholder(exc: BaseException) -> str:
    """What replaces a text that could not be redacted (names the error, never the text)."""
    return f"<artconf: redaction failed ({type(exc).__name__}); the text is withheld>"


class Known:
    """The secrets to hide, in every spelling a report may show them in."""

    def __init__(self, values: Iterable[SecretValue | str]) -> None:
        escaped: set[str] = set()
        for value in values:
            text = value.reveal() if isinstance(value, SecretValue) else value
            if text.strip():
                # A traceback's locals and arguments show repr(): escaped backslashes, quotes.
                escaped |= {text, repr(text)[1:-1], json.dumps(text)[1:-1]}
        self.values = sorted(escaped)
        # Raw, base64 and URL-encoded; longest first, so that a short value sharing a prefix
        # with a long one cannot shadow it at a cut.
        self.spellings = sorted(
            {form for value in escaped for form in spellings(value)}, key=len, reverse=True
        )

    def text(self, text: str) -> str:
        """``text`` without any secret: whole (raw, base64, URL-encoded) or cut in two."""
        return _hide_cut_pieces(redact(text, self.values), self.spellings)


def _hide_cut_pieces(text: str, spellings: list[str]) -> str:
    if CUT not in text:
        return text
    for value in spellings:
        if len(value) > MIN_CUT_PIECE:
            text = _hide_tail_pieces(_hide_head_pieces(text, value), value)
    return text


def _hide_head_pieces(text: str, value: str) -> str:
    """Hide a beginning of ``value`` that runs up to a cut (``'canary+mi...``)."""
    start = 0
    while (at := text.find(value[:MIN_CUT_PIECE], start)) != -1:
        cut = text.find(CUT, at)
        if cut != -1 and cut - at < len(value) and value.startswith(text[at:cut]):
            text = text[:at] + REDACTED + text[cut:]
        start = at + 1
    return text


def _hide_tail_pieces(text: str, value: str) -> str:
    """Hide an end of ``value`` that starts right after a cut (``...nio/root=1'``)."""
    start = 0
    while (at := text.find(value[-MIN_CUT_PIECE:], start)) != -1:
        end = at + MIN_CUT_PIECE
        cut = text.rfind(CUT, 0, at)
        piece = text[cut + len(CUT) : end] if cut != -1 else ""
        if piece and len(piece) < len(value) and value.endswith(piece):
            text = text[: cut + len(CUT)] + REDACTED + text[end:]
            end = cut + len(CUT) + len(REDACTED)
        start = max(end, at + 1)
    return text


def secret_values(config: pytest.Config) -> tuple[str, ...]:
    """Every secret this process knows of: server credentials and handed-out values."""
    values: list[str] = []
    pool = server_pool(config)
    for endpoint in pool.endpoints.values() if pool else ():
        values.extend(
            value
            for name, value in endpoint.credentials.items()
            if isinstance(value, str) and _SECRET_CREDENTIAL.search(name)
        )
    values.extend(v.reveal() for v in handed_out() if len(v) >= MIN_HANDED_OUT_LENGTH)
    return tuple(values)


@functools.lru_cache(maxsize=2)  # every report asks; the values change once per case at most
def _known(values: tuple[str, ...]) -> Known:
    return Known(values)


def run_secrets(config: pytest.Config) -> Known:
    """The secrets of :func:`secret_values`, ready to hide."""
    return _known(secret_values(config))


# --- the pieces of a report ------------------------------------------------------------------


def _guarded(redactor: Callable[[Any, Known], Any], value: Any, known: Known) -> Any:
    try:
        return redactor(value, known)
    except Exception as exc:  # a redaction bug must not become a pytest internal error
        return placeholder(exc)


def _redact_text(text: str, known: Known) -> str:
    return known.text(text)


def _walk(value: Any, known: Known, seen: set[int]) -> Any:
    """``value`` with every string inside redacted; pytest's repr objects are changed in place.

    In place, because a repr object is shared: an ``ExceptionChainRepr``'s ``reprcrash`` (which
    the records' ``_failure`` reads) is also the last link of its ``chain``.
    """
    if isinstance(value, str):
        return known.text(value)
    if isinstance(value, list):
        value[:] = [_walk(item, known, seen) for item in value]
        return value
    if isinstance(value, tuple):
        return tuple(_walk(item, known, seen) for item in value)
    if isinstance(value, dict):
        return {key: _walk(item, known, seen) for key, item in value.items()}
    fields = getattr(value, "__dict__", None)
    if hasattr(value, "toterminal") and fields is not None and id(value) not in seen:
        seen.add(id(value))  # ReprEntry, ReprFileLocation, ReprLocals, ... (pytest's dataclasses)
        for name, item in list(fields.items()):
            cleaned = _walk(item, known, seen)
            if cleaned is not item:
                object.__setattr__(value, name, cleaned)
    return value


def redact_longrepr(longrepr: Any, known: Known) -> Any:
    """A report's ``longrepr`` redacted, keeping its shape (None, text, skip tuple, repr object).

    A repr object is rendered to check it: one holding a secret where the walk cannot reach
    (another plugin's repr type) becomes its redacted text, which terminal and junit show alike.
    """
    if longrepr is None or isinstance(longrepr, str | tuple):
        return _walk(longrepr, known, set())
    rendered = str(longrepr)
    if known.text(rendered) == rendered:
        return longrepr  # the common case: nothing to hide, nothing changed
    _walk(longrepr, known, set())
    rendered = str(longrepr)
    cleaned = known.text(rendered)
    return longrepr if cleaned == rendered else cleaned


def _longrepr_placeholder(longrepr: Any, exc: BaseException) -> Any:
    # A skip's longrepr must stay a (path, line, reason) tuple: the terminal asserts it.
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return (str(longrepr[0]), longrepr[1], placeholder(exc))
    return placeholder(exc)


def _redact_property(value: Any, known: Known) -> Any:
    text = value if isinstance(value, str) else str(value)  # junit writes str(value)
    cleaned = known.text(text)
    return value if cleaned == text else cleaned


def redact_report(report: pytest.TestReport | pytest.CollectReport, known: Known) -> None:
    """Redact a report in place; each piece on its own, so one failure withholds only itself."""
    try:
        report.longrepr = redact_longrepr(report.longrepr, known)
    except Exception as exc:
        report.longrepr = _longrepr_placeholder(report.longrepr, exc)
    report.sections = [
        (title, _guarded(_redact_text, content, known)) for title, content in report.sections
    ]
    properties = getattr(report, "user_properties", None)
    if properties:
        report.user_properties = [
            (name, _guarded(_redact_property, value, known)) for name, value in properties
        ]
    if isinstance(getattr(report, "wasxfail", None), str):
        report.wasxfail = _guarded(_redact_text, report.wasxfail, known)


def _withhold(report: Any, exc: BaseException) -> None:
    """Without the secrets nothing can be checked: every text of the report is withheld."""
    text = placeholder(exc)
    if report.longrepr is not None:
        report.longrepr = _longrepr_placeholder(report.longrepr, exc)
    report.sections = [(title, text) for title, _ in report.sections]
    if getattr(report, "user_properties", None):
        report.user_properties = [(name, text) for name, _ in report.user_properties]


# --- hooks -----------------------------------------------------------------------------------


class Redaction:
    """The hooks, bound to the run's config (some hooks get neither config nor item)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def _redact_made(self, report: Any) -> None:
        try:
            known = run_secrets(self.config)
        except Exception as exc:
            _withhold(report, exc)
            return
        redact_report(report, known)

    # tryfirst makes these the outermost wrappers: they run after every other plugin finished
    # the report (xfail, the session's infra-error property) and before anyone reads it.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[Any]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        self._redact_made(report)
        return report

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report = yield
        self._redact_made(report)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_internalerror(self, excrepr: Any, excinfo: Any) -> None:
        """Redact the error's repr in place before the terminal (or xdist) prints it."""
        try:
            _walk(excrepr, run_secrets(self.config), set())
        except Exception as exc:
            text = placeholder(exc)  # the terminal prints str(excrepr): make that the placeholder
            object.__setattr__(excrepr, "toterminal", lambda tw: tw.line(text))

    @pytest.hookimpl(tryfirst=True)
    def pytest_warning_recorded(self, warning_message: warnings.WarningMessage) -> None:
        """A warning's message (the warnings summary shows it) may quote a credential too."""
        text = str(warning_message.message)
        try:
            cleaned = run_secrets(self.config).text(text)
        except Exception as exc:
            cleaned = placeholder(exc)
        if cleaned != text:
            warning_message.message = UserWarning(cleaned)

    # pytest_exception_interact needs nothing: it gets the report made above, already redacted.


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(Redaction(config), "artconf-redaction")
