"""`artconf artifact ACTION`: one Argo artifact, moved with the reference drivers or your own.

`LOC.yaml` is one artifact as written in a Workflow (`name`, a location such as `s3:`, and
optionally `archive:`). `save`/`load` go through the executor's staging (archive, key
derivation, unarchive), `cat`/`put-stream` through the driver's streams. `--target` picks the
driver: `reference` (default) or `python:package.module:factory`, as for `artconf run`.

Each action is a subcommand with its own `--help`; options and PATH go in any order.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The kit's drivers and targets load the storage SDKs: they are imported in the functions that
# use them, so that building the parser (every `artconf` invocation) does not pay for them.
if TYPE_CHECKING:
    from conformance.targets import Target
    from drivers.core.context import DriverContext
    from drivers.core.model import Artifact

# Exit codes by Argo error code; usage errors are 2 as well (argparse's own). Keyed by the
# codes' values: `drivers.core.errors.Code` is a StrEnum, so `EXIT_CODES[Code.NOT_FOUND]` works
# without importing it here (a kit test keeps the keys equal to Code's values).
EXIT_CODES = {
    "ERR_INTERNAL": 1,
    "ERR_BAD_REQUEST": 2,
    "ERR_NOT_FOUND": 3,
    "ERR_UNAUTHORIZED": 4,
    "ERR_FORBIDDEN": 4,
    "ERR_NOT_IMPLEMENTED": 5,
}
EXIT_EPILOG = (
    "exit codes: 0 ok, 1 INTERNAL, 2 BAD_REQUEST or usage, 3 NOT_FOUND,\n"
    "            4 UNAUTHORIZED or FORBIDDEN, 5 NOT_IMPLEMENTED"
)
OVERRIDABLE = ("gcs",)
CHUNK = 1024 * 1024


# --- the actions ---------------------------------------------------------------------------


def _save(driver: Any, artifact: Artifact, args: argparse.Namespace) -> None:
    from drivers.core.executor import StagingContext, save_output

    with tempfile.TemporaryDirectory(prefix="artconf-stage-") as stage:
        saved = save_output(driver, args.path, artifact, StagingContext(Path(stage)))
    if saved is not None:
        print(saved.get_key())


def _load(driver: Any, artifact: Artifact, args: argparse.Namespace) -> None:
    from drivers.core.executor import StagingContext, load_input

    with tempfile.TemporaryDirectory(prefix="artconf-stage-") as stage:
        load_input(driver, artifact, args.path, StagingContext(Path(stage)))


def _cat(driver: Any, artifact: Artifact, args: argparse.Namespace) -> None:
    stream = driver.open_stream(artifact)
    try:
        shutil.copyfileobj(stream, sys.stdout.buffer, CHUNK)
        sys.stdout.buffer.flush()
    finally:
        stream.close()


def _put_stream(driver: Any, artifact: Artifact, args: argparse.Namespace) -> None:
    driver.save_stream(sys.stdin.buffer, artifact)


def _ls(driver: Any, artifact: Artifact, args: argparse.Namespace) -> None:
    for key in driver.list_objects(artifact):
        print(key)


def _isdir(driver: Any, artifact: Artifact, args: argparse.Namespace) -> None:
    print("true" if driver.is_directory(artifact) else "false")


def _rm(driver: Any, artifact: Artifact, args: argparse.Namespace) -> None:
    driver.delete(artifact)


@dataclass(frozen=True)
class Action:
    name: str
    run: Callable[[Any, Artifact, argparse.Namespace], None]
    summary: str  # one line, for `artconf artifact --help`
    description: str
    example: str
    path_help: str = ""  # set: the action takes a PATH


ACTIONS = (
    Action(
        "save",
        _save,
        "stage a local file or directory (archive, key) and upload it",
        "Stage PATH as the executor does (tar.gz unless `archive:` says otherwise; the key "
        "from the location), upload it, and print the key it landed at.",
        "artconf artifact save --location out.yaml ./result.txt",
        path_help="local file or directory to save",
    ),
    Action(
        "load",
        _load,
        "download an artifact to a local path (unarchived)",
        "Download the artifact to PATH as the executor does for an input: unpack a tar.gz or "
        "zip, load a directory key as a tree.",
        "artconf artifact load --location in.yaml ./input",
        path_help="where to write the file or directory",
    ),
    Action(
        "cat",
        _cat,
        "stream the object to stdout",
        "Stream the artifact's bytes to stdout through the driver's open_stream (a directory "
        "is NOT_IMPLEMENTED, exit 5).",
        "artconf artifact cat --location out.yaml | head",
    ),
    Action(
        "put-stream",
        _put_stream,
        "upload stdin to the artifact's key",
        "Upload stdin through the driver's save_stream, to exactly the location's key.",
        "tar c dir | artconf artifact put-stream --location out.yaml",
    ),
    Action(
        "ls",
        _ls,
        "list the full keys of the objects inside the artifact",
        "Print the full keys under the artifact's key (list_objects), one a line.",
        "artconf artifact ls --location out.yaml",
    ),
    Action(
        "isdir",
        _isdir,
        "print true when the key is a directory",
        "Print `true` when objects exist under the key + '/' (is_directory), else `false`.",
        "artconf artifact isdir --location out.yaml",
    ),
    Action(
        "rm",
        _rm,
        "delete the artifact (file or directory)",
        "Delete the artifact as artifact GC does: the object and everything under key + '/'; "
        "a missing key is a success.",
        "artconf artifact rm --location out.yaml",
    ),
)


# --- running one --------------------------------------------------------------------------


def _read_location(path: str) -> Artifact:
    from drivers.core.errors import BadRequest
    from drivers.core.model import parse_artifact

    try:
        text = Path(path).read_text(encoding="utf-8")
    except IsADirectoryError:
        raise BadRequest(f"--location {path}: is a directory; give one artifact's YAML") from None
    except UnicodeDecodeError:
        raise BadRequest(f"--location {path}: not UTF-8 text; give one artifact's YAML") from None
    except OSError as exc:
        raise BadRequest(f"--location {path}: {exc.strerror}") from None
    try:
        return parse_artifact(text)
    except BadRequest as exc:  # name the file: the message names the field
        raise BadRequest(f"--location {path}: {exc}") from None


def _context(args: argparse.Namespace) -> DriverContext:
    from drivers.core.context import DriverContext
    from drivers.core.errors import BadRequest

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
    from drivers.core.errors import BadRequest
    from drivers.core.secrets import DirectorySecretSource, MemorySecretSource

    if not args.secrets_dir:
        return MemorySecretSource({})
    if not Path(args.secrets_dir).is_dir():
        raise BadRequest(
            f"--secrets-dir {args.secrets_dir}: no such directory; "
            "lay secrets out as DIR/<secret name>/<key>"
        )
    return DirectorySecretSource(args.secrets_dir)


def _target(text: str) -> Target:
    from conformance.targets import TargetError, parse_target
    from drivers.core.errors import BadRequest

    try:
        return parse_target(text)
    except TargetError as exc:
        raise BadRequest(f"--target: {exc}") from None


def run(args: argparse.Namespace) -> int:
    action: Action = args.artifact_action
    target = _target(args.target)
    artifact = _read_location(args.location)
    driver = target.new_driver(artifact, _secrets(args), _context(args))
    try:
        action.run(driver, artifact, args)
    finally:
        driver.close()
    return 0


def cmd_artifact(args: argparse.Namespace) -> int:
    from drivers.core.errors import ArtifactError

    try:
        return run(args)
    except ArtifactError as exc:
        print(f"artconf: {exc.code.name}: {exc}", file=sys.stderr)
        return EXIT_CODES.get(exc.code, 1)
    except BrokenPipeError:  # `artconf artifact cat ... | head`
        return 0


# --- the parser ---------------------------------------------------------------------------


def _common_options() -> argparse.ArgumentParser:
    """The options every action takes (a parent parser: each subcommand lists them)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--location",
        required=True,
        metavar="LOC.yaml",
        help="one Argo artifact as written in a Workflow (name; a location: s3:, gcs:, "
        "azure:, http:, artifactory:, git: (load only) or raw:; archive:)",
    )
    common.add_argument(
        "--target",
        default="reference",
        metavar="TARGET",
        help="the driver: reference (default) or python:package.module:factory",
    )
    common.add_argument(
        "--secrets-dir",
        metavar="DIR",
        help="secrets laid out as Argo mounts them: DIR/<secret name>/<key>",
    )
    common.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="PEM bundle to trust (default: the OS bundle; S3's caSecret wins)",
    )
    common.add_argument(
        "--endpoint-override",
        action="append",
        metavar="SERVICE=URL",
        help="endpoint for a service without an Argo field for it: gcs=URL",
    )
    return common


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "artifact",
        help="move one Argo artifact with the reference drivers or your own",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXIT_EPILOG,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = _common_options()
    for action in ACTIONS:
        one = actions.add_parser(
            action.name,
            parents=[common],
            help=action.summary,
            description=textwrap.fill(action.description, width=88),
            epilog=f"example:\n  {action.example}\n\n{EXIT_EPILOG}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if action.path_help:
            one.add_argument("path", metavar="PATH", help=action.path_help)
        one.set_defaults(func=cmd_artifact, artifact_action=action)
