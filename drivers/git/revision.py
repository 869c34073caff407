"""go-git's ``Repository.ResolveRevision`` (go-git v5.18.0, the version Argo v4.0.5 builds),
ported so that a ``revision`` means for the reference Git driver what it means for Argo.

git's own ``rev-parse`` accepts a larger grammar and resolves some expressions differently, so
it is not used to resolve revisions. What go-git does, and therefore what this module does:

* The revision is parsed by go-git's parser (``internal/revision``): a reference, then ``~n``,
  ``^``, ``^0``..``^2``, ``^{/regexp}`` (``^{/!-regexp}`` negated), ``^{commit}`` ... and
  ``@{...}``, ``:path`` forms. ``^3`` and more, a malformed ``@{date}``, a reference name with a
  space, ``..``, ``*`` ... are refused: :class:`InvalidRevision` ("Revision invalid : ...").
* Only the reference, ``~n``, ``^n`` and ``^{/regexp}`` take part in the resolution; the other
  parsed forms are ignored, so ``v1^{tree}`` is the commit of ``v1``, ``main@{1}`` is ``main``,
  and a revision made of ``@{-1}`` or ``:/text`` alone is "reference not found".
* A reference is tried first as a hash or a hash prefix (of any length, even one character;
  the first commit or tag among the objects with that prefix wins, where git would call the
  prefix ambiguous), then as a name through the rules ``%s``, ``refs/%s``, ``refs/tags/%s``,
  ``refs/heads/%s``, ``refs/remotes/%s``, ``refs/remotes/%s/HEAD``; the first name that reads
  as a reference is taken even if it names no commit (a branch called ``config`` is shadowed
  by ``.git/config``). An annotated tag gives its commit.
* ``~n`` follows first parents; ``^2`` takes the second parent; a missing parent (a shallow
  clone) is "object not found", none at all (the root commit) is "EOF".
* ``^{/regexp}`` walks the history in go-git's pre-order and takes the first commit whose
  message matches (Python's ``re`` stands in for Go's RE2; patterns using what RE2 lacks are
  refused as go-git refuses them).

Objects are read through :class:`ObjectReader` (``git cat-file --batch`` in the driver);
references are read from the ``.git`` directory's files as go-git's ``DotGit`` reads them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# ------------------------------------------------------------------------------ errors


class RevisionError(Exception):
    """A revision that go-git cannot resolve; the message is go-git's error text."""


class InvalidRevision(RevisionError):
    """go-git's ``ErrInvalidRevision``: the revision does not parse."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Revision invalid : {reason}")


class ReferenceNotFound(RevisionError):
    """go-git's ``plumbing.ErrReferenceNotFound``."""

    def __init__(self) -> None:
        super().__init__("reference not found")


class ObjectNotFound(RevisionError):
    """go-git's ``plumbing.ErrObjectNotFound``: an object the walk needs is not in the clone."""

    def __init__(self) -> None:
        super().__init__("object not found")


class NoParent(RevisionError):
    """``io.EOF``: ``~`` or ``^`` asked for a parent of a commit that has none."""

    def __init__(self) -> None:
        super().__init__("EOF")


class NoMessageMatch(RevisionError):
    """``^{/regexp}`` found no commit whose message matches."""


class UnsupportedObject(RevisionError):
    """go-git's ``object.ErrUnsupportedObject``: a tag that does not point at a commit."""

    def __init__(self) -> None:
        super().__init__("unsupported object type")


# ------------------------------------------------------------------------------ the scanner

# go-git's tokens (internal/revision/token.go), in its order.
(
    EOF,
    ASLASH,
    ASTERISK,
    AT,
    CARET,
    CBRACE,
    COLON,
    CONTROL,
    DOT,
    EMARK,
    MINUS,
    NUMBER,
    OBRACE,
    OBRACKET,
    QMARK,
    SLASH,
    SPACE,
    TILDE,
    ERROR,
    WORD,
) = range(20)

_SINGLE = {
    ":": COLON,
    "~": TILDE,
    "^": CARET,
    ".": DOT,
    "/": SLASH,
    "{": OBRACE,
    "}": CBRACE,
    "-": MINUS,
    "@": AT,
    "\\": ASLASH,
    "?": QMARK,
    "*": ASTERISK,
    "[": OBRACKET,
    "!": EMARK,
}

#: go-git reads at most this many bytes of a revision (``maxRevisionLength``).
MAX_REVISION_BYTES = 128 * 1024
_NUL = "\x00"  # Go's zeroRune: what ReadRune returns at the end, and a NUL in the text
_MAX_INT = 2**63 - 1
# Go's unicode.IsSpace for Latin-1 (beyond it, the White_Space property, as str.isspace).
_LATIN1_SPACE = frozenset("\t\n\v\f\r \x85\xa0")


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def _is_number(ch: str) -> bool:
    return unicodedata.category(ch).startswith("N")


def _is_space(ch: str) -> bool:
    return ch in _LATIN1_SPACE if ord(ch) < 0x100 else ch.isspace()


def _atoi(text: str) -> int:
    """Go's ``strconv.Atoi`` with its error ignored: 0 for what is not ASCII digits, the
    largest int for what overflows."""
    if not text.isascii() or not text.isdigit():
        return 0
    return min(int(text), _MAX_INT)


class _Scanner:
    def __init__(self, text: str) -> None:
        data = text.encode("utf-8", "surrogateescape")[:MAX_REVISION_BYTES]
        self._text = data.decode("utf-8", "replace")  # Go reads a bad byte as U+FFFD
        self._at = 0

    def _read(self) -> str:
        if self._at >= len(self._text):
            return _NUL
        ch = self._text[self._at]
        self._at += 1
        return ch

    def _tokenize(self, first: str, kind: int, check) -> tuple[int, str]:
        data = [first]
        while True:
            ch = self._read()
            if ch == _NUL:
                break
            if check(ch):
                data.append(ch)
            else:
                self._at -= 1
                break
        return kind, "".join(data)

    def scan(self) -> tuple[int, str]:
        ch = self._read()
        if ch == _NUL:
            return EOF, ""
        if ch in _SINGLE:
            return _SINGLE[ch], ch
        if _is_space(ch):
            return SPACE, ch
        if unicodedata.category(ch) == "Cc":
            return CONTROL, ch
        if _is_letter(ch):
            return self._tokenize(ch, WORD, _is_letter)
        if _is_number(ch):
            return self._tokenize(ch, NUMBER, _is_number)
        return ERROR, ch


# ------------------------------------------------------------------------------ the parser


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class TildePath:
    depth: int


@dataclass(frozen=True)
class CaretPath:
    depth: int


@dataclass(frozen=True)
class CaretReg:
    regexp: re.Pattern[str]
    negate: bool


@dataclass(frozen=True)
class CaretType:
    object_type: str


@dataclass(frozen=True)
class AtReflog:
    depth: int


@dataclass(frozen=True)
class AtCheckout:
    depth: int


@dataclass(frozen=True)
class AtUpstream:
    pass


@dataclass(frozen=True)
class AtPush:
    pass


@dataclass(frozen=True)
class AtDate:
    date: str


@dataclass(frozen=True)
class ColonReg:
    regexp: re.Pattern[str]
    negate: bool


@dataclass(frozen=True)
class ColonPath:
    path: str


@dataclass(frozen=True)
class ColonStagePath:
    path: str
    stage: int


Item = (
    Ref
    | TildePath
    | CaretPath
    | CaretReg
    | CaretType
    | AtReflog
    | AtCheckout
    | AtUpstream
    | AtPush
    | AtDate
    | ColonReg
    | ColonPath
    | ColonStagePath
)

# Go's time.Parse("2006-01-02T15:04:05Z", ...); a fractional second is accepted when parsing.
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?Z", re.ASCII)
# What Python's re accepts and Go's RE2 refuses ("invalid or unsupported Perl syntax").
_NOT_RE2 = re.compile(r"\(\?[=!]|\(\?<[=!]|\\[1-9]|\(\?P=|\(\?\(")
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid_date(text: str) -> bool:
    match = _DATE.fullmatch(text)
    if not match:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    if not (1 <= month <= 12 and hour < 24 and minute < 60 and second < 60):
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= day <= (_DAYS[month - 1] if month != 2 or leap else 28)


def _compile(pattern: str) -> re.Pattern[str]:
    if _NOT_RE2.search(pattern):
        raise InvalidRevision(
            f"revision suffix brace component, error parsing regexp: invalid or unsupported "
            f"Perl syntax: `{pattern}`"
        )
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidRevision(
            f"revision suffix brace component, error parsing regexp: {exc}"
        ) from None


class _Parser:
    """go-git's ``revision.Parser``, statement for statement (one token of look-back)."""

    def __init__(self, text: str) -> None:
        self._scanner = _Scanner(text)
        self._current: tuple[int, str] = (EOF, "")
        self._unread = False

    def _scan(self) -> tuple[int, str]:
        if self._unread:
            self._unread = False
            return self._current
        self._current = self._scanner.scan()
        return self._current

    def _unscan(self) -> None:
        self._unread = True

    def parse(self) -> list[Item]:
        items: list[Item] = []
        while True:
            tok, _ = self._scan()
            if tok == AT:
                item = self._parse_at()
            elif tok == TILDE:
                item = self._parse_tilde()
            elif tok == CARET:
                item = self._parse_caret()
            elif tok == COLON:
                item = self._parse_colon()
            elif tok == EOF:
                _validate(items)
                return items
            else:
                self._unscan()
                item = self._parse_ref()
            items.append(item)

    def _parse_at(self) -> Item:
        tok, _ = self._scan()
        if tok != OBRACE:
            self._unscan()
            return Ref("HEAD")
        tok, lit = self._scan()
        next_tok, next_lit = self._scan()
        if tok == WORD and lit in ("u", "upstream") and next_tok == CBRACE:
            return AtUpstream()
        if tok == WORD and lit == "push" and next_tok == CBRACE:
            return AtPush()
        if tok == NUMBER and next_tok == CBRACE:
            return AtReflog(_atoi(lit))
        if tok == MINUS and next_tok == NUMBER:
            depth = _atoi(next_lit)
            if self._scan()[0] != CBRACE:
                raise InvalidRevision('missing "}" in @{-n} structure')
            return AtCheckout(depth)
        self._unscan()
        date = lit
        while True:
            tok, lit = self._scan()
            if tok == CBRACE:
                if not _valid_date(date):
                    raise InvalidRevision(
                        f'wrong date "{date}" must fit ISO-8601 format : 2006-01-02T15:04:05Z'
                    )
                return AtDate(date)
            if tok == EOF:
                raise InvalidRevision('missing "}" in @{<data>} structure')
            date += lit

    def _parse_tilde(self) -> Item:
        tok, lit = self._scan()
        if tok == NUMBER:
            return TildePath(_atoi(lit))
        self._unscan()
        return TildePath(1)

    def _parse_caret(self) -> Item:
        tok, lit = self._scan()
        if tok == OBRACE:
            return self._parse_caret_braces()
        if tok == NUMBER:
            depth = _atoi(lit)
            if depth > 2:
                raise InvalidRevision(f'"{lit}" found must be 0, 1 or 2 after "^"')
            return CaretPath(depth)
        self._unscan()
        return CaretPath(1)

    def _parse_caret_braces(self) -> Item:
        start, pattern, negate = True, "", False
        while True:
            tok, lit = self._scan()
            next_tok, _ = self._scan()
            if (
                tok == WORD
                and next_tok == CBRACE
                and lit in ("commit", "tree", "blob", "tag", "object")
            ):
                return CaretType(lit)
            if pattern == "" and tok == CBRACE:
                return CaretType("tag")
            if pattern == "" and tok == EMARK and next_tok == EMARK:
                pattern += lit
            elif pattern == "" and tok == EMARK and next_tok == MINUS:
                negate = True
            elif pattern == "" and tok == EMARK:
                raise InvalidRevision(
                    'revision suffix brace component sequences starting with "/!" others than '
                    "those defined are reserved"
                )
            elif pattern == "" and tok == SLASH:
                self._unscan()
            elif tok != SLASH and start:
                raise InvalidRevision(f'"{lit}" is not a valid revision suffix brace component')
            elif tok == EOF:
                raise InvalidRevision('missing "}" in ^{<data>} structure')
            elif tok != CBRACE:
                self._unscan()
                pattern += lit
            else:  # tok == CBRACE
                self._unscan()
                return CaretReg(_compile(pattern), negate)
            start = False

    def _parse_colon(self) -> Item:
        tok, _ = self._scan()
        if tok == SLASH:
            return self._parse_colon_slash()
        self._unscan()
        return self._parse_colon_default()

    def _parse_colon_slash(self) -> Item:
        pattern, negate = "", False
        while True:
            tok, lit = self._scan()
            next_tok, _ = self._scan()
            if tok == EMARK and next_tok == EMARK:
                pattern += lit
            elif pattern == "" and tok == EMARK and next_tok == MINUS:
                negate = True
            elif pattern == "" and tok == EMARK:
                raise InvalidRevision(
                    'revision suffix brace component sequences starting with "/!" others than '
                    "those defined are reserved"
                )
            elif tok == EOF:
                self._unscan()
                return ColonReg(_compile(pattern), negate)
            else:
                self._unscan()
                pattern += lit

    def _parse_colon_default(self) -> Item:
        path, stage, n = "", 0, -1
        tok, lit = self._scan()
        next_tok, _ = self._scan()
        if tok == NUMBER and next_tok == COLON:
            n = _atoi(lit)
        if n in (0, 1, 2, 3):
            stage = n
        else:
            path += lit
            self._unscan()
        while True:
            tok, lit = self._scan()
            if tok == EOF and n == -1:
                return ColonPath(path)
            if tok == EOF:
                return ColonStagePath(path, stage)
            path += lit

    def _parse_ref(self) -> Item:
        buffer, previous = "", EOF
        while True:
            tok, lit = self._scan()
            end = tok in (EOF, AT, COLON, TILDE, CARET)
            _check_ref_format(tok, lit, previous, buffer, end)
            if end:
                self._unscan()
                return Ref(buffer)
            buffer += lit
            previous = tok


def _check_ref_format(tok: int, lit: str, previous: int, buffer: str, end: bool) -> None:
    if tok in (ASLASH, SPACE, CONTROL, QMARK, ASTERISK, OBRACKET):
        raise InvalidRevision(f'must not contains "{lit}"')
    if tok in (DOT, SLASH) and buffer == "":
        raise InvalidRevision(f'must not start with "{lit}"')
    if previous == SLASH and end:
        raise InvalidRevision('must not end with "/"')
    if previous == DOT and end:
        raise InvalidRevision('must not end with "."')
    if tok == DOT and previous == SLASH:
        raise InvalidRevision('must not contains "/."')
    if previous == DOT and tok == DOT:
        raise InvalidRevision('must not contains ".."')
    if previous == SLASH and tok == SLASH:
        raise InvalidRevision('must not contains consecutively "/"')
    if (tok == SLASH or end) and len(buffer) > 4 and buffer[-5:] == ".lock":
        raise InvalidRevision("cannot end with .lock")


def _validate(items: list[Item]) -> None:
    """go-git's ``validateFullRevision``, early returns included."""
    has_reference = False
    count = len(items)
    for i, item in enumerate(items):
        at_rule = count == 1 or (has_reference and count == 2)
        if isinstance(item, Ref):
            if i != 0:
                raise InvalidRevision("reference must be defined once at the beginning")
            has_reference = True
        elif isinstance(item, AtDate):
            if at_rule:
                return
            raise InvalidRevision(
                '"@" statement is not valid, could be : <refname>@{<ISO-8601 date>}, '
                "@{<ISO-8601 date>}"
            )
        elif isinstance(item, AtReflog):
            if at_rule:
                return
            raise InvalidRevision('"@" statement is not valid, could be : <refname>@{<n>}, @{<n>}')
        elif isinstance(item, AtCheckout):
            if count == 1:
                return
            raise InvalidRevision('"@" statement is not valid, could be : @{-<n>}')
        elif isinstance(item, AtUpstream):
            if at_rule:
                return
            raise InvalidRevision(
                '"@" statement is not valid, could be : <refname>@{upstream}, @{upstream}, '
                "<refname>@{u}, @{u}"
            )
        elif isinstance(item, AtPush):
            if at_rule:
                return
            raise InvalidRevision(
                '"@" statement is not valid, could be : <refname>@{push}, @{push}'
            )
        elif isinstance(item, TildePath | CaretPath | CaretReg):
            if not has_reference:
                raise InvalidRevision(
                    '"~" or "^" statement must have a reference defined at the beginning'
                )
        elif isinstance(item, ColonReg):
            if count == 1:
                return
            raise InvalidRevision('":" statement is not valid, could be : :/<regexp>')
        elif isinstance(item, ColonPath):
            if (i == count - 1 and has_reference) or count == 1:
                return
            raise InvalidRevision('":" statement is not valid, could be : <revision>:<path>')
        elif isinstance(item, ColonStagePath):
            if count == 1:
                return
            raise InvalidRevision('":" statement is not valid, could be : :<n>:<path>')


def parse_revision(text: str) -> list[Item]:
    """The items of ``text`` as go-git parses them; :class:`InvalidRevision` if it does not."""
    return _Parser(text).parse()


# ------------------------------------------------------------------------------ objects and refs


class ObjectReader(Protocol):
    """Read access to a repository's objects (``git cat-file`` in the driver)."""

    def read(self, oid: str) -> tuple[str, bytes] | None:
        """``(type, content)`` of the object with the full hex id ``oid``, None if absent."""
        ...

    def with_prefix(self, prefix: str) -> list[str]:
        """The full ids of every object whose id starts with lower-case hex ``prefix``, sorted."""
        ...


@dataclass(frozen=True)
class Commit:
    oid: str
    parents: tuple[str, ...]
    message: str


ZERO_HASH = "0" * 40
_MAX_RESOLVE_RECURSION = 1024  # go-git's storer.MaxResolveRecursion
_RULES = (
    "%s",
    "refs/%s",
    "refs/tags/%s",
    "refs/heads/%s",
    "refs/remotes/%s",
    "refs/remotes/%s/HEAD",
)
_HEX = frozenset("0123456789abcdefABCDEF")


def new_hash(text: str) -> str:
    """go-git's ``plumbing.NewHash``: the hex pairs up to the first bad one, zero-padded to
    20 bytes (so ``FETCH_HEAD``-like lines read as their first hash, garbage as zeros)."""
    pairs = []
    for i in range(0, len(text) - 1, 2):
        pair = text[i : i + 2]
        if not (pair[0] in _HEX and pair[1] in _HEX):
            break
        pairs.append(pair.lower())
    return ("".join(pairs[:20]) + ZERO_HASH)[:40]


@dataclass(frozen=True)
class Reference:
    name: str
    target: str  # a hash, or the name a symbolic reference points to
    symbolic: bool


class _LookupFailed(Exception):
    pass


class RefStore:
    """go-git's filesystem ``DotGit`` references: a loose file, else ``packed-refs``."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir

    def reference(self, name: str) -> Reference:
        parts = name.split("/")
        if not name or ".." in parts or name.startswith("/"):
            raise _LookupFailed()  # never read outside the repository's .git
        path = self.git_dir.joinpath(*parts)
        try:
            if not path.is_dir():
                content = path.read_bytes()
                if content:
                    return _from_strings(name, content.decode("utf-8", "replace").strip())
        except (OSError, ValueError):
            pass
        return self._packed(name)

    def _packed(self, name: str) -> Reference:
        try:
            lines = (self.git_dir / "packed-refs").read_text("utf-8", "replace").splitlines()
        except OSError:
            raise _LookupFailed() from None
        for line in lines:
            if not line or line[0] in "#^":
                continue
            words = line.split(" ")
            if len(words) != 2:
                raise _LookupFailed()  # ErrPackedRefsBadFormat
            if words[1] == name:
                return _from_strings(words[1], words[0])
        raise _LookupFailed()

    def resolve(self, name: str) -> Reference:
        """``storer.ResolveReference``: follow symbolic references to a hash reference."""
        ref = self.reference(name)
        for _ in range(_MAX_RESOLVE_RECURSION + 2):
            if not ref.symbolic:
                return ref
            ref = self.reference(ref.target)
        raise _LookupFailed()

    def expand(self, name: str) -> Reference | None:
        """go-git's ``expand_ref``: the first rule whose name resolves, or None."""
        for rule in _RULES:
            try:
                return self.resolve(rule % name)
            except _LookupFailed:
                continue
        return None


def _from_strings(name: str, target: str) -> Reference:
    if target.startswith("ref: "):
        return Reference(name, target[len("ref: ") :], symbolic=True)
    return Reference(name, new_hash(target), symbolic=False)


# ------------------------------------------------------------------------------ the resolver


class Resolver:
    """``Repository.ResolveRevision`` over a clone: refs from its ``.git``, objects from
    ``objects``."""

    def __init__(self, git_dir: Path, objects: ObjectReader) -> None:
        self.refs = RefStore(git_dir)
        self.objects = objects

    def resolve(self, revision: str) -> str:
        """The commit hash ``revision`` names, or a :class:`RevisionError` with go-git's text."""
        if revision == "":
            raise ReferenceNotFound()
        commit: Commit | None = None
        for item in parse_revision(revision):
            if isinstance(item, Ref):
                commit = self._reference(item.name)
            elif isinstance(item, CaretPath):
                if item.depth == 0:
                    continue
                parents = self._parents(_required(commit))
                first = _next(parents)
                commit = first if item.depth == 1 else _next(parents)
            elif isinstance(item, TildePath):
                for _ in range(item.depth):
                    commit = _next(self._parents(_required(commit)))
            elif isinstance(item, CaretReg):
                commit = self._search(_required(commit), item.regexp, item.negate)
        if commit is None:
            raise ReferenceNotFound()
        return commit.oid

    def _reference(self, name: str) -> Commit:
        candidates = self._hash_prefix(name)
        expanded = self.refs.expand(name)
        if expanded is not None:
            candidates.append(expanded.target)
        for oid in candidates:
            found = self.objects.read(oid)
            if found is None:
                continue
            kind, content = found
            if kind == "commit":
                return _commit(oid, content)
            if kind == "tag":
                return self._tag_commit(content)
        raise ReferenceNotFound()

    def _hash_prefix(self, text: str) -> list[str]:
        """go-git's ``resolveHashPrefix``: a full hash as is; else the objects whose id starts
        with the even-length hex prefix, filtered by the dangling nybble (case-sensitively)."""
        if text == "":
            return []
        if len(text) == 40:
            return [text.lower()] if all(c in _HEX for c in text) else []
        even = text[: len(text) & ~1]
        if not all(c in _HEX for c in even):
            return []
        candidates = self.objects.with_prefix(even.lower())
        if len(even) == len(text):
            return candidates
        return [oid for oid in candidates if oid.startswith(text)]

    def _tag_commit(self, content: bytes) -> Commit:
        headers = _headers(content)
        if headers.get("type") != "commit":
            raise UnsupportedObject()
        target = new_hash(headers.get("object", ""))
        return self._commit_object(target)

    def _commit_object(self, oid: str) -> Commit:
        found = self.objects.read(oid)
        if found is None or found[0] != "commit":
            raise ObjectNotFound()
        return _commit(oid, found[1])

    def _parents(self, commit: Commit) -> Iterator[Commit]:
        for oid in commit.parents:
            yield self._commit_object(oid)

    def _search(self, start: Commit, regexp: re.Pattern[str], negate: bool) -> Commit:
        """``object.NewCommitPreorderIter`` with the first commit whose message matches."""
        seen: set[str] = set()
        stack: list[Iterator[Commit]] = []
        pending: Commit | None = start
        while True:
            if pending is not None:
                commit, pending = pending, None
            else:
                if not stack:
                    break
                try:
                    commit = next(stack[-1])
                except StopIteration:
                    stack.pop()
                    continue
            if commit.oid in seen:
                continue
            seen.add(commit.oid)
            if commit.parents:
                unseen = tuple(oid for oid in commit.parents if oid not in seen)
                stack.append(self._parents(Commit(commit.oid, unseen, "")))
            if bool(regexp.search(commit.message)) != negate:
                return commit
        raise NoMessageMatch(f"no commit message match regexp: {_go_quote(regexp.pattern)}")


def _required(commit: Commit | None) -> Commit:
    if commit is None:  # unreachable after validation: a reference always comes first
        raise ReferenceNotFound()
    return commit


def _next(parents: Iterator[Commit]) -> Commit:
    try:
        return next(parents)
    except StopIteration:
        raise NoParent() from None


def _headers(content: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in content.split(b"\n"):
        line = line.strip()
        if not line:
            break
        key, _, value = line.partition(b" ")
        headers.setdefault(key.decode("utf-8", "replace"), value.decode("utf-8", "replace"))
    return headers


def _commit(oid: str, content: bytes) -> Commit:
    head, _, message = content.partition(b"\n\n")
    parents = tuple(
        new_hash(line[len(b"parent ") :].decode("ascii", "replace").strip())
        for line in head.split(b"\n")
        if line.startswith(b"parent ")
    )
    return Commit(oid, parents, message.decode("utf-8", "replace"))


def _go_quote(text: str) -> str:
    """Go's ``%q`` for the common cases: double quotes, backslash escapes."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
