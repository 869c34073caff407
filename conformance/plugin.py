"""The artconf pytest plugin, registered through the `pytest11` entry point.

Installing the kit must never change a user's own test runs, so the plugin only adds its
command-line options until a run asks for it with `--artconf-target` (or `ARTCONF_TARGET`).
Only then does it load the server harness and the conformance suites.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("artconf", "artifact-conformance")
    group.addoption(
        "--artconf-target",
        default=None,
        help="driver under test: `reference` or `python:package.module:factory` "
        "(default: $ARTCONF_TARGET; without either the plugin stays inert)",
    )


def target(config: pytest.Config) -> str | None:
    return config.getoption("artconf_target") or os.environ.get("ARTCONF_TARGET") or None


def pytest_configure(config: pytest.Config) -> None:
    if target(config) is None:
        return
    if not config.pluginmanager.has_plugin("emulators.pytest_plugin"):
        config.pluginmanager.import_plugin("emulators.pytest_plugin")
