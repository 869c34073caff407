"""The server-log lines written while a case ran (issue 12: being written)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from emulators.endpoint import Endpoint


class LogWindow:
    def __init__(self, endpoint_of: Callable[[pytest.Item], Endpoint | None]):
        self.endpoint_of = endpoint_of
