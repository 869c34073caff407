"""SSE-C keys and the other server-side-encryption request arguments (spec 2.1).

Argo treats ``serverSideCustomerKeySecret`` as a *password* and derives the 32-byte customer key
with minio-go's ``encrypt.DefaultPBKDF``: Argon2id, 1 pass, 64 MiB of memory, 4 lanes, a 32-byte
output, salted with ``bucket + key`` of each object. ``tests/vectors/ssec`` holds keys produced
by minio-go itself, which the tests check this module against.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from argon2.low_level import Type, hash_secret_raw

from drivers.core.errors import BadRequest

# minio-go v7 pkg/encrypt DefaultPBKDF: argon2.IDKey(password, salt, 1, 64*1024, 4, 32).
ARGON2_TIME_COST = 1
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_LANES = 4
SSE_C_KEY_BYTES = 32
# The Argon2 reference library (and OpenSSL) refuse salts shorter than this; Go's x/crypto does
# not. See the deviation proposed in the driver's report (`s3-sse-c-short-salt`).
MIN_SALT_BYTES = 8


def derive_sse_c_key(password: bytes, bucket: str, key: str) -> bytes:
    """The SSE-C customer key minio-go derives for ``bucket``/``key`` from ``password``."""
    salt = (bucket + key).encode("utf-8")
    if len(salt) < MIN_SALT_BYTES:
        raise BadRequest(
            f"s3.encryptionOptions.serverSideCustomerKeySecret: cannot derive the SSE-C key for "
            f"key {key!r} in bucket {bucket!r}: bucket + key is {len(salt)} bytes, and the Argon2 "
            f"implementation needs a salt of at least {MIN_SALT_BYTES}; use a longer key"
        )
    return hash_secret_raw(
        password,
        salt,
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_LANES,
        hash_len=SSE_C_KEY_BYTES,
        type=Type.ID,
    )


def sse_c_arguments(customer_key: bytes) -> dict[str, Any]:
    """boto3 arguments for SSE-C; botocore adds the base64 key and its MD5 headers."""
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": customer_key}


def kms_context_header(context_json: str) -> str:
    """The value of ``x-amz-server-side-encryption-context``: base64 of the JSON object.

    Re-serialised as Go's ``json.Marshal`` of a map would (sorted keys, compact), as minio-go
    does with the context Argo parsed. The model has already checked that it is an object.
    """
    parsed: Mapping[str, Any] = json.loads(context_json)
    text = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # Go escapes these three for safe embedding in HTML; keep the bytes identical.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
