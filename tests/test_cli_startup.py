"""`artconf` starts without loading the SDKs, the servers, pytest or pandas (issue 12).

Building the parser imports every command module, so each imports only argparse-level things
at top level and its heavy modules inside the commands. Timing is not asserted (it depends on
the machine); what is asserted is which modules a fresh interpreter has loaded, so that the
laziness cannot silently regress. The names the parser shows without importing their modules
(server and tool names, exit codes, a default namespace) are kept equal to their sources here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Top-level packages (or dotted prefixes) `import conformance.cli` must not load.
HEAVY = ("boto3", "botocore", "google.cloud", "azure", "kubernetes", "pytest", "_pytest", "pandas")


def modules_after(code: str) -> list[str]:
    """The modules a fresh interpreter holds after running `code`."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def heavy_among(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_importing_the_cli_loads_no_sdk_server_or_pytest() -> None:
    loaded = modules_after("import conformance.cli")
    assert "conformance.cli" in loaded  # the probe itself works
    assert not heavy_among(loaded), f"import conformance.cli loads {heavy_among(loaded)[:10]}"


def test_building_the_parser_and_its_help_loads_none_either() -> None:
    loaded = modules_after(
        "from conformance.cli import build_parser\n"
        "parser = build_parser()\n"
        "parser.format_help()\n"
        "parser.parse_args(['run', '--target', 'python:nope:x', '--backends', 'minio'])"
    )
    assert not heavy_among(loaded), f"the parser loads {heavy_among(loaded)[:10]}"


def test_the_probe_sees_a_heavy_import() -> None:
    # The check above could pass by looking at the wrong thing: here it must see pandas.
    assert "pandas" in heavy_among(modules_after("import conformance.matrix"))


# --- light copies of names, kept equal to their sources ------------------------------------


def test_server_and_tool_names_match_the_fleet_and_the_tools() -> None:
    from emulators import tools
    from emulators.fleet import SERVERS
    from emulators.names import SERVER_NAMES, TOOL_NAMES

    assert tuple(SERVERS) == SERVER_NAMES
    assert TOOL_NAMES == tools.ALL_TOOLS


def test_exit_codes_cover_every_argo_code() -> None:
    from conformance.commands.artifact import EXIT_CODES
    from drivers.core.errors import Code

    assert set(EXIT_CODES) == {code.value for code in Code}
    assert EXIT_CODES[Code.NOT_FOUND] == 3  # a Code member finds its value's entry


def test_resolve_default_namespace_matches_the_controller() -> None:
    from conformance.commands import resolve
    from drivers.controller import kube

    assert resolve.DEFAULT_CONTROLLER_NAMESPACE == kube.DEFAULT_CONTROLLER_NAMESPACE


def test_bench_choices_and_description_are_the_bench_modules() -> None:
    from conformance import bench
    from conformance.commands.bench import _bench_kinds
    from conformance.commands.common import module_doc

    assert _bench_kinds() == sorted(bench.bench_servers())
    assert module_doc("conformance.bench") == bench.__doc__


def test_lazy_choices_compute_once_on_first_use() -> None:
    from conformance.commands.common import LazyChoices

    calls = []
    choices = LazyChoices(lambda: calls.append(1) or ["a", "b"])
    assert calls == []
    assert "a" in choices and "c" not in choices and list(choices) == ["a", "b"]
    assert calls == [1]


# --- expected errors, found without importing their modules --------------------------------


def test_expected_errors_name_real_exception_classes() -> None:
    import importlib

    from conformance.cli import EXPECTED_ERRORS

    for module, name in EXPECTED_ERRORS:
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, Exception), (module, name)


def test_usage_error_keeps_its_old_home() -> None:
    from emulators.errors import UsageError
    from emulators.fleet import UsageError as FromFleet

    assert FromFleet is UsageError


@pytest.mark.parametrize("kind", ["tool", "usage"])
def test_an_expected_error_is_one_line_and_its_exit_code(
    kind: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from conformance import cli
    from conformance.commands import servers
    from emulators.errors import UsageError
    from emulators.tools import ToolError

    error, code = {
        "tool": (ToolError("minio is not installed: run artconf tools install"), 1),
        "usage": (UsageError("--only nope: unknown server; known: minio, moto"), 2),
    }[kind]

    def failing(args: object) -> int:
        raise error

    monkeypatch.setattr(servers, "cmd_tools_install", failing)
    assert cli.main(["tools", "install"]) == code
    err = capsys.readouterr().err
    assert err == f"artconf: error: {error}\n"


def test_an_unexpected_error_is_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance import cli
    from conformance.commands import servers

    def failing(args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(servers, "cmd_tools_install", failing)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["tools", "install"])
