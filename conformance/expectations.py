"""Strict xfails that absorb only the failure they declare (issue 12: being written).

The session stores the `Expect` decision of a case in `item.stash[EXPECTED]`; this plugin
reads it when the case's report is made.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.decision import Expect

EXPECTED = pytest.StashKey[Expect]()


class ExpectationCheck:
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]):
        yield
