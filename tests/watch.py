"""Watch a command as a user would: its whole process tree, and its output as it comes."""

from __future__ import annotations

import os
import signal
import subprocess
import threading

import psutil

from tests.inner import wait_for

WORKER = "sys.stdin.readline"  # what an xdist worker has on its command line


class Tree:
    """Every process that ever appears under `pid`, collected while the command runs."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.seen: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.05):
            try:
                children = self.root.children(recursive=True)
            except psutil.Error:
                return
            for child in children:
                self.seen.setdefault(child.pid, child)

    def has(self, needle: str) -> bool:
        for proc in list(self.seen.values()):
            try:
                if needle in " ".join(proc.cmdline()):
                    return True
            except psutil.Error:
                continue
        return False

    def close(self) -> list[psutil.Process]:
        self._stop.set()
        self._thread.join()
        return list(self.seen.values())


class Command:
    """A command started in a process group of its own, its tree and stdout watched."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # so that a Ctrl-C here reaches it and not this test
        )
        self.tree = Tree(self.proc.pid)
        self.output = Output(self.proc.stdout)

    def wait(self, timeout: float) -> tuple[int, str, str]:
        """Wait for the command to end; return (exit code, stdout, stderr)."""
        try:
            err = self.proc.stderr.read().decode(errors="replace")
            code = self.proc.wait(timeout=timeout)
        finally:
            self.proc.kill()
        return code, self.output.rest(), err

    def interrupt(self, signum: int) -> tuple[int, str, str]:
        """Send `signum` as a user would; return (exit code, stdout, stderr)."""
        if signum == signal.SIGINT:
            os.killpg(self.proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the group
        else:
            self.proc.send_signal(signum)  # `kill PID`, a CI runner's timeout
        return self.wait(timeout=30)


class Output:
    """A command's stdout, read as it comes (pytest prints a `.` per finished case)."""

    def __init__(self, stream):
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):
            self.text += chunk.decode(errors="replace")

    def cases_passed(self) -> int:
        progress = self.text.split("bringing up nodes...", 1)[-1]
        return sum(line.count(".") for line in progress.splitlines() if " " not in line)

    def rest(self) -> str:
        self._thread.join(timeout=30)
        return self.text


def wait_for_cases(output: Output) -> None:
    wait_for(lambda: output.cases_passed() >= 3, 180, "some cases to pass")
