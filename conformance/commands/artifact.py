"""`artconf artifact`: one Argo artifact, moved with the reference drivers.

`LOC.yaml` is one artifact as written in a Workflow (`name`, a location such as `s3:`, and
optionally `archive:`). `save`/`load` go through the executor's staging (archive, key
derivation, unarchive), `cat`/`put-stream` through the drivers' streams.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from drivers import new_driver
from drivers.core.context import DriverContext
from drivers.core.errors import ArtifactError, BadRequest, Code
from drivers.core.executor import StagingContext, load_input, save_output
from drivers.core.model import parse_artifact
from drivers.core.secrets import DirectorySecretSource, MemorySecretSource

# Exit codes by Argo error code; usage errors are 2 as well (argparse's own).
EXIT_CODES = {
    Code.INTERNAL: 1,
    Code.BAD_REQUEST: 2,
    Code.NOT_FOUND: 3,
    Code.UNAUTHORIZED: 4,
    Code.FORBIDDEN: 4,
    Code.NOT_IMPLEMENTED: 5,
}
OVERRIDABLE = ("gcs",)
CHUNK = 1024 * 1024


def _read_location(path: str):
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise BadRequest(f"--location {path}: {exc.strerror}") from None
    return parse_artifact(text)


def _context(args: argparse.Namespace) -> DriverContext:
    overrides = {}
    for item in args.endpoint_override or []:
        service, sep, url = item.partition("=")
        if not sep or service not in OVERRIDABLE or not url:
            raise BadRequest(
                f"--endpoint-override {item!r}: expected SERVICE=URL with SERVICE one of "
                f"{', '.join(OVERRIDABLE)} (S3 and Azure take `endpoint` from the artifact)",
            )
        overrides[f"{service}_endpoint"] = url
    if args.ca_bundle:
        if not Path(args.ca_bundle).is_file():
            raise BadRequest(f"--ca-bundle {args.ca_bundle}: no such file")
        overrides["ca_bundle"] = args.ca_bundle
    return DriverContext.from_environment(**overrides)


def _secrets(args: argparse.Namespace):
    return DirectorySecretSource(args.secrets_dir) if args.secrets_dir else MemorySecretSource({})


def run(args: argparse.Namespace) -> int:
    artifact = _read_location(args.location)
    context = _context(args)
    with new_driver(artifact, _secrets(args), context) as driver:
        action = args.action
        if action in ("save", "load") and not args.path:
            raise BadRequest(f"artifact {action} needs a PATH")
        if action == "save":
            with tempfile.TemporaryDirectory(prefix="artconf-stage-") as stage:
                saved = save_output(driver, args.path, artifact, StagingContext(Path(stage)))
            if saved is not None:
                print(saved.get_key())
        elif action == "load":
            with tempfile.TemporaryDirectory(prefix="artconf-stage-") as stage:
                load_input(driver, artifact, args.path, StagingContext(Path(stage)))
        elif action == "cat":
            stream = driver.open_stream(artifact)
            try:
                shutil.copyfileobj(stream, sys.stdout.buffer, CHUNK)
                sys.stdout.buffer.flush()
            finally:
                stream.close()
        elif action == "put-stream":
            driver.save_stream(sys.stdin.buffer, artifact)
        elif action == "ls":
            for key in driver.list_objects(artifact):
                print(key)
        elif action == "isdir":
            print("true" if driver.is_directory(artifact) else "false")
        elif action == "rm":
            driver.delete(artifact)
    return 0


def cmd_artifact(args: argparse.Namespace) -> int:
    try:
        return run(args)
    except ArtifactError as exc:
        print(f"artconf: {exc.code.name}: {exc}", file=sys.stderr)
        return EXIT_CODES.get(exc.code, 1)
    except BrokenPipeError:  # `artconf artifact cat ... | head`
        return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "artifact",
        help="move one Argo artifact with the reference drivers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes: 0 ok, 1 INTERNAL, 2 BAD_REQUEST or usage, 3 NOT_FOUND, "
        "4 UNAUTHORIZED or FORBIDDEN, 5 NOT_IMPLEMENTED",
    )
    parser.add_argument(
        "action",
        choices=("save", "load", "cat", "put-stream", "ls", "isdir", "rm"),
        help="save PATH: stage and upload; load PATH: download and unarchive; cat: stream to "
        "stdout; put-stream: upload stdin; ls: list keys; isdir: true/false; rm: delete",
    )
    parser.add_argument("path", nargs="?", help="local file or directory (save, load)")
    parser.add_argument(
        "--location",
        required=True,
        metavar="LOC.yaml",
        help="one Argo artifact as written in a Workflow",
    )
    parser.add_argument(
        "--secrets-dir",
        metavar="DIR",
        help="secrets laid out as Argo mounts them: DIR/<secret name>/<key>",
    )
    parser.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="PEM bundle to trust (default: the OS bundle; S3's caSecret wins)",
    )
    parser.add_argument(
        "--endpoint-override",
        action="append",
        metavar="SERVICE=URL",
        help="endpoint for a service without an Argo field for it: gcs=URL",
    )
    parser.set_defaults(func=cmd_artifact)
