"""`artconf bench stream`: streaming throughput, memory growth and temp-file use per driver.

One server per run (MinIO; fake-gcs-server and Azurite backed by disk, so the server's memory
is not the client's), one driver in this process. After a warm-up transfer the benchmark
samples this process's RSS and the bytes under an empty TMPDIR (and the driver's temp_dir)
while `save_stream` uploads `size` bytes from a generator and `open_stream` reads them back.
Targets: RSS growth at most 64 MiB whatever the size (the stream is never held in memory),
and 0 temp-file bytes (nothing is buffered on disk either).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from conformance import kinds
from conformance.profiles import load_profiles
from drivers import new_driver
from drivers.core.model import parse_artifact
from drivers.core.secrets import MemorySecretSource
from emulators.fleet import Fleet
from emulators.sessions import new_session_dir

WARMUP_BYTES = 32 * 2**20
READ_CHUNK = 2**20
_UNITS = {
    "": 1,
    "B": 1,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
}


def parse_size(text: str) -> int:
    """`1GiB`, `64MiB`, `500MB`, `1048576` -> bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else None
    if not match or unit not in _UNITS:
        raise ValueError(f"--size {text!r}: expected a number with KiB, MiB, GiB, KB, MB or GB")
    return int(float(match.group(1)) * _UNITS[unit])


class PatternStream(io.RawIOBase):
    """`size` bytes of a repeated random block, generated on demand (never held whole)."""

    def __init__(self, size: int, block: bytes):
        self.remaining = size
        self.block = block
        self.offset = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.remaining)
        view = memoryview(buffer)
        done = 0
        while done < n:
            take = min(n - done, len(self.block) - self.offset)
            view[done : done + take] = self.block[self.offset : self.offset + take]
            self.offset = (self.offset + take) % len(self.block)
            done += take
        self.digest.update(view[:n])
        self.remaining -= n
        return n


class Sampler(threading.Thread):
    """Peak RSS of this process and peak bytes under the watched directories."""

    def __init__(self, watched: list[Path], interval: float = 0.05):
        super().__init__(daemon=True)
        self.watched = watched
        self.interval = interval
        self.peak_rss = 0
        self.peak_temp_bytes = 0
        self.temp_files_seen: set[str] = set()
        self._halt = threading.Event()
        self._process = psutil.Process()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            time.sleep(self.interval)

    def sample(self) -> None:
        self.peak_rss = max(self.peak_rss, self._process.memory_info().rss)
        total = 0
        for root in self.watched:
            for path in root.rglob("*"):
                try:
                    if path.is_file():
                        total += path.stat().st_size
                        self.temp_files_seen.add(str(path))
                except OSError:
                    pass
        self.peak_temp_bytes = max(self.peak_temp_bytes, total)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.sample()


def _transfer(driver, artifact, size: int, block: bytes) -> tuple[float, float, bool]:
    source = PatternStream(size, block)
    began = time.perf_counter()
    driver.save_stream(io.BufferedReader(source, READ_CHUNK), artifact)
    save_seconds = time.perf_counter() - began
    began = time.perf_counter()
    stream = driver.open_stream(artifact)
    digest, received = hashlib.sha256(), 0
    try:
        while chunk := stream.read(READ_CHUNK):
            digest.update(chunk)
            received += len(chunk)
    finally:
        stream.close()
    open_seconds = time.perf_counter() - began
    return (
        save_seconds,
        open_seconds,
        received == size and digest.digest() == source.digest.digest(),
    )


def bench_servers() -> dict[str, str]:
    """The server each kind is benchmarked on: its first real server, else its first one."""
    chosen: dict[str, str] = {}
    profiles = sorted(load_profiles().values(), key=lambda p: p.kind != "real")
    for profile in profiles:
        if not profile.is_resolution_source:
            chosen.setdefault(profile.driver, profile.server)
    return chosen


def bench_stream(driver_kind: str, size: int, progress: Callable[[str], None]) -> dict[str, Any]:
    server = bench_servers()[driver_kind]
    kind = kinds.get(driver_kind)
    block = os.urandom(4 * 2**20)
    with (
        Fleet(new_session_dir("bench")) as fleet,
        tempfile.TemporaryDirectory(prefix="artconf-bench-tmp-") as empty_tmp,
    ):
        progress(f"starting {server} (disk-backed) ...")
        endpoint = fleet.start_one(f"{server}-bench", server, False, on_disk=True)
        bucket = f"artconf-bench-{uuid.uuid4().hex[:8]}"
        admin = kind.admin(endpoint)
        admin.create_container(bucket)
        location = kind.location(endpoint, bucket)
        driver_tmp = Path(empty_tmp) / "driver"
        driver_tmp.mkdir()
        saved_tmpdir, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
        os.environ["TMPDIR"], tempfile.tempdir = empty_tmp, empty_tmp  # catch any temp file
        try:
            context = location.driver_context(temp_dir=driver_tmp)
            secrets = MemorySecretSource(location.secrets)
            warm = parse_artifact(location.with_key("warmup.bin").artifact())
            big = parse_artifact(location.with_key("bench.bin").artifact())
            with new_driver(big, secrets, context) as driver:
                progress(f"warm-up: {WARMUP_BYTES // 2**20} MiB each way")
                _transfer(driver, warm, WARMUP_BYTES, block)
                baseline = psutil.Process().memory_info().rss
                sampler = Sampler([Path(empty_tmp)])
                sampler.start()
                progress(
                    f"streaming {size / 2**20:.0f} MiB up (save_stream), then down (open_stream)"
                )
                try:
                    save_s, open_s, intact = _transfer(driver, big, size, block)
                finally:
                    sampler.stop()
        finally:
            tempfile.tempdir = saved_tempdir
            if saved_tmpdir is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = saved_tmpdir
            admin.delete_container(bucket)
    mib = size / 2**20
    return {
        "benchmark": "stream",
        "driver": driver_kind,
        "server": server,
        "server_version": endpoint.version,
        "size_bytes": size,
        "save_stream_seconds": round(save_s, 3),
        "save_stream_mib_per_s": round(mib / save_s, 1),
        "open_stream_seconds": round(open_s, 3),
        "open_stream_mib_per_s": round(mib / open_s, 1),
        "rss_baseline_mib": round(baseline / 2**20, 1),
        "rss_peak_mib": round(sampler.peak_rss / 2**20, 1),
        "rss_growth_mib": round(max(0, sampler.peak_rss - baseline) / 2**20, 1),
        "temp_bytes_peak": sampler.peak_temp_bytes,
        "temp_files": len(sampler.temp_files_seen),
        "data_intact": intact,
        "targets": {"rss_growth_mib_max": 64, "temp_bytes_max": 0},
        "met_targets": intact
        and (sampler.peak_rss - baseline) <= 64 * 2**20
        and sampler.peak_temp_bytes == 0,
    }


def write_result(result: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = out_dir / f"{stamp}-stream-{result['driver']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
