"""The differential lane: the same scenario, on the same server, through the target and through
the reference; the outcomes must be the same, or differ as a deviation row says.

A scenario is a layout of objects, one operation and the key it is called with. Each side gets
its own fresh bucket holding the layout, so neither sees what the other wrote. What is compared
is what a user would see: the error code (never its text), what the call returned or wrote on
local disk, and which objects the bucket holds afterwards for the operations that write.

The scenarios go past the suites' own cases where drivers are known to part ways: folder markers
(`e/`), empty objects, a key that is both an object and a prefix, siblings sharing a prefix, and
a missing key for every operation. Which deviation explains a difference is said by the
scenario (`deviations`, resolved per kind by the registry, as `@deviation` does), so a target
that declares that deviation (Argo's own drivers do) is held to differ exactly there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.core.errors import ArtifactError, exception_chain

OPERATIONS = ("load", "open_stream", "is_directory", "list_objects", "delete", "save")
#: Operations whose effect is the bucket's content afterwards.
WRITES = ("delete", "save")


def digest(data: bytes) -> str:
    return f"{len(data)}B:{hashlib.sha256(data).hexdigest()[:12]}"


@dataclass(frozen=True)
class Scenario:
    name: str
    operation: str
    key: str
    layout: Mapping[str, bytes] = field(default_factory=dict)
    #: save only: the local file (`{"": bytes}`) or tree (`{"a.txt": bytes, ...}`) to upload.
    local: Mapping[str, bytes] = field(default_factory=dict)
    #: Registry ids (or `<driver>-` less names) of the deviations that explain a difference.
    deviations: tuple[str, ...] = ()
    why: str = ""  # what makes the scenario worth running, for the report


@dataclass(frozen=True)
class Outcome:
    """What one side saw. `code` is "" when the call succeeded."""

    code: str = ""
    result: Any = None
    objects: Any = None
    message: str = field(default="", compare=False)
    error: BaseException | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        if self.code:
            return f"{self.code}: {self.message}"
        parts = [f"ok, {self.result!r}" if self.result is not None else "ok"]
        if self.objects is not None:
            parts.append(f"bucket afterwards {self.objects!r}")
        return "; ".join(parts)


def _tree(path: Path) -> Any:
    """A local result: ("file", digest), ("dir", {relative path: digest or "dir"}), or
    "nothing" when the call wrote nothing at `path`."""
    if path.is_file():
        return ("file", digest(path.read_bytes()))
    if path.is_dir():
        entries = {}
        for child in sorted(path.rglob("*")):
            rel = child.relative_to(path).as_posix()
            entries[rel] = digest(child.read_bytes()) if child.is_file() else "dir"
        return ("dir", entries)
    return "nothing"


def _write_local(root: Path, files: Mapping[str, bytes]) -> Path:
    if set(files) == {""}:
        root.parent.mkdir(parents=True, exist_ok=True)
        root.write_bytes(files[""])
        return root
    for relative, data in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    root.mkdir(parents=True, exist_ok=True)
    return root


def observe(
    scenario: Scenario,
    driver: Any,
    artifact_at: Callable[[str], Any],
    bucket_keys: Callable[[], list[str]],
    get: Callable[[str], bytes | None],
    workdir: Path,
) -> Outcome:
    """Run `scenario`'s operation with `driver`; the bucket already holds its layout."""
    artifact = artifact_at(scenario.key)
    try:
        result: Any = None
        if scenario.operation == "load":
            out = workdir / "out"
            driver.load(artifact, str(out))
            result = _tree(out)
        elif scenario.operation == "open_stream":
            with driver.open_stream(artifact) as stream:
                result = digest(stream.read())
        elif scenario.operation == "is_directory":
            result = bool(driver.is_directory(artifact))
        elif scenario.operation == "list_objects":
            result = sorted(driver.list_objects(artifact))
        elif scenario.operation == "delete":
            driver.delete(artifact)
        elif scenario.operation == "save":
            driver.save(str(_write_local(workdir / "local", scenario.local)), artifact)
        else:
            raise ValueError(f"unknown operation {scenario.operation!r}")
    except ArtifactError as exc:
        return Outcome(code=exc.code.value, message=str(exc), error=exc)
    except Exception as exc:
        error = next((e for e in exception_chain(exc) if isinstance(e, ArtifactError)), None)
        if error is None:
            raise
        return Outcome(code=error.code.value, message=str(exc), error=exc)
    objects = None
    if scenario.operation in WRITES:
        objects = {key: digest(get(key) or b"") for key in bucket_keys()}
    return Outcome(result=result, objects=objects)


def difference(target: Outcome, reference: Outcome, target_name: str) -> str:
    """One readable line per side ("" when they agree)."""
    if target == reference:
        return ""
    return (
        f"{target_name} and the reference differ:\n"
        f"  {target_name}: {target}\n"
        f"  reference: {reference}"
    )


# --------------------------------------------------------------------------------- scenarios

FILE = {"f.txt": b"file bytes"}
TREE = {"d/a.txt": b"a", "d/sub/b.txt": b"bb"}
MARKER_ONLY = {"e/": b""}
MARKED_TREE = {"m/": b"", "m/a.txt": b"a", "m/sub/": b"", "m/sub/b.txt": b"b"}
BOTH = {"both": b"an object", "both/inner.txt": b"and a prefix"}
SIBLINGS = {"key/a.txt": b"inside", "key2/b.txt": b"sibling dir", "key-other.txt": b"sibling"}
EMPTY = {"empty.txt": b""}
OTHER = {"other.txt": b"not the key"}

_LAYOUTS: dict[str, tuple[Mapping[str, bytes], str, str]] = {
    # name: (layout, key, why)
    "file": (FILE, "f.txt", "a plain object"),
    "missing-key": (OTHER, "absent.txt", "a key that does not exist, beside one that does"),
    "empty-object": (EMPTY, "empty.txt", "an object of zero bytes"),
    "directory": (TREE, "d", "objects under d/, no marker"),
    "directory-trailing-slash": (TREE, "d/", "the same directory named with its slash"),
    "marker-only": (MARKER_ONLY, "e", "only the folder marker e/ exists"),
    "marker-with-files": (MARKED_TREE, "m", "folder markers beside the files under m/"),
    "object-and-prefix": (BOTH, "both", "`both` is an object and also a prefix of another"),
    "sibling-prefixes": (SIBLINGS, "key", "key/, key2/ and key-other.txt share the prefix key"),
}

_READS = ("load", "open_stream", "is_directory", "list_objects", "delete")


def _reads() -> list[Scenario]:
    return [
        Scenario(f"{name}/{operation}", operation, key, layout, why=why)
        for name, (layout, key, why) in _LAYOUTS.items()
        for operation in _READS
    ]


def _saves() -> list[Scenario]:
    return [
        Scenario("save/file-new-key", "save", "up/f.txt", {}, {"": b"uploaded"}),
        Scenario("save/file-over-existing", "save", "f.txt", FILE, {"": b"replaced"}),
        Scenario("save/empty-file", "save", "up/empty.txt", {}, {"": b""}),
        Scenario("save/directory", "save", "up/dir", {}, {"a.txt": b"a", "sub/b.txt": b"b"}),
        Scenario("save/directory-beside-sibling", "save", "key", SIBLINGS, {"new.txt": b"new"}),
    ]


_SKIPS_MARKERS = ("azure-list-objects-skips-markers", "gcs-list-objects-s3-semantics")
_GCS_404 = "gcs-delete-missing-idempotent"  # GCS deletes one object: a directory is a 404
_S3_NO_SLASH = "s3-directory-delete-without-trailing-slash"

#: Where the reference differs from Argo on purpose, as the lane against Argo v4.0.5 found it:
#: scenario -> the deviation rows (drivers/core/deviations.yaml) that explain it, at most one
#: per kind (the first row of the case's kind decides how the case may fail).
EXPLAINED: dict[str, tuple[str, ...]] = {
    "empty-object/load": ("azure-empty-blob-is-file",),
    "marker-only/load": (
        "s3-marker-only-directory",
        "gcs-marker-only-directory",
        "azure-folder-markers-downloaded",
    ),
    "marker-with-files/load": ("azure-folder-markers-downloaded",),
    "sibling-prefixes/load": ("gcs-raw-prefix-siblings", "azure-raw-prefix-siblings"),
    "missing-key/open_stream": ("azure-open-stream-missing-not-found",),
    "directory/open_stream": ("gcs-open-stream-directory",),
    "directory-trailing-slash/open_stream": ("gcs-open-stream-directory",),
    "marker-only/open_stream": ("gcs-marker-only-directory",),
    "marker-with-files/open_stream": ("gcs-open-stream-directory",),
    "sibling-prefixes/open_stream": ("gcs-open-stream-directory",),
    "file/list_objects": _SKIPS_MARKERS,
    "empty-object/list_objects": _SKIPS_MARKERS,
    "object-and-prefix/list_objects": _SKIPS_MARKERS,
    "marker-only/list_objects": ("azure-list-objects-skips-markers",),
    "marker-with-files/list_objects": ("azure-list-objects-skips-markers",),
    "missing-key/list_objects": ("gcs-list-objects-s3-semantics",),
    "sibling-prefixes/list_objects": ("azure-raw-prefix-siblings", "gcs-raw-prefix-siblings"),
    "missing-key/delete": (_GCS_404,),
    "directory/delete": (_S3_NO_SLASH, _GCS_404),
    "directory-trailing-slash/delete": (_GCS_404,),
    "marker-only/delete": (_S3_NO_SLASH, _GCS_404),
    "marker-with-files/delete": (_S3_NO_SLASH, _GCS_404),
    "object-and-prefix/delete": (_S3_NO_SLASH, "gcs-directory-delete-tree"),
    "sibling-prefixes/delete": (_S3_NO_SLASH, _GCS_404, "azure-raw-prefix-siblings"),
}


def scenarios(operation: str) -> list[Scenario]:
    chosen = [s for s in _reads() + _saves() if s.operation == operation]
    return [
        Scenario(s.name, s.operation, s.key, s.layout, s.local, EXPLAINED.get(s.name, ()), s.why)
        for s in chosen
    ]
