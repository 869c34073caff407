"""What every command shares: progress on stderr, list options, exit codes, lazy parser data.

Command modules are imported for every `artconf` invocation (to build the parser), so at top
level they import only this module, argparse and the standard library; the kit's heavy modules
(the SDKs, the server fleet, pytest, pandas) are imported inside the functions that need them.
`LazyChoices` and `module_doc` let a parser show such a module's data without importing it
until a user asks for that command's help or gives it a value to check.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def split_list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


class LazyChoices(Sequence[str]):
    """An argparse `choices` computed on first use: when a value is checked or help is shown.

    argparse only tests membership and iterates, so the (expensive) computation is deferred
    until the option's own command runs, never for `artconf --help` or another command. Give
    the option a `metavar` (and `%(choices)s` in its help): without one, argparse formats the
    choices as the option is added, which would compute them at once.
    """

    def __init__(self, compute: Callable[[], Sequence[str]]) -> None:
        self._compute = compute
        self._values: list[str] | None = None

    def _get(self) -> list[str]:
        if self._values is None:
            self._values = list(self._compute())
        return self._values

    def __getitem__(self, index):  # type: ignore[override]
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __contains__(self, value: object) -> bool:
        return value in self._get()

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())


def module_doc(name: str) -> str:
    """The docstring of module `name`, read from its source without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return ""
    source = Path(spec.origin).read_text(encoding="utf-8")
    return ast.get_docstring(ast.parse(source), clean=False) or ""
