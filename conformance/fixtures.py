"""Fixtures of an artconf run (registered only when the plugin is active)."""

from __future__ import annotations

import pytest

from conformance.store import Backend, Store


@pytest.fixture
def artconf_backend(request: pytest.FixtureRequest, artconf_server) -> Backend:
    """The backend (a column: backend and mode) of this case; parametrized by the session."""
    session = request.config.pluginmanager.get_plugin("artconf-session")
    return session.backend(request.param, artconf_server)


@pytest.fixture
def store(artconf_backend: Backend, request: pytest.FixtureRequest, tmp_path) -> Store:
    """A fresh bucket on the case's backend, with the target's driver; removed afterwards."""
    session = request.config.pluginmanager.get_plugin("artconf-session")
    created = Store(artconf_backend, session.target, tmp_path, request.node)
    yield created
    created.close()
