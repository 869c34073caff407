"""The names `artconf --help` lists, without importing the modules that define them.

Importing `emulators.fleet` (every server module, TLS, the launcher) or `emulators.tools`
only to print these names would cost the command line most of its start-up; a kit test
(tests/test_cli_startup.py) keeps each copy equal to its source.
"""

from __future__ import annotations

#: The keys of `emulators.fleet.SERVERS`, in its order.
SERVER_NAMES = (
    "minio", "moto", "azurite", "fake-gcs", "nginx", "nginx-mtls", "kube",
    "git-http", "git-daemon", "git-ssh", "hdfs", "oss",
)  # fmt: skip
#: `emulators.tools.ALL_TOOLS`.
TOOL_NAMES = (
    "minio", "moto", "azurite", "fake-gcs", "nginx", "kube", "argo-go", "actionlint",
    "git", "fcgiwrap", "sshd", "hdfs",
)  # fmt: skip
