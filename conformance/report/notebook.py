"""Running the report notebook: its kernel, its parameters, its execution, the HTML export.

`notebooks/matrix_report.ipynb` (built by `notebooks/build_matrix_report.py`) stays thin: each
of its cells calls one function of `conformance.report`. `build_report` executes it headless
with nbclient on the `artconf-kit` kernel (installed into this environment on first use) and
exports one self-contained HTML file: every style and script is inline, nothing is loaded from
a network. SIGINT and SIGTERM stop the execution and its kernel, and no file is written.
"""

from __future__ import annotations

import asyncio
import atexit
import copy
import json
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from conformance.report.runs import TREND_RUNS, load_all
from conformance.rundir import REPORT, write_atomically

KERNEL_NAME = "artconf-kit"
REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "matrix_report.ipynb"
EXPORT_TEMPLATE = ("templates", "nbconvert", "artconf.html.j2")  # in this package


class ReportError(Exception):
    """An expected problem with the kernel or the notebook: one line for the user.

    A run directory that cannot be read is a `conformance.rundir.RunDirError` instead.
    """


# --- the kernel -------------------------------------------------------------------------------
def ensure_kernel() -> Path:
    """Install the `artconf-kit` kernel spec into sys.prefix unless it is there already."""
    spec_dir = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    spec_file = spec_dir / "kernel.json"
    try:
        argv = json.loads(spec_file.read_text()).get("argv", [])
    except (OSError, ValueError):
        argv = []
    if argv[:1] != [sys.executable]:
        from ipykernel.kernelspec import write_kernel_spec
        from jupyter_client.kernelspec import KernelSpecManager

        # Written into a directory of our own and installed from there: ipykernel's `install`
        # leaves its empty scratch directory behind in the system temp directory.
        with tempfile.TemporaryDirectory(prefix="artconf-kernel-") as scratch:
            source = write_kernel_spec(
                Path(scratch) / KERNEL_NAME,
                overrides={"display_name": "artconf kit"},
                python_arguments=["-Xfrozen_modules=off"],  # as `install` does: no debugger noise
            )
            KernelSpecManager().install_kernel_spec(source, KERNEL_NAME, prefix=sys.prefix)
    return spec_dir


# --- executing and exporting ------------------------------------------------------------------
def notebook_parameters(
    run_dirs: Sequence[str | Path],
    previous: str | Path | None,
    out_dir: str | Path,
    trend: int = TREND_RUNS,
    kit_prefix: str | None = None,
) -> dict[str, Any]:
    return {
        "run_dirs": [str(Path(d).absolute()) for d in run_dirs],
        "previous": str(Path(previous).absolute()) if previous else "",
        "out_dir": str(Path(out_dir).absolute()),
        "trend_runs": int(trend),
        "kit_prefix": kit_prefix if kit_prefix is not None else sys.prefix,
    }


def inject_parameters(nb: Any, parameters: dict[str, Any]) -> Any:
    """A copy of `nb` with a cell assigning `parameters` after the `parameters` cell."""
    import nbformat

    nb = copy.deepcopy(nb)
    source = "# injected by artconf report\n" + "".join(
        f"{name} = {value!r}\n" for name, value in parameters.items()
    )
    cell = nbformat.v4.new_code_cell(
        source, id="injected-parameters", metadata={"tags": ["injected-parameters"]}
    )
    at = next(
        (i + 1 for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])),
        0,
    )
    nb.cells.insert(at, cell)
    return nb


def export_html(nb: Any) -> str:
    """Self-contained HTML: the lab template without require.js, MathJax, mermaid or widgets."""
    import jinja2
    from nbconvert import HTMLExporter

    template = resources.files("conformance.report").joinpath(*EXPORT_TEMPLATE).read_text()
    exporter = HTMLExporter(
        extra_loaders=[jinja2.DictLoader({"artconf.html.j2": template})],
        template_file="artconf.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_markdown=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    return body


def build_report(
    run_dirs: Sequence[str | Path],
    out: str | Path | None = None,
    previous: str | Path | None = None,
    trend: int = TREND_RUNS,
    kit_prefix: str | None = None,
    timeout: int = 600,
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Execute the notebook on `run_dirs`, write the HTML and the executed .ipynb beside it.

    `warn` is called, before the notebook runs, with each warning the page will show: the
    run's own (partial, a truncated records file), then each earlier run left out. Both files
    are written whole or not at all.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    began = time.monotonic()
    # Fail early, in one line, on a bad directory (RunDirError); find the warnings the page
    # will show.
    run, before, _ = load_all(run_dirs, previous, trend)
    warnings = [*run.warnings, *run.skipped]
    for note in warnings if warn else []:
        warn(note)
    out_path = Path(out) if out else run.dirs[0] / REPORT
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if not NOTEBOOK.is_file():
        raise ReportError(f"{NOTEBOOK} is missing: run notebooks/build_matrix_report.py")
    ensure_kernel()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    parameters = notebook_parameters(run_dirs, previous, out_path.parent, trend, kit_prefix)
    nb = inject_parameters(nb, parameters)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        timeout=timeout,
        resources={"metadata": {"path": str(out_path.parent)}},
    )
    executed_path = out_path.with_suffix(".ipynb")
    with tempfile.TemporaryFile("w+") as kernel_log:  # the kernel's own chatter, kept quiet
        try:
            execute_notebook(client, kernel_log)
        except CellExecutionError as exc:
            write_atomically(executed_path, nbformat.writes(nb))
            ename, evalue = getattr(exc, "ename", "Error"), getattr(exc, "evalue", str(exc))
            raise ReportError(f"the report notebook failed: {ename}: {evalue}") from None
        except (DeadKernelError, RuntimeError, OSError) as exc:
            kernel_log.seek(0)
            last = (kernel_log.read().strip().splitlines() or [""])[-1]
            raise ReportError(
                f"kernel {KERNEL_NAME!r} could not run the notebook: {exc} {last}".strip()
            ) from None
    executed = time.monotonic()
    text = export_html(nb)
    write_atomically(executed_path, nbformat.writes(nb))  # both at the end: a stop before leaves
    write_atomically(out_path, text)  # neither
    return {
        "html": str(out_path),
        "notebook": str(executed_path),
        "html_bytes": len(text.encode()),
        "records": len(run.records),
        "warnings": warnings,
        "execute_seconds": round(executed - began, 2),
        "seconds": round(time.monotonic() - began, 2),
        "run": run,  # as read for the page, and the run it is compared with (or None)
        "previous": before,
    }


INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


class _InterruptibleLoop(asyncio.SelectorEventLoop):
    """An event loop whose main task SIGINT and SIGTERM cancel, as `asyncio.run` does for SIGINT.

    nbclient adds loop signal handlers of its own that stop the kernel under the running cell
    and let the execution carry on (to fail, or to finish when the signal came late); its calls
    are ignored here. Cancelling instead lets nbclient's own `finally` clauses stop the kernel.
    The signal is noted at once, so one that comes as the execution ends is not lost either.
    """

    def __init__(self) -> None:
        super().__init__()
        self.received: int | None = None

    def add_signal_handler(self, sig: int, callback: Callable[..., object], *args: Any) -> None:
        pass  # nbclient's: see the class docstring

    def remove_signal_handler(self, sig: int) -> bool:
        return False

    def run_interruptible(self, coroutine: Any) -> Any:
        """Run `coroutine` to its end; SIGINT or SIGTERM cancel it (main thread only)."""
        main = self.create_task(coroutine)

        def interrupt(signum: int, frame: Any) -> None:
            self.received = self.received or signum
            if not main.done():
                main.cancel()
                self.call_soon_threadsafe(lambda: None)  # wake the loop up from its select()

        saved = {}
        if threading.current_thread() is threading.main_thread():  # an ignored signal stays so
            watched = [s for s in INTERRUPTS if signal.getsignal(s) is not signal.SIG_IGN]
            saved = {sig: signal.signal(sig, interrupt) for sig in watched}
        try:
            return self.run_until_complete(main)
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)


def execute_notebook(client: Any, kernel_log: Any) -> None:
    """`client.execute()`, stopped with its kernel by SIGINT or SIGTERM, then the signal again.

    Delivered again once the process's own handlers are back, the signal ends where it would
    have: KeyboardInterrupt for SIGINT, the command line's handler or the default action (the
    process ends) for SIGTERM.
    """
    loop = _InterruptibleLoop()
    try:
        loop.run_interruptible(client.async_execute(stdout=kernel_log, stderr=kernel_log))
    except BaseException:  # after a signal: the cancellation, or a failure it caused
        if loop.received is None:
            raise
    finally:
        if loop.received is not None:
            loop.run_until_complete(_stop_kernel(client))
        _close_loop(loop)
    if loop.received is not None:
        signal.raise_signal(loop.received)


async def _stop_kernel(client: Any) -> None:
    """Stop what a cancelled execution may have left: the kernel, nbclient's exit hook."""
    # nbclient unregisters its exit-time cleanup only when the execution ends undisturbed.
    atexit.unregister(client._cleanup_kernel)
    manager = client.km
    if manager is None or not manager.has_kernel:
        return
    if client.kc is not None:
        client.kc.stop_channels()
    done = manager.shutdown_kernel(now=True)
    if asyncio.iscoroutine(done):
        await done


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left on `loop` (after a signal: the kernel client's tasks), then close it."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
