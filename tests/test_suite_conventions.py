"""The suites follow the kit's conventions, checked without any server.

- A suite never names a driver or a server: the capability gates a case and the kind adapter
  supplies every kind-specific part. The names come from the registries (kinds, profiles,
  the driver factory), so a new kind or server is covered without editing this file.
- A suite imports no storage SDK: what the server holds is read through `store.objects`.
- Every case states its contract, citing sections that exist in docs/argo-artifacts.md.
- Every capability of the vocabulary is verified by at least one case, and says what it means.
"""

from __future__ import annotations

import ast
import importlib
import itertools
import pkgutil
import re
from pathlib import Path

import pytest

import conformance.suites
from conformance import cases, kinds
from conformance.profiles import load_profiles
from drivers.core.capabilities import Capability
from drivers.core.deviations import deviations
from drivers.factory import FACTORY_ORDER

REPO = Path(__file__).resolve().parent.parent
SUITES = Path(conformance.suites.__file__).parent
SPEC = REPO / "docs" / "argo-artifacts.md"
CAPABILITIES = REPO / "drivers" / "core" / "capabilities.py"


def suite_files() -> list[Path]:
    return sorted(SUITES.glob("*.py"))


def suite_modules():
    for info in pkgutil.iter_modules([str(SUITES)]):
        yield importlib.import_module(f"conformance.suites.{info.name}")


def suite_cases() -> list[tuple[str, object]]:
    """(module:function, function) of every case: a function marked by `@verifies`."""
    found = []
    for module in suite_modules():
        for name, value in vars(module).items():
            marks = getattr(value, "pytestmark", [])
            if callable(value) and any(m.name == cases.VERIFIES for m in marks):
                found.append((f"{module.__name__}:{name}", value))
    return found


# --- no driver or server names ----------------------------------------------------------------


def forbidden_names() -> set[str]:
    """Every kind (its name and its Argo location type), backend and server the kit knows."""
    names = set(FACTORY_ORDER)
    for kind in kinds.all_kinds().values():
        names |= {kind.name, kind.type}
    for profile in load_profiles().values():
        names |= {profile.backend, profile.server}
    return names


# A deviation is cited by its registry id, which is checked when the suite is imported; the
# short form (without the driver prefix) states the contract and names no driver.
_DEVIATION_ARGUMENT = re.compile(r"""\bdeviation\(\s*["']([a-z0-9-]+)["']\s*\)""")


def _word(names: set[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<!\w)({alternatives})(?!\w)", re.IGNORECASE)


def named_in(text: str, where: str, names: set[str]) -> list[str]:
    """`where:line: ...` for every whole-word mention of one of `names` in `text`, and every
    deviation cited by its driver-prefixed id."""
    pattern = _word(names)
    prefixed = {d.id for d in deviations() if d.driver}
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for cited in _DEVIATION_ARGUMENT.findall(line):
            if cited in prefixed:
                found.append(f"{where}:{number}: deviation {cited!r}: cite it without its prefix")
        for match in pattern.finditer(_DEVIATION_ARGUMENT.sub("deviation()", line)):
            found.append(f"{where}:{number}: {match.group(0)!r} in: {line.strip()}")
    return found


def test_suites_name_no_driver_or_server():
    names = forbidden_names()
    assert {"s3", "minio", "fake-gcs", "kube", "manifests"} <= names  # the registries answered
    found = [
        hit
        for path in suite_files()
        for hit in named_in(path.read_text(), str(path.relative_to(REPO)), names)
    ]
    assert found == [], "suite modules name drivers or servers:\n" + "\n".join(found)


def test_the_name_check_catches_names_and_prefixed_deviations():
    """The check itself, on a module that breaks it in each way it can."""
    lines = [
        'if store.backend.server == "fake-gcs":  # S3 only',
        '@deviation("gcs-raw-prefix-siblings")',
        '@deviation("raw-prefix-siblings")',
        'key = "sse/encryption_sse_s3.bin"  # part of a word: fine',
    ]
    assert named_in("\n".join(lines), "x.py", forbidden_names()) == [
        f"x.py:1: 'fake-gcs' in: {lines[0]}",
        f"x.py:1: 'S3' in: {lines[0]}",
        "x.py:2: deviation 'gcs-raw-prefix-siblings': cite it without its prefix",
    ]


def test_suites_import_no_storage_sdk():
    """What a server holds is read through `store.objects`, never a suite's own SDK client."""
    sdks = {"boto3", "botocore", "google", "azure", "minio", "moto", "kubernetes"}
    for kind in kinds.all_kinds().values():
        sdks |= {package.split("-")[0] for package in kind.sdk_packages}
    found = []
    for path in suite_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            found += [
                f"{path.relative_to(REPO)}:{node.lineno}: imports {m}"
                for m in modules
                if m.split(".")[0] in sdks
            ]
    assert found == [], "\n".join(found)


# --- contracts ---------------------------------------------------------------------------------


def spec_sections() -> set[str]:
    """Section numbers of the spec: its headings, and the items of its checklist (11.N)."""
    text = SPEC.read_text()
    sections = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)*)\.? ", text, re.MULTILINE))
    checklist = text.split("\n## 11.", 1)[1].split("\n## ", 1)[0]
    sections |= {f"11.{n}" for n in re.findall(r"^(\d+)\. ", checklist, re.MULTILINE)}
    return sections


def test_every_case_cites_sections_of_the_spec():
    known = spec_sections()
    assert {"0", "1.3", "3.1", "6.6", "11", "11.17"} <= known
    found = suite_cases()
    assert len(found) > 100
    wrong = []
    for name, function in found:
        _, spec = cases.check_contract(function, name)
        unknown = [s for s in spec.split(", ") if s not in known]
        if unknown:
            wrong.append(f"{name}: cites {unknown}, not sections of {SPEC.name}")
    assert wrong == [], "\n".join(wrong)


def test_a_case_without_a_contract_is_an_error_at_import():
    def test_undocumented(store):
        pass

    def test_uncited(store):
        """save uploads the file."""

    def test_documented(store):
        """save uploads the file (spec 1.1 Save, #14387)."""

    with pytest.raises(cases.CaseError, match=r"test_undocumented: no docstring"):
        cases.verifies("save")(test_undocumented)
    with pytest.raises(cases.CaseError, match=r"test_uncited: the contract .* must end with"):
        cases.verifies("save")(test_uncited)
    assert cases.verifies("save")(test_documented) is test_documented
    assert cases.contract_of(test_documented)[1] == "1.1"  # an issue number is no section


def test_a_deviation_is_checked_against_the_registry_at_import():
    with pytest.raises(cases.CaseError, match=r"@deviation\('no-such-row'\): no such deviation"):
        cases.deviation("no-such-row")
    short = [m.args[0] for m in cases.deviation("raw-prefix-siblings")]
    assert sorted(short) == [
        "azure-raw-prefix-siblings",
        "gcs-raw-prefix-siblings",
        "oss-raw-prefix-siblings",
    ]
    assert [m.args[0] for m in cases.deviation("untrimmed-credentials")] == [
        "s3-untrimmed-credentials"
    ]
    core = [m.args[0] for m in cases.deviation("zip-single-file-base-name")]
    assert core == ["zip-single-file-base-name"]


# --- the vocabulary ----------------------------------------------------------------------------


def test_every_capability_is_verified_by_a_case():
    verified = {
        mark.args[0]
        for _, function in suite_cases()
        for mark in function.pytestmark
        if mark.name == cases.VERIFIES
    }
    missing = sorted(c.value for c in Capability if c.value not in verified)
    assert missing == [], f"capabilities no suite case verifies: {missing}"


def test_every_capability_says_what_it_means():
    lines = CAPABILITIES.read_text().splitlines()
    undocumented = [
        line.split("=")[0].strip()
        for previous, line in itertools.pairwise(lines)
        if re.match(r"    [A-Z0-9_]+ = \"", line) and not previous.strip().startswith("#: ")
    ]
    assert undocumented == [], f"members without a `#:` line of meaning: {undocumented}"
