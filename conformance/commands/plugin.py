"""`artconf plugin serve SOCKET`: the reference drivers (or any Python target) as an Argo plugin."""

from __future__ import annotations

import argparse
import os
import sys

from conformance.commands.common import LazyChoices, progress
from emulators.errors import UsageError

DESCRIPTION = """\
Serve artifact drivers as an Argo Workflows artifact plugin (spec 1.4): plaintext gRPC on the
unix socket SOCKET, as Argo starts a plugin (the socket path is its only argument; SIGTERM
ends it with exit 0; the socket's directory is created before bind).

Each request's plugin.configuration is YAML naming the real location with Argo's field names,
and optionally the values of its secrets (otherwise read from the directory in
$ARTCONF_PLUGIN_SECRETS_DIR, default /etc/artifact-plugin/secrets, one file per key as a pod
mounts them):

  s3: {endpoint: minio:9000, bucket: my-bucket, accessKeySecret: {name: s3, key: accessKey}, ...}
  secrets: {s3: {accessKey: ..., secretKey: ...}}

The key travels in plugin.key. The pod environment reaches the drivers as variables:
SSL_CERT_FILE (trusted CAs), STORAGE_EMULATOR_HOST (a GCS endpoint), Argo's EXECUTOR_RETRY_*,
ARTIFACT_S3_UPLOAD_* and ARTIFACT_AZURE_* settings. GetCapabilities reports SaveStream.
Deploying it in a real Argo: docs/plugins.md.
"""


def _factory(args: argparse.Namespace):
    if args.target:
        from conformance.targets import TargetError, parse_target

        try:
            return parse_target(args.target).new_driver
        except TargetError as exc:
            raise UsageError(str(exc)) from None
    from drivers import new_driver
    from drivers.core.errors import BadRequest

    if not args.driver:
        return new_driver

    def only(artifact, secrets, context):
        kinds = artifact.location_types()
        if kinds != [args.driver]:
            got = ", ".join(kinds) or "none"
            raise BadRequest(f"this plugin serves {args.driver} locations only (got {got})")
        return new_driver(artifact, secrets, context)

    return only


def cmd_serve(args: argparse.Namespace) -> int:
    from drivers.plugin import server

    factory = _factory(args)
    what = args.target or f"the reference {args.driver or 'drivers'}"
    code = server.serve(
        args.socket, factory, ready=lambda: progress(f"serving {what} on {args.socket}")
    )
    # A request still running after the grace must not hold the exit: Argo waits for exit 0,
    # and the kubelet kills a container that outlives its own grace. So leave without
    # joining the server's worker threads.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _kinds() -> list[str]:
    from drivers.factory import FACTORY_ORDER

    return [kind for kind, spec in FACTORY_ORDER.items() if spec]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("plugin", help="serve drivers as an Argo artifact plugin (gRPC)")
    plugin_sub = parser.add_subparsers(dest="plugin_command", required=True, metavar="COMMAND")
    serve = plugin_sub.add_parser(
        "serve",
        help="serve the reference drivers or a Python target on a unix socket",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("socket", metavar="SOCKET", help="the unix socket path to listen on")
    which = serve.add_mutually_exclusive_group()
    which.add_argument(
        "--driver",
        metavar="KIND",
        choices=LazyChoices(_kinds),
        help="serve only this reference driver (%(choices)s); default: every one",
    )
    which.add_argument(
        "--target",
        metavar="TARGET",
        help="serve a Python driver instead: python:package.module:factory",
    )
    serve.set_defaults(func=cmd_serve)
