"""Every command line the READMEs show is one the kit accepts, so they cannot drift again.

The lines are read from the Markdown (fenced sh/console blocks and inline `artconf ...` /
`make ...` spans; see tests/doc_commands.py), never listed here. An `artconf` line is parsed by
the real parser with its exact arguments (placeholders such as LOC.yaml, PATH or DIR replaced
by real temporary files and directories; nothing is executed), and its subcommand's `--help`
must work; a `make` line needs its targets in the Makefile; a `pytest` line only options
pytest knows; a `pip install -e` or `PYTHONPATH` only paths that exist.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import build_parser, main
from tests.doc_commands import Command, choice_points, extract, make_targets, variants

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "examples/minio_driver/README.md")
# A line shown twice (`artconf run` inline in two paragraphs) is checked once.
COMMANDS = list(
    {str(c): c for doc in DOCUMENTS for c in extract((ROOT / doc).read_text("utf-8"), doc)}.values()
)
CHECKED_PROGRAMS = ("artconf", "make", "pytest", "pip")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*(\.[A-Za-z0-9]+)?$")
#: Placeholders that stand for a name, not a path.
NAMED_PLACEHOLDERS = {"KIND": "s3"}


def of(program: str) -> list[Command]:
    return [c for c in COMMANDS if c.program == program]


def ids(commands: list[Command]) -> list[str]:
    return [str(c) for c in commands]


# --- artconf lines ------------------------------------------------------------------------


def fill(argv: list[str], tmp_path: Path) -> list[str]:
    """The argument list with each placeholder replaced by a real file, directory or name."""
    out = []
    for word in argv:
        if not PLACEHOLDER.match(word):
            out.append(word)
        elif word in NAMED_PLACEHOLDERS:
            out.append(NAMED_PLACEHOLDERS[word])
        elif word.endswith("DIR"):
            (tmp_path / word).mkdir(exist_ok=True)
            out.append(str(tmp_path / word))
        else:
            (tmp_path / word).touch()
            out.append(str(tmp_path / word))
    return out


def parse(argv: list[str]) -> tuple[argparse.Namespace | None, str]:
    """What the parser makes of argv: (namespace, "") or (None, argparse's error)."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            namespace = build_parser().parse_args(argv)
        except SystemExit:
            return None, " ".join(stderr.getvalue().split()[-30:])
    if not callable(getattr(namespace, "func", None)):
        return None, "it names no command to run"
    return namespace, ""


def artconf_problems(command: Command, tmp_path: Path) -> list[str]:
    """Why the parser refuses `command`; [] when every choice it shows is accepted somewhere."""
    accepted: set[tuple[int, int]] = set()
    first_error = ""
    for argv, picked in variants(command.words[1:]):
        namespace, error = parse(fill(argv, tmp_path))
        if namespace is not None:
            accepted.update(picked)
        elif not first_error:
            first_error = f"`artconf {' '.join(argv)}`: {error}"
    points = choice_points(command.words[1:])
    if not points:
        return [f"{command}: refused: {first_error}"] if first_error else []
    problems = []
    for point, choice in enumerate(points):
        for alternative, words in enumerate(choice.alternatives):
            if (point, alternative) not in accepted:
                shown = " ".join(words) or "(omitted)"
                problems.append(
                    f"{command}: `{shown}` of `{choice.shown}` is refused in every "
                    f"combination; first refusal: {first_error}"
                )
    return problems


@pytest.mark.parametrize("command", of("artconf"), ids=ids(of("artconf")))
def test_artconf_line_is_accepted_by_the_parser(command: Command, tmp_path: Path) -> None:
    problems = artconf_problems(command, tmp_path)
    assert not problems, "\n".join(problems)


def subcommand_path(argv: list[str]) -> list[str]:
    """The leading words of argv that name (sub)commands: ["artifact", "save"]."""
    parser, path = build_parser(), []
    for word in argv:
        subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subparsers or word not in subparsers[0].choices:
            break
        parser = subparsers[0].choices[word]
        path.append(word)
    return path


HELP_PATHS = sorted(
    {
        tuple(subcommand_path(argv))
        for command in of("artconf")
        for argv, _ in variants(command.words[1:])
    }
)


@pytest.mark.parametrize("path", HELP_PATHS, ids=[" ".join(p) for p in HELP_PATHS])
def test_help_of_each_subcommand_shown(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    # Its own help, not its parent's: `artifact save --help` once printed `artifact`'s.
    assert out.startswith(f"usage: artconf {' '.join(path)} "), out[:200]


# --- make, pytest, pip and PYTHONPATH lines -------------------------------------------------

MAKE_RULES = make_targets(ROOT / "Makefile")


@pytest.mark.parametrize("command", of("make"), ids=ids(of("make")))
def test_make_line_names_targets_and_variables_of_the_makefile(
    command: Command, tmp_path: Path
) -> None:
    words = [w for w in command.words[1:] if not w.startswith("-")]
    targets = [w for w in words if "=" not in w]
    assignments = dict(w.split("=", 1) for w in words if "=" in w)
    assert targets, f"{command}: names no target (the default goal is not shown)"
    missing = [t for t in targets if t not in MAKE_RULES]
    assert not missing, f"{command}: the Makefile has no target {', '.join(missing)}"
    for name, value in assignments.items():
        uses = [line for t in targets for line in MAKE_RULES[t] if f"$({name})" in line]
        assert uses, f"{command}: no recipe of {', '.join(targets)} uses $({name})"
        for line in uses:  # the artconf line the variable lands in must accept it
            if "artconf" not in line:
                continue
            words_of_line = line.replace(f"$({name})", value).split()
            start = next(i for i, w in enumerate(words_of_line) if w.endswith("artconf"))
            shown = Command(str(command), line, {}, ("artconf", *words_of_line[start + 1 :]))
            problems = artconf_problems(shown, tmp_path)
            assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def pytest_help() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("command", of("pytest"), ids=ids(of("pytest")))
def test_pytest_line_uses_options_pytest_knows(command: Command, pytest_help: str) -> None:
    options = [w.split("=", 1)[0] for w in command.words[1:] if w.startswith("-")]
    assert options, f"{command}: no option to check"
    unknown = [
        o
        for o in options
        if not re.search(rf"(^|[\s,]){re.escape(o)}([\s=,]|$)", pytest_help, re.M)
    ]
    assert not unknown, f"{command}: pytest --help lists no {', '.join(unknown)}"


@pytest.mark.parametrize("command", of("pip"), ids=ids(of("pip")))
def test_pip_install_line_names_a_project_directory(command: Command) -> None:
    words = list(command.words[1:])
    assert "-e" in words, f"{command}: only `pip install -e DIR` lines are checked"
    project = ROOT / words[words.index("-e") + 1]
    assert (project / "pyproject.toml").is_file(), f"{command}: {project} holds no pyproject.toml"


WITH_PYTHONPATH = [c for c in COMMANDS if "PYTHONPATH" in c.env]


@pytest.mark.parametrize("command", WITH_PYTHONPATH, ids=ids(WITH_PYTHONPATH))
def test_pythonpath_holds_the_target_module(command: Command) -> None:
    entries = [ROOT / p for p in command.env["PYTHONPATH"].split(":")]
    missing = [str(e) for e in entries if not e.is_dir()]
    assert not missing, f"{command}: PYTHONPATH names no directory {', '.join(missing)}"
    targets = [w.split(":")[1] for w in command.words if w.startswith("python:")]
    for module in targets:
        relative = Path(*module.split("."))
        found = [
            e
            for e in entries
            if (e / relative).with_suffix(".py").is_file()
            or (e / relative / "__init__.py").is_file()
        ]
        assert found, f"{command}: no {module} under PYTHONPATH {command.env['PYTHONPATH']}"


# --- the extraction itself ------------------------------------------------------------------


def test_every_document_shows_artconf_commands_and_all_are_checked() -> None:
    for doc in DOCUMENTS:
        assert [c for c in of("artconf") if c.source == doc], f"{doc}: no artconf line found"
    assert of("make"), "README.md: no make line found"
    unchecked = [str(c) for c in COMMANDS if c.program not in CHECKED_PROGRAMS]
    assert not unchecked, "commands of a program no test checks:\n" + "\n".join(unchecked)


SAMPLE = """\
Run `artconf run --report`, or `make report`; `artconf` alone is a name, `ls -l` is not ours.

```sh
$ .venv/bin/artconf artifact save|cat --location LOC.yaml [PATH]   # comment
tar c dir | artconf artifact put-stream --location out.yaml > /dev/null
PYTHONPATH=x artconf emulators up [--tls | --tls both]
```

```
artconf not-a-shell-block
```
"""


def test_extract_reads_fenced_and_inline_commands_with_their_choices() -> None:
    commands = extract(SAMPLE, "sample.md")
    assert [c.words for c in commands] == [
        ("artconf", "run", "--report"),
        ("make", "report"),
        (".venv/bin/artconf", "artifact", "save|cat", "--location", "LOC.yaml", "[PATH]"),
        ("tar", "c", "dir"),
        ("artconf", "artifact", "put-stream", "--location", "out.yaml"),
        ("artconf", "emulators", "up", "[--tls", "|", "--tls", "both]"),
    ]
    assert commands[-1].env == {"PYTHONPATH": "x"}
    up = [argv for argv, _ in variants(commands[-1].words[1:])]
    assert up == [
        ["emulators", "up"],
        ["emulators", "up", "--tls"],
        ["emulators", "up", "--tls", "both"],
    ]


def test_a_refused_line_fails_naming_the_line(tmp_path: Path) -> None:
    # The README's old `artifact save --location LOC.yaml PATH --bogus`-style mistakes.
    (bad,) = extract("```sh\nartconf artifact save --location LOC.yaml PATH --bogus\n```\n", "x.md")
    problems = artconf_problems(bad, tmp_path)
    assert (
        problems and "x.md: artconf artifact save --location LOC.yaml PATH --bogus" in problems[0]
    )
    assert "unrecognized arguments: --bogus" in problems[0]
    (choice,) = extract("```sh\nartconf artifact save|frob --location LOC.yaml PATH\n```\n", "y.md")
    (problem,) = artconf_problems(choice, tmp_path)
    assert "`frob` of `save|frob` is refused" in problem
