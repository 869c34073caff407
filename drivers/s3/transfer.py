"""Multipart settings (spec 6.6) as boto3 ``TransferConfig``s, with bounded memory.

* Files: ``ARTIFACT_S3_UPLOAD_PART_SIZE_MIB`` (5..5120, and only for a file of at least that
  size; otherwise ignored with a warning) and ``ARTIFACT_S3_UPLOAD_THREADS`` (an integer >= 1,
  else 4). Without a part size, minio-go's default applies: 16 MiB parts, and a single PUT up to
  16 MiB. As in minio-go, a file of exactly one part size is a single PUT.
* Streams (``save_stream``): the size is unknown, so parts are 8 MiB, at most 4 in flight and
  at most 4 held in memory: about 64 MiB at worst, whatever the stream's length. With 10,000
  parts the largest streamed object is about 78 GiB.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from boto3.s3.transfer import TransferConfig

log = logging.getLogger(__name__)

MIB = 1024 * 1024
PART_SIZE_ENV = "ARTIFACT_S3_UPLOAD_PART_SIZE_MIB"
THREADS_ENV = "ARTIFACT_S3_UPLOAD_THREADS"
DEFAULT_THREADS = 4
DEFAULT_PART_SIZE = 16 * MIB  # minio-go minPartSize
MIN_PART_MIB, MAX_PART_MIB = 5, 5120
STREAM_PART_SIZE = 8 * MIB
STREAM_MAX_CONCURRENCY = 4
DOWNLOAD_CHUNK = 1 * MIB


def upload_threads(settings: Mapping[str, str]) -> int:
    raw = settings.get(THREADS_ENV, "")
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if threads < 1:
        if raw:
            log.warning("ignoring %s=%r: not an integer >= 1; using %d", THREADS_ENV, raw, 4)
        return DEFAULT_THREADS
    return threads


def part_size(settings: Mapping[str, str], file_size: int) -> int | None:
    """The configured part size in bytes, or None (minio-go's default) when unset or invalid."""
    raw = settings.get(PART_SIZE_ENV, "")
    if not raw:
        return None
    try:
        mib = int(raw)
    except ValueError:
        log.warning("ignoring %s=%r: not an integer number of MiB", PART_SIZE_ENV, raw)
        return None
    if not MIN_PART_MIB <= mib <= MAX_PART_MIB:
        log.warning(
            "ignoring %s=%d: must be between %d and %d MiB",
            PART_SIZE_ENV,
            mib,
            MIN_PART_MIB,
            MAX_PART_MIB,
        )
        return None
    if file_size < mib * MIB:
        log.warning(
            "ignoring %s=%d for a file of %d bytes, smaller than one part",
            PART_SIZE_ENV,
            mib,
            file_size,
        )
        return None
    return mib * MIB


def file_upload_config(settings: Mapping[str, str], file_size: int) -> TransferConfig:
    threads = upload_threads(settings)
    part = part_size(settings, file_size) or DEFAULT_PART_SIZE
    return _config(
        # minio-go: a single PUT when size <= part size; s3transfer: multipart when >= threshold.
        threshold=part + 1,
        part=part,
        concurrency=threads,
    )


def stream_upload_config(settings: Mapping[str, str]) -> TransferConfig:
    concurrency = min(upload_threads(settings), STREAM_MAX_CONCURRENCY)
    return _config(threshold=STREAM_PART_SIZE, part=STREAM_PART_SIZE, concurrency=concurrency)


def _config(*, threshold: int, part: int, concurrency: int) -> TransferConfig:
    config = TransferConfig(
        multipart_threshold=threshold,
        multipart_chunksize=part,
        max_concurrency=concurrency,
        use_threads=concurrency > 1,
        preferred_transfer_client="classic",  # s3transfer, whose behaviour is documented here
    )
    # Parts read ahead from a non-seekable stream (s3transfer's default is 10).
    config.max_in_memory_upload_chunks = concurrency
    return config
