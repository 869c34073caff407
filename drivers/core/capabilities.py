"""The capability vocabulary: what a driver may do, what a server can prove, what a case checks.

One flat, typed list whose names follow a grammar, so a name can be guessed and can head a
report column:

    <operation>                 one of the seven driver methods: load, save, open_stream, ...
    <operation>_<variant>       that operation on a kind of input: load_directory, delete_directory
    <feature>_<variant>         a configuration feature: archive_zip, auth_session_token,
                                encryption_sse_c, tls_custom_ca, addressing_virtual_hosted

Drivers declare what their protocol allows (`Driver.capabilities`); backend profiles declare
what a server can really prove; suite cases declare which one they verify. An unknown name is
an error everywhere (`parse_capability`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Capability(enum.StrEnum):
    # the seven driver operations, and their directory variants
    LOAD = "load"
    LOAD_DIRECTORY = "load_directory"
    SAVE = "save"
    SAVE_DIRECTORY = "save_directory"
    SAVE_STREAM = "save_stream"
    OPEN_STREAM = "open_stream"
    DELETE = "delete"
    DELETE_DIRECTORY = "delete_directory"
    LIST_OBJECTS = "list_objects"
    IS_DIRECTORY = "is_directory"
    # archive strategies, through the executor's staging
    ARCHIVE_TAR = "archive_tar"
    ARCHIVE_ZIP = "archive_zip"
    ARCHIVE_NONE = "archive_none"
    # transport
    TLS_CUSTOM_CA = "tls_custom_ca"
    TLS_PLAIN_HTTP = "tls_plain_http"
    ADDRESSING_PATH = "addressing_path"
    ADDRESSING_VIRTUAL_HOSTED = "addressing_virtual_hosted"
    # credentials
    AUTH_STATIC_KEYS = "auth_static_keys"
    AUTH_SESSION_TOKEN = "auth_session_token"
    AUTH_ASSUME_ROLE = "auth_assume_role"
    AUTH_SDK_CHAIN = "auth_sdk_chain"
    AUTH_WEB_IDENTITY = "auth_web_identity"
    AUTH_SAS = "auth_sas"
    AUTH_SERVICE_ACCOUNT_KEY = "auth_service_account_key"
    AUTH_REJECTS_BAD_CREDENTIALS = "auth_rejects_bad_credentials"
    # bucket and object features
    CREATE_BUCKET = "create_bucket"
    CREATE_BUCKET_OBJECT_LOCKING = "create_bucket_object_locking"
    REGION_DISCOVERY = "region_discovery"
    ENCRYPTION_SSE_S3 = "encryption_sse_s3"
    ENCRYPTION_SSE_KMS = "encryption_sse_kms"
    ENCRYPTION_SSE_C = "encryption_sse_c"
    MULTIPART_UPLOAD = "multipart_upload"
    # artifact repository resolution (spec 3), verified by the resolution suite
    RESOLUTION_EXPLICIT_REF = "resolution_explicit_ref"
    RESOLUTION_NAMESPACE_DEFAULT = "resolution_namespace_default"
    RESOLUTION_CONTROLLER_DEFAULT = "resolution_controller_default"
    RESOLUTION_FALLTHROUGH = "resolution_fallthrough"
    RESOLUTION_ABORT = "resolution_abort"
    RESOLUTION_FORBIDDEN = "resolution_forbidden"
    RESOLUTION_RETRY = "resolution_retry"
    RESOLUTION_FROZEN_STATUS = "resolution_frozen_status"
    RESOLUTION_REF_MERGE = "resolution_ref_merge"
    RESOLUTION_ARCHIVE_LOCATION = "resolution_archive_location"


class UnknownCapability(ValueError):
    """A name outside the vocabulary, in a marker, a declaration or a profile."""


def parse_capability(name: str, *, where: str = "") -> Capability:
    try:
        return Capability(name)
    except ValueError:
        known = ", ".join(c.value for c in Capability)
        place = f" in {where}" if where else ""
        raise UnknownCapability(f"unknown capability {name!r}{place}; known: {known}") from None


def parse_capabilities(names: Iterable[str], *, where: str = "") -> frozenset[Capability]:
    return frozenset(parse_capability(n, where=where) for n in names)


# What every object-store driver does: the seven operations with their directory variants, and
# the three archive strategies the executor stages for it.
OBJECT_STORE_BASE: frozenset[Capability] = frozenset(
    {
        Capability.LOAD,
        Capability.LOAD_DIRECTORY,
        Capability.SAVE,
        Capability.SAVE_DIRECTORY,
        Capability.SAVE_STREAM,
        Capability.OPEN_STREAM,
        Capability.DELETE,
        Capability.DELETE_DIRECTORY,
        Capability.LIST_OBJECTS,
        Capability.IS_DIRECTORY,
        Capability.ARCHIVE_TAR,
        Capability.ARCHIVE_ZIP,
        Capability.ARCHIVE_NONE,
    }
)
