"""The reference Azure Blob driver (spec 1.3 "Azure", 2.3, 8.1): ``drivers.azure:AzureDriver``."""

from drivers.azure.connection import (
    BLOCK_SIZE,
    CHUNK_SIZE,
    DEFAULT_RETRY_TOTAL,
    MISSING_KEY_ERROR,
    RETRY_TOTAL_SETTING,
    SINGLE_PUT_MAX,
    container_url,
    determine_account_name,
    escape_dot_segments,
    is_sas_account_key,
)
from drivers.azure.driver import UPLOAD_CONCURRENCY, AzureDriver, directory_prefix

__all__ = [
    "BLOCK_SIZE",
    "CHUNK_SIZE",
    "DEFAULT_RETRY_TOTAL",
    "MISSING_KEY_ERROR",
    "RETRY_TOTAL_SETTING",
    "SINGLE_PUT_MAX",
    "UPLOAD_CONCURRENCY",
    "AzureDriver",
    "container_url",
    "determine_account_name",
    "directory_prefix",
    "escape_dot_segments",
    "is_sas_account_key",
]
