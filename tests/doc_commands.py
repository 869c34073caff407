"""The command lines a Markdown document shows, as argument lists a test can check.

A document shows commands in fenced `sh`/`console` blocks (one a line, `$ ` prompts and
`# comments` allowed) and inline (`` `artconf run --report` ``, `` `make report` ``). A line
may offer choices: `[--json]` is optional, `[--tls | --tls both]` picks one or none,
`save|load|cat` picks one word. `variants()` expands those into plain argument lists; a line
is right when each choice it offers is accepted in at least one of them.
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import mistune

SHELL_BLOCKS = frozenset({"sh", "shell", "bash", "console"})
#: Programs whose inline spans count as commands (a fenced line counts whatever it runs).
INLINE_PROGRAMS = frozenset({"artconf", "make"})
SHELL_SEPARATORS = frozenset({"|", "||", "&&", ";"})
REDIRECTIONS = frozenset({">", ">>", "<", "2>", "2>&1"})
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Command:
    """One command of a document: the line as shown, its environment and its words."""

    source: str  # the document, for messages
    line: str  # the line as the document shows it
    env: dict[str, str] = field(hash=False)  # VAR=value words before the program
    words: tuple[str, ...]  # the program and its arguments, choices still unexpanded

    @property
    def program(self) -> str:
        return Path(self.words[0]).name

    def __str__(self) -> str:  # the line without its comment and column padding
        env = [f"{name}={value}" for name, value in self.env.items()]
        shown = (shlex.quote(w) if " " in w else w for w in [*env, *self.words])
        return f"{self.source}: {' '.join(shown)}"


@dataclass(frozen=True)
class Choice:
    """One place where a line offers alternatives (each a list of words; [] means omitted)."""

    shown: str
    alternatives: tuple[tuple[str, ...], ...]


def extract(text: str, source: str) -> list[Command]:
    """Every command line of Markdown `text`, in document order."""
    lines: list[tuple[str, bool]] = []  # (line, from a fenced shell block)
    parse = mistune.create_markdown(renderer=None, plugins=["table"])
    _collect(parse(text), lines)
    commands: list[Command] = []
    for line, fenced in lines:
        for command in split_line(line, source):
            if fenced or (command.program in INLINE_PROGRAMS and len(command.words) > 1):
                commands.append(command)
    return commands


def _collect(tokens: list[dict], lines: list[tuple[str, bool]]) -> None:
    for token in tokens:
        if token["type"] == "block_code":
            info = ((token.get("attrs") or {}).get("info") or "").split()
            if info and info[0] in SHELL_BLOCKS:
                lines.extend((line, True) for line in _logical_lines(token["raw"]))
        elif token["type"] == "codespan":
            lines.append((token["raw"], False))
        _collect(token.get("children") or [], lines)


def _logical_lines(block: str) -> list[str]:
    """A block's command lines: continuations joined, prompts removed, blank lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("$ "):
            line = line[2:]
        if line and not line.startswith("#"):
            out.append(line)
    return out


def split_line(line: str, source: str) -> list[Command]:
    """The commands of one shell line: split at pipes and `;`, redirections dropped."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:  # unbalanced quotes: prose in backquotes, not a command
        return []
    commands: list[Command] = []
    segment: list[str] = []
    for word in [*words, ";"]:
        if word in SHELL_SEPARATORS and not _inside_brackets(segment):
            command = _command(segment, line, source)
            if command is not None:
                commands.append(command)
            segment = []
        else:
            segment.append(word)
    return commands


def _inside_brackets(words: list[str]) -> bool:
    """True in `[--tls | --tls both]` after `[--tls`: that `|` separates choices, not commands."""
    depth = 0
    for word in words:
        depth += word.count("[") - word.count("]")
    return depth > 0


def _command(words: list[str], line: str, source: str) -> Command | None:
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in REDIRECTIONS:
            skip = word != "2>&1"  # the next word is the file
        else:
            kept.append(word)
    env = {}
    while kept and ASSIGNMENT.match(kept[0]):
        name, _, value = kept.pop(0).partition("=")
        env[name] = value
    if not kept:
        return None
    return Command(source=source, line=line, env=env, words=tuple(kept))


def choices(words: tuple[str, ...]) -> list[str | Choice]:
    """The words with every choice point as a `Choice` (a plain word stays a str)."""
    out: list[str | Choice] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("["):
            group = [word]
            while not group[-1].endswith("]") and i + 1 < len(words):
                i += 1
                group.append(words[i])
            inner = " ".join(group)[1:-1].split()
            options: list[tuple[str, ...]] = [()]
            current: list[str] = []
            for part in [*inner, "|"]:
                if part == "|":
                    options.append(tuple(current))
                    current = []
                else:
                    current.append(part)
            out.append(Choice(" ".join(group), tuple(options)))
        elif "|" in word and word != "|":
            out.append(Choice(word, tuple((w,) for w in word.split("|"))))
        else:
            out.append(word)
        i += 1
    return out


def variants(words: tuple[str, ...]) -> list[tuple[list[str], list[tuple[int, int]]]]:
    """Every plain argument list the words stand for, with the (choice, alternative) it took."""
    parts = choices(words)
    points = [i for i, part in enumerate(parts) if isinstance(part, Choice)]
    ranges = [range(len(parts[i].alternatives)) for i in points]  # type: ignore[union-attr]
    out = []
    for picked in itertools.product(*ranges):
        argv: list[str] = []
        chosen = dict(zip(points, picked, strict=True))
        for i, part in enumerate(parts):
            if isinstance(part, Choice):
                argv.extend(part.alternatives[chosen[i]])
            else:
                argv.append(part)
        out.append((argv, list(enumerate(picked))))
    return out


def choice_points(words: tuple[str, ...]) -> list[Choice]:
    return [part for part in choices(words) if isinstance(part, Choice)]


def make_targets(makefile: Path) -> dict[str, list[str]]:
    """The rules of a Makefile: target -> its recipe lines."""
    rules: dict[str, list[str]] = {}
    current: list[str] = []
    for line in makefile.read_text(encoding="utf-8").splitlines():
        if line.startswith("\t"):
            current.append(line.strip())
            continue
        match = re.match(r"^([A-Za-z0-9_.\-/$() ]+?)\s*:(?!=)", line)
        if match and not line.lstrip().startswith("#"):
            current = []
            for target in match.group(1).split():
                rules.setdefault(target, current)
        elif line.strip() and not line.lstrip().startswith("#"):
            current = []
    return rules
