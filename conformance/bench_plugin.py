"""`artconf bench plugin`: concurrent transfers through one `artconf plugin serve` process.

One MinIO (disk-backed, from the kit's fleet), one `artconf plugin serve SOCKET --driver s3`
started as Argo starts a plugin (its socket in a private temp directory, the S3 location's pod
environment), and one Argo plugin client (`PluginDriver`) per transfer, as an Argo pod makes
one per artifact. All transfers start together (a barrier) from a pool of as many threads.

The schedule is fixed. For N transfers (default 64) and a largest size M (default 256 MiB),
sorted by size, the operations taken in turn (Load, OpenStream, Save, SaveStream):

  N/16 transfers of M              (64, 256 MiB: 4, one per operation)
  N/8 transfers of M/4             (8 of 64 MiB, two per operation)
  the rest log-spaced, 1 KiB..M/16 (52 from 16 MiB down to 1 KiB, 13 per operation)

about 1.6 GiB in all for the defaults. The data of each transfer is a seeded random block of
1 MiB + 4099 bytes repeated (an odd period: no two 2 MiB frames or upload parts are alike, so
a reordered frame changes the hash), generated while streaming, never held whole. Load and
OpenStream read objects first uploaded with the server's own SDK; Save sends a file written
beforehand; SaveStream streams the pattern. Every byte is checked by sha256 afterwards: Load's
file, OpenStream's bytes as they arrive, and Save's and SaveStream's objects read back through
the SDK.

Measured: errors (with the first messages), hash or size mismatches, wall time from the start
barrier to the last transfer and aggregate MiB/s, per-operation counts, and the plugin server
process's memory: RSS after start-up and one warm-up transfer of each operation (baseline),
peak (the kernel's high-water mark, reset after the baseline, and sampled every 50 ms), growth,
and RSS after the transfers; also its peak thread count and the bytes it wrote under its TMPDIR.
Targets: 0 errors, every hash equal, and server RSS growth within what the design lets the
schedule's requests hold, none of it growing with an object's size: 4 MiB per request in
flight (two 2 MiB frames), up to 64 MiB per SaveStream (the S3 driver's 4 parts of 8 MiB
and their copies), 32 MiB once; 497 MiB for the defaults. A benchmark, not a timed test: the
times are recorded, never judged. Results: reports/bench/<time>-plugin-s3.json.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from boto3.s3.transfer import TransferConfig

from conformance import kinds
from conformance.bench import PatternStream, Sampler, bench_servers
from conformance.plugin_targets import PluginProcesses, exit_note, log_tail
from drivers.core.model import parse_artifact
from drivers.core.secrets import MemorySecretSource
from drivers.plugin import server as plugin_server
from drivers.plugin import wire
from drivers.plugin.client import PluginDriver
from emulators.fleet import Fleet
from emulators.sessions import new_session_dir

MIB = 2**20
DRIVER = "s3"
PLUGIN_NAME = "artconf-bench"
OPS = ("load", "open_stream", "save", "save_stream")
MIN_SIZE = 1024
DEFAULT_TRANSFERS = 64
DEFAULT_MAX_SIZE = 256 * MIB
#: An odd period, so that no two 2 MiB frames (or 8/16 MiB parts) of an object are alike.
PATTERN_BLOCK = MIB + 4099
WARMUP_SIZE = MIB
READ_CHUNK = MIB
SOCKET_WAIT_SECONDS = 60.0
START_BARRIER_SECONDS = 120.0
PROGRESS_SECONDS = 10.0
# The server RSS growth allowed over the baseline (`rss_growth_bound`), from what the design
# lets one request hold; none of it grows with an object's size. Measured on the defaults
# (2 cores, load average 7 to 13 from other work): 341 to 389 MiB of the 497 MiB bound; one
# operation alone, 64 transfers: SaveStream 952 MiB (12 streams of 64 MiB or more),
# OpenStream 200, Save 87, Load 69 MiB.
#: Every request in flight: the 2 MiB frame gRPC is moving and the one the driver is
#: producing or consuming (Load and Save move 1 MiB chunks between S3 and a file), with its
#: own boto3 session and client. Measured: ~3 MiB per OpenStream.
REQUEST_MEMORY = 4 * MIB
#: A SaveStream besides: the S3 driver's multipart parts, 4 of 8 MiB in memory and the part
#: being assembled from frames, "about 64 MiB at worst" (drivers/s3/transfer.py); a stream
#: shorter than that holds at most its own size. Measured: ~56 MiB per large stream.
SAVE_STREAM_MEMORY = 64 * MIB
#: Once per run: what the first multipart transfers and the new worker threads allocate
#: (thread stacks, malloc arenas) beyond the warm-up's 1 MiB transfers.
PROCESS_SLACK = 32 * MIB
#: How many error messages the result keeps.
ERROR_MESSAGES_KEPT = 5


class Cancelled(Exception):
    """The benchmark was interrupted: sources and readers stop at their next chunk."""


@dataclass(frozen=True)
class Transfer:
    index: int
    op: str
    size: int
    warmup: bool = False

    @property
    def key(self) -> str:
        folder = "warmup" if self.warmup else "bench"
        return f"{folder}/{self.index:03d}-{self.op}-{self.size}.bin"

    @property
    def seed(self) -> str:
        return f"artconf-bench-plugin/{self.key}"

    def block(self) -> bytes:
        return random.Random(self.seed).randbytes(PATTERN_BLOCK)


def schedule(
    transfers: int = DEFAULT_TRANSFERS, max_size: int = DEFAULT_MAX_SIZE
) -> list[Transfer]:
    """The fixed schedule of the module docstring."""
    if transfers < len(OPS):
        raise ValueError(f"--transfers {transfers}: at least {len(OPS)}, one per operation")
    if max_size < MIN_SIZE:
        raise ValueError(f"--max-size {max_size}: at least {MIN_SIZE} bytes")
    largest = max(1, transfers // 16)
    large = transfers // 8
    small = transfers - largest - large
    top = max(MIN_SIZE, max_size // 16)
    sizes = [max_size] * largest + [max(MIN_SIZE, max_size // 4)] * large
    if small == 1:
        sizes.append(top)
    elif small > 1:
        ratio = (top / MIN_SIZE) ** (1 / (small - 1))
        sizes += [round(MIN_SIZE * ratio ** (small - 1 - k)) for k in range(small)]
    return [Transfer(i, OPS[i % len(OPS)], size) for i, size in enumerate(sizes)]


def rss_growth_bound(plan: list[Transfer]) -> int:
    """The server RSS growth `plan` may cause: REQUEST_MEMORY per request in flight (the
    server runs 64 at once, `server.MAX_WORKERS`), SAVE_STREAM_MEMORY per SaveStream (or its
    size if smaller) among them, and PROCESS_SLACK. 497 MiB for the default schedule."""
    in_flight = min(len(plan), plugin_server.MAX_WORKERS)
    streams = sorted(
        (min(t.size, SAVE_STREAM_MEMORY) for t in plan if t.op == "save_stream"), reverse=True
    )
    return PROCESS_SLACK + in_flight * REQUEST_MEMORY + sum(streams[:in_flight])


class _Source(PatternStream):
    """The transfer's pattern, `size` bytes, hashed as read; stops when cancelled."""

    def __init__(self, transfer: Transfer, cancel: threading.Event):
        super().__init__(transfer.size, transfer.block())
        self.cancel = cancel

    def readinto(self, buffer) -> int:
        if self.cancel.is_set():
            raise Cancelled("the benchmark was interrupted")
        return super().readinto(buffer)


class ServerSampler(Sampler):
    """`Sampler` (this process's RSS, bytes under the watched directories), plus the plugin
    server process's peak RSS and thread count."""

    def __init__(self, server: psutil.Process, watched: list[Path]):
        super().__init__(watched)
        self.server = server
        self.server_peak_rss = 0
        self.server_peak_threads = 0

    def sample(self) -> None:
        super().sample()
        try:
            with self.server.oneshot():
                rss, threads = self.server.memory_info().rss, self.server.num_threads()
        except psutil.Error:  # it ended: what it reached is already recorded
            return
        self.server_peak_rss = max(self.server_peak_rss, rss)
        self.server_peak_threads = max(self.server_peak_threads, threads)


def _high_water_mark(pid: int) -> int | None:
    """The kernel's peak RSS of `pid` (VmHWM), or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_high_water_mark(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux: 5 > /proc/PID/clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the machine
    }


def _mib(n: float) -> float:
    return round(n / MIB, 1)


@dataclass
class Outcome:
    transfer: Transfer
    seconds: float = 0.0
    error: str = ""
    received_digest: str = ""  # OpenStream: the bytes as they arrived
    received_size: int = 0


class _Bench:
    """One run: the server, the bucket, the work directory, the plugin process."""

    def __init__(self, endpoint, work: Path):
        self.endpoint = endpoint
        self.work = work
        self.cancel = threading.Event()
        self.kind = kinds.get(DRIVER)
        self.admin = self.kind.admin(endpoint)
        self.s3 = self.admin.client
        self.bucket = f"artconf-bench-plugin-{uuid.uuid4().hex[:8]}"
        self.admin.create_container(self.bucket)
        self.location = self.kind.location(endpoint, self.bucket)
        self.secrets = self.location.secrets
        self.expected: dict[str, str] = {}  # key -> sha256 of what the object must hold
        self.in_flight = 0
        self.in_flight_peak = 0
        self.lock = threading.Lock()
        for name in ("save", "load"):
            (work / name).mkdir()

    # ------------------------------------------------------------------ paths, artifacts
    def source_file(self, t: Transfer) -> Path:
        return self.work / "save" / t.key.replace("/", "_")

    def target_file(self, t: Transfer) -> Path:
        return self.work / "load" / t.key.replace("/", "_")

    def artifact(self, t: Transfer):
        return parse_artifact(self.location.with_key(t.key).artifact(name=f"t{t.index}"))

    # ------------------------------------------------------------------ preparation
    def prepare(self, t: Transfer) -> None:
        """The object Load/OpenStream read (through the SDK) or the file Save sends; the sha256
        every transfer is checked against."""
        source = _Source(t, self.cancel)
        if t.op in ("load", "open_stream"):
            self.s3.upload_fileobj(
                io.BufferedReader(source, READ_CHUNK),
                self.bucket,
                t.key,
                Config=TransferConfig(max_concurrency=4, multipart_chunksize=8 * MIB),
            )
        elif t.op == "save":
            with open(self.source_file(t), "wb") as out:
                while chunk := source.read(READ_CHUNK):
                    out.write(chunk)
        else:  # save_stream: the transfer generates it again
            while source.read(READ_CHUNK):
                pass
        if source.remaining:
            raise RuntimeError(f"preparing {t.key}: {source.remaining} bytes short")
        self.expected[t.key] = source.digest.hexdigest()

    # ------------------------------------------------------------------ one transfer
    def connect(self, process, socket: Path, log: Path) -> PluginDriver:
        return PluginDriver(
            PLUGIN_NAME,
            socket,
            MemorySecretSource(self.secrets),
            socket_wait=SOCKET_WAIT_SECONDS,
            alive=lambda: exit_note(process, log),
            describe_failure=lambda: exit_note(process, log),
        )

    def run(self, t: Transfer, new_client: Callable[[], PluginDriver], barrier) -> Outcome:
        outcome = Outcome(t)
        client = None
        try:
            client = new_client()
            if barrier is not None:
                barrier.wait()
            self._enter()
            began = time.perf_counter()
            try:
                self._transfer(t, client, outcome)
            finally:
                outcome.seconds = time.perf_counter() - began
                self._leave()
        except threading.BrokenBarrierError:
            outcome.error = "not started: the start barrier broke (another transfer failed)"
        except BaseException as exc:
            if barrier is not None:
                barrier.abort()  # the others must not wait for this one
            outcome.error = f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, Exception):
                raise
        finally:
            if client is not None:
                client.close()
        return outcome

    def _transfer(self, t: Transfer, client: PluginDriver, outcome: Outcome) -> None:
        artifact = self.artifact(t)
        if t.op == "load":
            client.load(artifact, str(self.target_file(t)))
        elif t.op == "open_stream":
            digest, size = hashlib.sha256(), 0
            stream = client.open_stream(artifact)
            try:
                while chunk := stream.read(wire.CHUNK):
                    if self.cancel.is_set():
                        raise Cancelled("the benchmark was interrupted")
                    digest.update(chunk)
                    size += len(chunk)
            finally:
                stream.close()
            outcome.received_digest, outcome.received_size = digest.hexdigest(), size
        elif t.op == "save":
            client.save(str(self.source_file(t)), artifact)
        else:
            source = _Source(t, self.cancel)
            client.save_stream(io.BufferedReader(source, wire.CHUNK), artifact)

    def _enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.in_flight_peak = max(self.in_flight_peak, self.in_flight)

    def _leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    # ------------------------------------------------------------------ verification
    def verify(self, outcome: Outcome) -> str:
        """Why the transfer's bytes are not the expected ones ("" when they are, and when
        the transfer failed: that is counted as an error already)."""
        if outcome.error:
            return ""
        try:
            return self._verify(outcome)
        except Exception as exc:
            t = outcome.transfer
            return f"{t.op} {t.key}: cannot be checked: {type(exc).__name__}: {exc}"

    def _verify(self, outcome: Outcome) -> str:
        t = outcome.transfer
        if t.op == "open_stream":
            digest, size = outcome.received_digest, outcome.received_size
        elif t.op == "load":
            path = self.target_file(t)
            if not path.is_file():
                return f"load {t.key}: no file at the load path"
            with open(path, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            size = path.stat().st_size
            path.unlink()
        else:
            digest, size = self._object_digest(t.key)
        if size != t.size or digest != self.expected[t.key]:
            return (
                f"{t.op} {t.key}: {size} bytes, sha256 {digest[:16]}..., expected "
                f"{t.size} bytes, sha256 {self.expected[t.key][:16]}..."
            )
        return ""

    def _object_digest(self, key: str) -> tuple[str, int]:
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        digest, size = hashlib.sha256(), 0
        try:
            for chunk in body.iter_chunks(READ_CHUNK):
                if self.cancel.is_set():
                    raise Cancelled("the benchmark was interrupted")
                digest.update(chunk)
                size += len(chunk)
        finally:
            body.close()
        return digest.hexdigest(), size


def _pooled(
    bench: _Bench, work: Callable[[Any], Any], items: list, threads: int, on_wait=None
) -> list[concurrent.futures.Future]:
    """`work(item)` for each item on `threads` threads; on an interrupt the sources stop and
    the pool is drained before the exception goes on."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench")
    try:
        futures = [pool.submit(work, item) for item in items]
        pending = set(futures)
        while pending:
            _, pending = concurrent.futures.wait(pending, timeout=PROGRESS_SECONDS)
            if pending and on_wait:
                on_wait(len(futures) - len(pending))
        return futures
    except BaseException:
        bench.cancel.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def bench_plugin(
    transfers: int = DEFAULT_TRANSFERS,
    max_size: int = DEFAULT_MAX_SIZE,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    plan = schedule(transfers, max_size)
    warmups = [Transfer(i, op, WARMUP_SIZE, warmup=True) for i, op in enumerate(OPS)]
    server = bench_servers()[DRIVER]
    artconf = str(Path(sys.executable).parent / "artconf")
    total = sum(t.size for t in plan)
    machine = _machine()
    with (
        Fleet(new_session_dir("bench-plugin")) as fleet,
        tempfile.TemporaryDirectory(prefix="artconf-bench-plugin-") as work,
    ):
        progress(f"starting {server} (disk-backed) ...")
        endpoint = fleet.start_one(f"{server}-bench", server, False, on_disk=True)
        bench = _Bench(endpoint, Path(work))
        processes = PluginProcesses([artconf, "plugin", "serve", "--driver", DRIVER], "artconf")
        try:
            progress(
                f"preparing {len(plan)} transfers, {_mib(total)} MiB "
                "(objects through the SDK, files for Save) ..."
            )
            for future in _pooled(bench, bench.prepare, warmups + plan, threads=2):
                future.result()  # a preparation that failed is the kit's problem: raised
            # Started from this (the main) thread: the plugin's parent-death signal follows
            # the thread that started it.
            process, socket, log = processes.process_for(bench.location.driver_context())
            server_process = psutil.Process(process.pid)

            def new_client() -> PluginDriver:
                return bench.connect(process, socket, log)

            progress(f"plugin server pid {process.pid} on {socket}; warm-up: 1 MiB each way")
            outcomes = [bench.run(t, new_client, None) for t in warmups]
            time.sleep(0.5)
            baseline = server_process.memory_info().rss
            hwm_reset = _reset_high_water_mark(process.pid)
            sampler = ServerSampler(server_process, [socket.parent / "tmp"])  # its TMPDIR
            starts: list[float] = []
            barrier = threading.Barrier(
                len(plan),
                action=lambda: starts.append(time.perf_counter()),
                timeout=START_BARRIER_SECONDS,
            )
            progress(
                f"{len(plan)} concurrent transfers, {_mib(total)} MiB "
                f"(baseline server RSS {_mib(baseline)} MiB) ..."
            )
            sampler.start()
            try:
                futures = _pooled(
                    bench,
                    lambda t: bench.run(t, new_client, barrier),
                    plan,
                    threads=len(plan),
                    on_wait=lambda done: progress(f"  {done}/{len(plan)} transfers done"),
                )
            except BaseException:
                barrier.abort()
                processes.close()  # calls in flight fail at once rather than run to the end
                raise
            finally:
                sampler.stop()
            ended = time.perf_counter()
            high_water = _high_water_mark(process.pid) if hwm_reset else None
            after = server_process.memory_info().rss
            outcomes += [f.result() for f in futures]
            progress("checking every transfer's sha256 ...")
            checked = _pooled(bench, bench.verify, outcomes, threads=8)
            mismatch_messages = [m for m in (f.result() for f in checked) if m]
            log_text = log_tail(log, 10)  # before `close` removes it
            processes.close()
            exit_code = process.poll()
        finally:
            bench.cancel.set()
            processes.close()
    errors = [f"{o.transfer.op} {o.transfer.key}: {o.error}" for o in outcomes if o.error]
    wall = ended - starts[0] if starts else 0.0
    peak = max(sampler.server_peak_rss, high_water or 0, baseline)
    growth = peak - baseline
    bound = rss_growth_bound(plan)
    per_op = {}
    for op in OPS:
        mine = [o for o in outcomes if o.transfer.op == op and not o.transfer.warmup]
        per_op[op] = {
            "transfers": len(mine),
            "bytes": sum(o.transfer.size for o in mine),
            "errors": sum(1 for o in mine if o.error),
            "largest_bytes": max(o.transfer.size for o in mine),
            "slowest_seconds": round(max(o.seconds for o in mine), 3),
        }
    intact = not mismatch_messages and not errors
    return {
        "benchmark": "plugin",
        "driver": DRIVER,
        "server": server,
        "server_version": endpoint.version,
        "plugin_command": f"artconf plugin serve SOCKET --driver {DRIVER}",
        "plugin_max_workers": plugin_server.MAX_WORKERS,
        "transfers": len(plan),
        "max_size_bytes": max_size,
        "bytes": total,
        "per_op": per_op,
        "errors": len(errors),
        "error_messages": errors[:ERROR_MESSAGES_KEPT],
        "hash_mismatches": len(mismatch_messages),
        "mismatch_messages": mismatch_messages[:ERROR_MESSAGES_KEPT],
        "data_intact": intact,
        "in_flight_peak": bench.in_flight_peak,
        "wall_seconds": round(wall, 3),
        "aggregate_mib_per_s": round(total / MIB / wall, 1) if wall else None,
        "server_rss_baseline_mib": _mib(baseline),
        "server_rss_peak_mib": _mib(peak),
        "server_rss_growth_mib": _mib(growth),
        "server_rss_after_mib": _mib(after),
        "server_rss_peak_sampled_mib": _mib(sampler.server_peak_rss),
        "server_rss_hwm_mib": _mib(high_water) if high_water else None,
        "server_threads_peak": sampler.server_peak_threads,
        "server_temp_bytes_peak": sampler.peak_temp_bytes,
        "server_exit_code_on_sigterm": exit_code,
        "server_log_tail": log_text if (errors or exit_code) else "",
        "client_rss_peak_mib": _mib(sampler.peak_rss),
        "machine": {**machine, "load_average_1m_after": _machine()["load_average_1m"]},
        "targets": {
            "errors_max": 0,
            "hash_mismatches_max": 0,
            "server_rss_growth_mib_max": _mib(bound),
        },
        "met_targets": intact and growth <= bound,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_result(result: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{time.strftime('%Y%m%dT%H%M%S')}-plugin-{result['driver']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
