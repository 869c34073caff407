"""The artconf pytest plugin, registered through the `pytest11` entry point.

Installing the kit must never change a user's own test runs, so this module only adds
command-line options until a run asks for it with `--artconf-target` (or `ARTCONF_TARGET`).
Only then does it load the server harness, the fixtures and the matrix session
(`conformance.session`). Run the suites with:

    pytest --artconf-target reference --pyargs conformance.suites
    pytest --artconf-target python:mypkg.driver:make_driver --pyargs conformance.suites

or `artconf run`, which adds servers, progress, records and the matrix.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    from emulators.pytest_plugin import add_options

    add_options(parser)  # --artconf-servers, --artconf-tls, --artconf-endpoints
    group = parser.getgroup("artconf", "artifact-conformance")
    group.addoption(
        "--artconf-target",
        default=None,
        help="driver under test: `reference` or `python:package.module:factory` "
        "(default: $ARTCONF_TARGET; without either the plugin stays inert)",
    )
    group.addoption(
        "--artconf-backends",
        default=None,
        help="backends to run against, comma-separated: the names of the profiles in "
        "emulators/profiles/ (default: every one)",
    )
    group.addoption(
        "--artconf-drivers",
        default=None,
        help="location types to test, comma-separated (default: every one the backends serve)",
    )
    group.addoption("--artconf-run-dir", default=None, help="write records and logs here")
    group.addoption("--artconf-run-id", default=None, help="the run id written in every record")
    group.addoption("--artconf-shard", default=None, metavar="I/N", help="run shard I of N")
    group.addoption(
        "--artconf-kube",
        default=None,
        choices=("local", "real"),
        help="resolution source `kube`: the local API stand-in (default) or the kubeconfig's "
        "cluster, in a throwaway namespace (default: $ARTCONF_KUBE)",
    )


def target(config: pytest.Config) -> str | None:
    return config.getoption("artconf_target") or os.environ.get("ARTCONF_TARGET") or None


def pytest_configure(config: pytest.Config) -> None:
    from conformance.cases import MARKERS

    for line in MARKERS:  # declared always, so suite modules import cleanly under --strict-markers
        config.addinivalue_line("markers", line)
    name = target(config)
    if name is None:
        return
    from conformance.session import ConformanceSession

    session = ConformanceSession(config, name)  # validates options before servers start
    config.pluginmanager.register(session, "artconf-session")
    config.pluginmanager.import_plugin("conformance.fixtures")
    config.pluginmanager.import_plugin("conformance.redaction")  # secrets out of every report
    if not config.pluginmanager.has_plugin("emulators.pytest_plugin"):
        config.pluginmanager.import_plugin("emulators.pytest_plugin")
