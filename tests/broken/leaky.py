"""A driver that leaks its credentials wherever it can: the canary for report redaction.

`python:tests.broken.leaky:make_driver` wraps the reference driver. With the secret values of its
location's selectors (raw, base64 and URL-encoded) it

    open_stream   prints them to stdout and stderr, logs them, warns with them, and raises an
                  exception carrying them in its message, its args, its chained cause and a
                  local variable of the raising frame
    load          skips the case with them in the skip reason

Everything else is the reference driver's. Loaded as a plugin too (`-p tests.broken.leaky`), it
gives every case a user property (junit.xml's <property>) quoting the run's server secrets.

When `ARTCONF_LEAKY_RECORD` names a file, each value leaked is appended to it (one JSON string a
line), so a test knows what to search the outputs for even when the value was made in an xdist
worker (fake-gcs service-account keys).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import urllib.parse
import warnings
from typing import Any, BinaryIO

import pytest

from drivers import new_driver
from drivers.core.context import DriverContext
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource
from emulators.pytest_plugin import server_pool
from tests.broken import Forwarding

RECORD_ENV = "ARTCONF_LEAKY_RECORD"
SELECTOR_FIELDS = (
    "access_key_secret",
    "secret_key_secret",
    "session_token_secret",
    "account_key_secret",
    "service_account_key_secret",
)

log = logging.getLogger(__name__)


class LeakyError(RuntimeError):
    """Not an ArtifactError: the kit's guard wraps it (quoting it) into an INTERNAL error."""


def credentials(artifact: Artifact, secrets: SecretSource) -> list[str]:
    """The secret values the artifact's location selects, revealed (what a careless driver does)."""
    location = artifact.get()
    values = []
    for field in SELECTOR_FIELDS:
        selector = getattr(location, field, None)
        if selector is not None and selector.name:
            values.append(secrets.get(selector.name, selector.key).reveal())
    return values


def spellings(value: str) -> str:
    raw = value.encode()
    return (
        f"{value} base64={base64.b64encode(raw).decode()} url={urllib.parse.quote(value, safe='')}"
    )


def _record(values: list[str]) -> None:
    path = os.environ.get(RECORD_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.writelines(json.dumps(value) + "\n" for value in values)


class Leaky(Forwarding):
    def __init__(self, artifact: Artifact, secrets: SecretSource, context: DriverContext):
        super().__init__(new_driver(artifact, secrets, context))
        self.leaked = credentials(artifact, secrets)
        _record(self.leaked)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def open_stream(self, artifact: Artifact) -> BinaryIO:
        leaked = self.leaked  # a local of the raising frame: --showlocals prints it
        text = "; ".join(spellings(value) for value in leaked)
        print(f"leaky stdout: {text}")
        print(f"leaky stderr: {text}", file=sys.stderr)
        log.error("leaky log: %s", text)
        warnings.warn(f"leaky warning: {text}", stacklevel=1)
        try:
            raise ValueError(f"leaky cause: {text}")
        except ValueError as cause:
            raise LeakyError(f"leaky open_stream: {text}", leaked) from cause

    def load(self, artifact: Artifact, path: str) -> None:
        pytest.skip(f"leaky skip: {'; '.join(spellings(value) for value in self.leaked)}")


def make_driver(artifact: Artifact, secrets: SecretSource, context: DriverContext) -> Leaky:
    return Leaky(artifact, secrets, context)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """As a plugin: a property quoting every server secret (what `record_property` could do)."""
    pool = server_pool(item.config)
    endpoints = pool.endpoints.values() if pool else ()
    values = [v for e in endpoints for k, v in e.credentials.items() if "secret" in k]
    _record(values)
    item.user_properties.append(("leaky", json.dumps(values)))
