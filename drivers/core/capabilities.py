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
    #: load a file artifact: the object's bytes at a local path (spec 1.1 Load)
    LOAD = "load"
    #: load a key that is a prefix: every object under `key/` as a local tree
    LOAD_DIRECTORY = "load_directory"
    #: save a local file to exactly the artifact's key (spec 1.1 Save)
    SAVE = "save"
    #: save a local directory: one object per regular file under `key/`
    SAVE_DIRECTORY = "save_directory"
    #: upload from a one-way reader, never retried with it (spec 1.1 SaveStream)
    SAVE_STREAM = "save_stream"
    #: read an object as a stream, to its end (spec 1.1 OpenStream)
    OPEN_STREAM = "open_stream"
    #: delete a file artifact; a missing key is a success (GC, spec 7.3)
    DELETE = "delete"
    #: delete every object under `key/`, never a sibling (GC, spec 7.3)
    DELETE_DIRECTORY = "delete_directory"
    #: list the full keys under `key/`, without folder markers (spec 1.1)
    LIST_OBJECTS = "list_objects"
    #: tell whether objects exist under `key/` (spec 1.1 IsDirectory)
    IS_DIRECTORY = "is_directory"
    # artifact GC: what Argo's controller and GC pods leave on the server, through `delete`
    #: GC removes a file output's object, never a sibling or a Never output (spec 7.2, 7.3)
    GC_FILE = "gc_file"
    #: GC removes a directory output's objects, never a sibling or a Never output (7.2, 7.3)
    GC_DIRECTORY = "gc_directory"
    # archive strategies, through the executor's staging
    #: tar.gz staging of outputs and unpacking of inputs, with compressionLevel
    ARCHIVE_TAR = "archive_tar"
    #: zip staging of outputs and unzipping of inputs declared zip (spec 5.3)
    ARCHIVE_ZIP = "archive_zip"
    #: no archive: files and trees uploaded and loaded as they are (spec 5.2)
    ARCHIVE_NONE = "archive_none"
    #: a repository's keyFormat places outputs; key-only artifacts relocate (spec 4.3-4.5)
    KEY_FORMAT = "key_format"
    # transport
    #: trust a server certificate of a private CA, and nothing else (spec 6.1)
    TLS_CUSTOM_CA = "tls_custom_ca"
    #: speak plain HTTP when told to, and never fall back to it (spec 2.1)
    TLS_PLAIN_HTTP = "tls_plain_http"
    #: name the bucket in the URL path (`addressingStyle: path`, spec 2.1)
    ADDRESSING_PATH = "addressing_path"
    #: name the bucket in the host, `<bucket>.<host>` (spec 2.1)
    ADDRESSING_VIRTUAL_HOSTED = "addressing_virtual_hosted"
    # credentials
    #: authenticate with keys read from Secrets, stripped (spec 2.1, 2.3, 6.3)
    AUTH_STATIC_KEYS = "auth_static_keys"
    #: temporary keys with their session token (`sessionTokenSecret`, 2.1)
    AUTH_SESSION_TOKEN = "auth_session_token"
    #: assume `roleARN` with source credentials from the SDK chain (spec 6.3)
    AUTH_ASSUME_ROLE = "auth_assume_role"
    #: credentials from the SDK's default chain (`useSDKCreds`, spec 6.3)
    AUTH_SDK_CHAIN = "auth_sdk_chain"
    #: trade a web identity token (IRSA) for credentials at STS (spec 6.3)
    AUTH_WEB_IDENTITY = "auth_web_identity"
    #: authenticate with a SAS token in `accountKeySecret` (spec 2.3)
    AUTH_SAS = "auth_sas"
    #: authenticate with a service-account JSON key (spec 2.2)
    AUTH_SERVICE_ACCOUNT_KEY = "auth_service_account_key"
    #: a wrong credential is ERR_FORBIDDEN/ERR_UNAUTHORIZED, at once
    AUTH_REJECTS_BAD_CREDENTIALS = "auth_rejects_bad_credentials"
    #: HTTP basic auth from username/password Secrets, sent only as Argo sends it (spec 1.3)
    AUTH_BASIC = "auth_basic"
    #: an OAuth2 client-credentials token (scopes, endpointParams) sent as a bearer (spec 1.3)
    AUTH_OAUTH2 = "auth_oauth2"
    #: a client certificate and key from Secrets presented in the TLS handshake (spec 1.3)
    AUTH_CLIENT_CERT = "auth_client_cert"
    # HTTP transfers
    #: every configured request header sent, in order, repeats kept (spec 1.3 HTTP)
    REQUEST_HEADERS = "request_headers"
    #: a save answered 307/308 is re-sent with its body to the new location (spec 1.3 HTTP)
    REDIRECT_RESEND = "redirect_resend"
    #: `saveStreamViaFile`: a stream buffered to a temp file, then saved as a file (spec 1.3)
    SAVE_STREAM_VIA_FILE = "save_stream_via_file"
    #: Delete, ListObjects, IsDirectory a driver lacks fail with Argo's errors (spec 1.3, 7.3)
    REFUSES_UNSUPPORTED = "refuses_unsupported"
    # Git input artifacts (spec 1.3 Git, 2.7)
    #: load clones the whole repository into a directory, the default branch checked out
    CLONE = "clone"
    #: `depth`: a shallow clone with exactly that many commits (0: the whole history)
    CLONE_DEPTH = "clone_depth"
    #: `revision`: a commit by hash, short hash, tag, branch or `HEAD~n`, checked out
    CLONE_REVISION = "clone_revision"
    #: `fetch`: extra refspecs fetched after the clone
    CLONE_FETCH_REFSPECS = "clone_fetch_refspecs"
    #: submodules cloned recursively, none when `disableSubmodules`
    CLONE_SUBMODULES = "clone_submodules"
    #: `singleBranch` with `branch`: only that branch is fetched and checked out
    CLONE_SINGLE_BRANCH = "clone_single_branch"
    #: `sshPrivateKeySecret`: SSH public-key auth, the user from the URL (default `git`)
    AUTH_SSH_KEY = "auth_ssh_key"
    #: the server's SSH host key checked against known hosts unless `insecureIgnoreHostKey`
    SSH_HOST_KEY_CHECK = "ssh_host_key_check"
    #: `insecureSkipTLS`: a server certificate no trusted CA signed is accepted
    TLS_INSECURE_SKIP_VERIFY = "tls_insecure_skip_verify"
    # bucket and object features
    #: create a missing bucket on save (`createBucketIfNotPresent`, spec 2.1)
    CREATE_BUCKET = "create_bucket"
    #: create that bucket with object locking (spec 2.1)
    CREATE_BUCKET_OBJECT_LOCKING = "create_bucket_object_locking"
    #: find an unset region from the bucket; use a set one as is (spec 6.2)
    REGION_DISCOVERY = "region_discovery"
    #: server-side encryption with server-managed keys (spec 2.1)
    ENCRYPTION_SSE_S3 = "encryption_sse_s3"
    #: server-side encryption with a KMS key (`kmsKeyId`, spec 2.1)
    ENCRYPTION_SSE_KMS = "encryption_sse_kms"
    #: encryption with a customer-provided key from a Secret (spec 2.1)
    ENCRYPTION_SSE_C = "encryption_sse_c"
    #: upload a large file in parts, as the server records (spec 6.6)
    MULTIPART_UPLOAD = "multipart_upload"
    # artifact repository resolution (spec 3), verified by the resolution suite
    #: an `artifactRepositoryRef` resolves in W then C, never the default
    RESOLUTION_EXPLICIT_REF = "resolution_explicit_ref"
    #: without a ref, W's ConfigMap's default annotation (spec 3.1)
    RESOLUTION_NAMESPACE_DEFAULT = "resolution_namespace_default"
    #: without a ref or ConfigMap key, the controller's (spec 3.1)
    RESOLUTION_CONTROLLER_DEFAULT = "resolution_controller_default"
    #: a missing ConfigMap or key means: try the next candidate (3.1)
    RESOLUTION_FALLTHROUGH = "resolution_fallthrough"
    #: a value that does not parse stops resolution at once (spec 3.1)
    RESOLUTION_ABORT = "resolution_abort"
    #: a 403 reading a ConfigMap stops resolution at once (spec 3.1)
    RESOLUTION_FORBIDDEN = "resolution_forbidden"
    #: unavailable reads are retried with DefaultRetry (spec 3.1, 6.4)
    RESOLUTION_RETRY = "resolution_retry"
    #: a repository recorded in the status is kept (spec 3.1, 3.2)
    RESOLUTION_FROZEN_STATUS = "resolution_frozen_status"
    #: the ref merged from Workflow, template and defaults (spec 3.1)
    RESOLUTION_REF_MERGE = "resolution_ref_merge"
    #: a template's own archiveLocation over the repository (2.11)
    RESOLUTION_ARCHIVE_LOCATION = "resolution_archive_location"
    # OSS
    #: `lifecycleRule`: one bucket rule for the key's prefix, ID sha256(key) (spec 2.4)
    LIFECYCLE_RULE = "lifecycle_rule"
    # HDFS
    #: a files-only driver refuses a directory both ways, with its error, writing nothing (1.3)
    REFUSES_DIRECTORIES = "refuses_directories"
    #: `force`: a save replaces an existing file; without it the file is kept and the save fails
    SAVE_FORCE = "save_force"


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


# What every object-store driver does: the seven operations with their directory variants, the
# artifact GC done through them, and the three archive strategies the executor stages for it.
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
        Capability.GC_FILE,
        Capability.GC_DIRECTORY,
        Capability.ARCHIVE_TAR,
        Capability.ARCHIVE_ZIP,
        Capability.ARCHIVE_NONE,
        Capability.KEY_FORMAT,
    }
)
