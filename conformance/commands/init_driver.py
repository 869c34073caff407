"""`artconf init-driver KIND DIR`: a driver package to start from, declaration filled in.

It writes DIR/<package>/driver.py (the factory `make_driver`, with `kinds` and Argo's own
capability set for KIND, and the seven methods each raising ERR_NOT_IMPLEMENTED with a TODO),
DIR/<package>/__init__.py, DIR/pyproject.toml and DIR/README.md with the one command that runs
it through the matrix. The package is named after DIR. Nothing is ever overwritten: a file
that exists already stops the command before anything is written.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from pathlib import Path

from conformance.commands.common import EXIT_OK, EXIT_USAGE

# conformance.kinds, .capabilities and .profiles load the reference drivers: imported in the
# functions below, so that `artconf --help` (which imports this module) does not pay for them.

GUIDE = "docs/driver-guide.md"

# (method, its signature, the TODO line): the contract of drivers/base.py, in its order.
METHODS = (
    ("load", "self, artifact: Artifact, path: str) -> None", "download the object at the "
     "artifact's key to `path`; a key with objects under `key/` is a directory: load the tree"),
    ("open_stream", "self, artifact: Artifact) -> BinaryIO", "return a readable binary stream "
     "of the object; a directory is Unimplemented, a missing key NotFound"),
    ("save", "self, path: str, artifact: Artifact) -> None", "upload the file at `path` to "
     "exactly the key; a directory: one object per regular file under `key/`"),
    ("save_stream", "self, stream: BinaryIO, artifact: Artifact) -> None", "upload from a "
     "one-way stream, never retried with it; a failure midway leaves no object"),
    ("delete", "self, artifact: Artifact) -> None", "delete the object `key` and every object "
     "under `key/`; a missing key is a success"),
    ("list_objects", "self, artifact: Artifact) -> list[str]", "return the full keys under "
     "`key/` (no folder markers, no siblings); [] for a plain file, NotFound if nothing"),
    ("is_directory", "self, artifact: Artifact) -> bool", "True exactly when objects exist "
     "under `key/` (never for siblings such as `keyx`)"),
)  # fmt: skip

DRIVER = '''"""A driver for Argo Workflows' `{kind}` artifacts (from `artconf init-driver`).

The contract of each method, its errors and the capability names: {guide} in the
artifact-conformance kit. Every method raises ERR_NOT_IMPLEMENTED until it is written.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from drivers.core.errors import Unimplemented

# What Argo's own {kind} driver supports. Remove what your driver does not do: an undeclared
# capability is skipped (unsupported-by-driver), a declared one that fails fails the run.
CAPABILITIES = [
{capabilities}
]

Artifact = Any  # drivers.core.model.Artifact: the location is artifact.{kind}


def make_driver(artifact: Artifact, secrets: Any, context: Any) -> {cls}:
    """The target's factory: python:{package}.driver:make_driver."""
    return {cls}(artifact, secrets, context)


make_driver.kinds = ["{kind}"]
make_driver.capabilities = CAPABILITIES


class {cls}:
    def __init__(self, artifact: Artifact, secrets: Any, context: Any):
        # TODO: build the client from artifact.{kind} (endpoint, bucket, credentials through
        # secrets.get(name, key)) and context (ca_bundle, settings, temp_dir, sleep).
        self.location = artifact.{kind}
        self.secrets = secrets
        self.context = context
{methods}
    def close(self) -> None:
        """Release clients and private files; safe to call twice."""
'''

METHOD = """
    def {name}({signature}:
{todo}
        raise Unimplemented("{package}: {name} is not written yet")
"""

README = """# {package}

A driver for Argo Workflows' `{kind}` artifacts, started with `artconf init-driver {kind} {dir}`.
Its contract (signatures, errors, capabilities, how a run decides a cell):
{guide} in the artifact-conformance kit.

Run it through the matrix, from the kit's checkout:

```sh
{command}
```

(or `.venv/bin/pip install -e {dir}` once, then without `PYTHONPATH`). Until a method is
written every case that needs it fails with ERR_NOT_IMPLEMENTED; remove from `CAPABILITIES`
in `{package}/driver.py` what the driver will not do, so those cells read unsupported instead.
"""

PYPROJECT = """[build-system]
requires = ["setuptools>=69", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "{package}"
version = "0.1.0"
description = "A driver for Argo Workflows' {kind} artifacts."
requires-python = ">=3.11"
dependencies = []  # your storage SDK; the kit (drivers.core.errors) is installed beside it

[tool.setuptools.packages.find]
include = ["{package}*"]
"""


class InitError(ValueError):
    """A KIND or DIR that cannot be used; the message says what to do."""


def _comment(text: str) -> str:
    return textwrap.fill(
        text, width=96, initial_indent="        # ", subsequent_indent="        # "
    )


def package_name(directory: Path) -> str:
    """A Python package name from DIR's last component: `my-driver` -> `my_driver`."""
    name = re.sub(r"\W", "_", directory.resolve().name).lower().strip("_")
    if not name or name[0].isdigit():
        name = f"driver_{name}".rstrip("_")
    return name


def class_name(package: str) -> str:
    return "".join(part.capitalize() for part in package.split("_") if part) + "Driver"


def backends_of(kind: str) -> list[str]:
    from conformance.profiles import load_profiles

    return sorted(name for name, profile in load_profiles().items() if profile.driver == kind)


def run_command(directory: Path, package: str, kind: str) -> str:
    """The one command that runs the skeleton through the matrix."""
    backends = ",".join(backends_of(kind)) or kind
    return (
        f"PYTHONPATH={directory} .venv/bin/artconf run "
        f"--target python:{package}.driver:make_driver --backends {backends}"
    )


def skeleton(kind: str, directory: Path) -> dict[Path, str]:
    """The files to write, by path."""
    from conformance.capabilities import Capability, argo_capabilities

    package = package_name(directory)
    order = list(Capability)
    capabilities = sorted(argo_capabilities(kind), key=order.index)
    methods = "".join(
        METHOD.format(
            name=name, signature=signature, todo=_comment(f"TODO: {todo}."), package=package
        )
        for name, signature, todo in METHODS
    )
    values = {
        "kind": kind,
        "package": package,
        "cls": class_name(package),
        "dir": str(directory),
        "guide": GUIDE,
        "backends": ",".join(backends_of(kind)) or kind,
        "capabilities": "\n".join(f'    "{c.value}",' for c in capabilities),
        "methods": methods,
        "command": run_command(directory, package, kind),
    }
    return {
        directory / "README.md": README.format(**values),
        directory / "pyproject.toml": PYPROJECT.format(**values),
        directory / package / "__init__.py": f'"""A driver for Argo\'s `{kind}` artifacts."""\n',
        directory / package / "driver.py": DRIVER.format(**values),
    }


def init_driver(kind: str, directory: Path) -> list[Path]:
    from conformance import kinds

    known = kinds.all_kinds()
    if kind not in known:
        raise InitError(f"KIND {kind!r}: unknown; known kinds: {', '.join(known)}")
    if directory.exists() and not directory.is_dir():
        raise InitError(f"DIR {directory}: exists and is not a directory")
    files = skeleton(kind, directory)
    existing = [str(path) for path in files if path.exists()]
    if existing:
        raise InitError(
            f"DIR {directory}: would overwrite {', '.join(existing)}; nothing was written "
            "(pick another DIR or remove those files)"
        )
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)


def cmd_init_driver(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    try:
        written = init_driver(args.kind, directory)
    except InitError as exc:
        print(f"artconf: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"artconf: error: DIR {directory}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    for path in written:
        print(path)
    command = run_command(directory, package_name(directory), args.kind)
    print(f"\nnext: {command}", file=sys.stderr)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "init-driver",
        help="write a driver skeleton for a location kind, declaration filled in",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  artconf init-driver s3 ./my-s3-driver\n"
        "  PYTHONPATH=./my-s3-driver .venv/bin/artconf run "
        "--target python:my_s3_driver.driver:make_driver --backends minio",
    )
    parser.add_argument("kind", metavar="KIND", help="location kind: s3, gcs, azure, ...")
    parser.add_argument("dir", metavar="DIR", help="where to write the package (created)")
    parser.set_defaults(func=cmd_init_driver)
