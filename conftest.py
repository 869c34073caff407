"""In-repo pytest configuration.

The conformance plugin arrives through its `pytest11` entry point (inert unless a run asks for
it); the kit's own tests also need the server harness, registered here.
"""

pytest_plugins = ["emulators.pytest_plugin"]
