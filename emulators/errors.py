"""Errors of the servers' command line that must be importable without loading any server.

`artconf` catches `UsageError` for every command, so its class lives here, apart from the
fleet (whose imports start the TLS, launcher and server modules); `emulators.fleet` re-exports
it for the code that has always imported it from there.
"""

from __future__ import annotations


class UsageError(ValueError):
    """Bad names or modes given by a user; the message lists the valid choices."""
