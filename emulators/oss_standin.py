"""A local stand-in for Alibaba Cloud OSS: NOT OSS, and not an OSS emulator.

No OSS emulator can be installed here that would prove anything about a driver (the public one
checks no signatures and corrupts multipart uploads), so the kit runs this small server of its
own. It answers, in OSS's wire format, the calls Argo's OSS driver and the kit's admin make:

* service: ListBuckets (Argo's Go SDK asks it whether a bucket exists);
* buckets: PutBucket, DeleteBucket, GetBucketInfo, GetBucketAcl (the Python SDK's existence
  check), ListObjects (v1: prefix, delimiter, marker, max-keys, ``encoding-type=url``),
  ListObjectsV2 (continuation token, start-after), DeleteMultipleObjects, ListMultipartUploads,
  Put/Get/DeleteBucketLifecycle (the document kept as sent, so a rule is evidence);
* objects: PutObject (Content-MD5 checked), GetObject (with Range, OSS's lenient and
  ``x-oss-range-behavior: standard`` forms), HeadObject, DeleteObject; InitiateMultipartUpload,
  UploadPart, CompleteMultipartUpload (ascending parts, ETags checked, 100 KiB minimum part,
  ETag ``<md5 of part md5s>-<n>`` as OSS), AbortMultipartUpload, ListParts;
* every request signed, checked by ``emulators/oss_auth.py`` (V1 and V4, our own code), with
  OSS's XML error bodies (``SignatureDoesNotMatch``, ``InvalidAccessKeyId``,
  ``InvalidSecurityToken``, ``RequestTimeTooSkewed``, ``NoSuchKey``, ...), the body of a HEAD
  error in ``x-oss-err`` as OSS sends it;
* keys per instance: a permanent pair and a temporary STS triple (key id ``STS.*``, secret,
  security token), from ``ARTCONF_OSS_KEYS`` (JSON ``{id: {"secret", "token"}}``);
* path-style requests (what both SDKs send to an IP endpoint) and virtual-hosted ones for
  ``<bucket>.localhost``;
* ``/artconf/health``: unsigned, answers the instance's nonce (``ARTCONF_OSS_NONCE``) so the
  readiness probe knows it reached this instance.

What it is not: no ACLs or policies (a key that signs correctly may do anything), no storage
classes, lifecycle rules stored but never executed, no versioning, no CRC64 headers, no
persistence across restarts (bytes on disk, index in memory). Run it as
``python -m emulators.oss_standin --port P --data DIR [--cert C --key K]``; it binds 127.0.0.1
only.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import socket
import sys
import uuid
import xml.etree.ElementTree as ET
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from emulators import oss_auth
from emulators.oss_store import Object, Store, StoreError, remove_quietly
from emulators.standin_http import loopback_server

VERSION = "oss-standin-1"
#: The region the stand-in signs for (V4 scopes name it); any real region name would do.
REGION = "cn-hangzhou"
DEFAULT_MAX_KEYS = 100
MAX_KEYS = 1000
OWNER = "artconf"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Refused(Exception):
    """An error answer: status, OSS code, message, extra XML elements, EC."""

    def __init__(self, status: int, code: str, message: str, extra: dict[str, str], ec: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.extra, self.ec = (
            status,
            code,
            message,
            extra,
            ec,
        )


class Handler(BaseHTTPRequestHandler):
    server_version = "artconf-oss-standin"
    protocol_version = "HTTP/1.1"
    store: Store
    keys: dict[str, oss_auth.Key]
    nonce: str

    # ------------------------------------------------------------------ plumbing

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, delayed ACKs cost each
        # small response about 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        # Method, path and status only: never a header (Authorization, security token).
        sys.stderr.write(
            f"{self.command} {self.path.split('?')[0]} {args[1] if len(args) > 1 else ''}\n"
        )

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        self.request_id = uuid.uuid4().hex[:24].upper()
        self.body_file: Path | None = None
        self.body_read = False
        try:
            parts = urlsplit(self.path)
            if parts.path == "/artconf/health":
                self._drain()
                self._send(200, self.nonce.encode(), "text/plain")
                return
            bucket, key = self._address(parts.path)
            query = parse_qsl(parts.query, keep_blank_values=True)
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = oss_auth.Request(self.command, bucket, key, query, parts.query, headers)
            try:
                oss_auth.verify(request, self.keys, REGION, dt.datetime.now(dt.UTC))
            except oss_auth.AuthError as exc:
                self._drain()
                raise Refused(exc.status, exc.code, exc.message, exc.extra, exc.ec) from None
            self._dispatch(request)
        except StoreError as exc:
            self._drain()
            self._error(Refused(exc.status, exc.code, exc.message, exc.extra))
        except Refused as exc:
            self._drain()
            self._error(exc)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        finally:
            if self.body_file is not None:
                remove_quietly(self.body_file)

    def _address(self, path: str) -> tuple[str | None, str | None]:
        """(bucket, key) of a path-style or `<bucket>.localhost` virtual-hosted request."""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        raw = path[1:]
        if host.endswith(".localhost"):
            bucket = host[: -len(".localhost")]
            return bucket, (unquote(raw) if raw else None)
        if not raw:
            return None, None
        bucket, sep, rest = raw.partition("/")
        return unquote(bucket), (unquote(rest) if sep and rest else None)

    # ------------------------------------------------------------------ bodies

    def _chunks(self):
        """The request body, in pieces, whether sized or chunked; read once only."""
        if self.body_read:
            return
        self.body_read = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0] or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return
                left = size
                while left:
                    data = self.rfile.read(min(left, 1 << 20))
                    if not data:
                        raise ConnectionError("body ended early")
                    left -= len(data)
                    yield data
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                data = self.rfile.read(min(left, 1 << 20))
                if not data:
                    raise ConnectionError("body ended early")
                left -= len(data)
                yield data

    def _drain(self) -> None:
        with contextlib.suppress(ValueError):
            for _ in self._chunks():
                pass

    def _body_to_file(self) -> tuple[Path, bytes]:
        """The body written to a new file of the store, and its MD5; Content-MD5 checked."""
        path = self.store.new_file()
        self.body_file = path
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("wb") as out:
            for data in self._chunks():
                digest.update(data)
                out.write(data)
        md5 = digest.digest()
        sent = self.headers.get("Content-MD5")
        if sent and sent != base64.b64encode(md5).decode():
            raise Refused(
                400,
                "InvalidDigest",
                "The Content-MD5 you specified is not valid.",
                {},
                ec="0016-00000801",
            )
        return path, md5

    def _keep_body(self) -> None:
        self.body_file = None  # it became an object or a part

    def _body(self) -> bytes:
        return b"".join(self._chunks())

    # ------------------------------------------------------------------ answers

    def _headers(self, status: int, length: int, content_type: str, extra: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("x-oss-request-id", self.request_id)
        self.send_header("Date", format_datetime(dt.datetime.now(dt.UTC), usegmt=True))
        self.send_header("Content-Length", str(length))
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "application/xml",
        extra: dict[str, str] | None = None,
    ) -> None:
        self._headers(status, len(body), content_type if body else "", extra or {})
        if self.command != "HEAD":
            self.wfile.write(body)

    def _xml(self, root: ET.Element, status: int = 200) -> None:
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)
        self._send(status, body)

    def _error(self, exc: Refused) -> None:
        root = ET.Element("Error")
        for name, value in [
            ("Code", exc.code),
            ("Message", exc.message),
            ("RequestId", self.request_id),
            ("HostId", self.headers.get("Host") or "127.0.0.1"),
            *exc.extra.items(),
            *([("EC", exc.ec)] if exc.ec else []),
        ]:
            ET.SubElement(root, name).text = value
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)
        extra = {"x-oss-ec": exc.ec} if exc.ec else {}
        if self.command == "HEAD":  # no body: OSS sends the error document in a header
            extra["x-oss-err"] = base64.b64encode(body).decode()
        self._send(exc.status, body, extra=extra)  # the body was drained: keep-alive is safe

    # ------------------------------------------------------------------ routing

    def _dispatch(self, request: oss_auth.Request) -> None:
        method, bucket, key = request.method, request.bucket, request.key
        params = dict(request.query)
        if bucket is None:
            if method == "GET":
                return self._list_buckets(params)
            raise Refused(405, "MethodNotAllowed", "The specified method is not allowed.", {})
        if key is None:
            return self._bucket_call(method, bucket, params)
        return self._object_call(method, bucket, key, params)

    def _bucket_call(self, method: str, bucket: str, params: dict[str, str]) -> None:
        if method == "PUT" and "lifecycle" in params:
            document = self._body()
            self.store.bucket(bucket).lifecycle = document
            return self._send(200)
        if method == "GET" and "lifecycle" in params:
            document = self.store.bucket(bucket).lifecycle
            if document is None:
                raise Refused(
                    404,
                    "NoSuchLifecycle",
                    "No Row found in Lifecycle Table.",
                    {"BucketName": bucket},
                )
            return self._send(200, document)
        if method == "DELETE" and "lifecycle" in params:
            self.store.bucket(bucket).lifecycle = None
            return self._send(204)
        if method == "PUT":
            self._drain()
            self.store.create_bucket(bucket)
            return self._send(200)
        if method == "DELETE":
            self.store.delete_bucket(bucket)
            return self._send(204)
        if method == "POST" and "delete" in params:
            return self._delete_many(bucket, params)
        if method == "GET" and "uploads" in params:
            return self._list_uploads(bucket)
        if method == "GET" and "bucketInfo" in params:
            return self._bucket_info(bucket)
        if method == "GET" and "acl" in params:
            self.store.bucket(bucket)
            root = ET.Element("AccessControlPolicy")
            owner = ET.SubElement(root, "Owner")
            ET.SubElement(owner, "ID").text = OWNER
            ET.SubElement(owner, "DisplayName").text = OWNER
            acl = ET.SubElement(root, "AccessControlList")
            ET.SubElement(acl, "Grant").text = "private"
            return self._xml(root)
        if method == "GET":
            return self._list_objects(bucket, params)
        if method == "HEAD":
            self.store.bucket(bucket)
            return self._send(200)
        raise Refused(405, "MethodNotAllowed", "The specified method is not allowed.", {})

    def _object_call(self, method: str, bucket: str, key: str, params: dict[str, str]) -> None:
        if method == "POST" and "uploads" in params:
            self._drain()
            self.store.bucket(bucket)
            upload_id = self.store.initiate(bucket, key)
            root = ET.Element("InitiateMultipartUploadResult")
            for name, value in (("Bucket", bucket), ("Key", key), ("UploadId", upload_id)):
                ET.SubElement(root, name).text = value
            return self._xml(root)
        if "uploadId" in params:
            return self._multipart(method, bucket, key, params)
        if method == "PUT":
            path, md5 = self._body_to_file()
            obj = self.store.put(bucket, key, path, md5, self.headers.get("Content-Type", ""))
            self._keep_body()
            return self._send(200, extra={"ETag": obj.etag})
        if method in ("GET", "HEAD"):
            return self._get(bucket, key)
        if method == "DELETE":
            self.store.delete(bucket, key)  # a missing key is no error, as OSS
            return self._send(204)
        raise Refused(405, "MethodNotAllowed", "The specified method is not allowed.", {})

    # ------------------------------------------------------------------ objects

    def _object_headers(self, obj: Object) -> dict[str, str]:
        return {
            "ETag": obj.etag,
            "Last-Modified": format_datetime(obj.modified, usegmt=True),
            "x-oss-object-type": "Multipart" if obj.parts else "Normal",
            "x-oss-storage-class": "Standard",
            "Accept-Ranges": "bytes",
        }

    def _get(self, bucket: str, key: str) -> None:
        obj = self.store.get(bucket, key)
        headers = self._object_headers(obj)
        start, end = 0, obj.size - 1
        status = 200
        wanted = self.headers.get("Range")
        if wanted and self.command == "GET":
            span = _range(wanted, obj.size)
            if span is not None:
                start, end = span
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{obj.size}"
            elif self.headers.get("x-oss-range-behavior", "").lower() == "standard":
                raise Refused(
                    416,
                    "InvalidRange",
                    "The requested range cannot be satisfied",
                    {"ActualObjectSize": str(obj.size)},
                )
            # otherwise OSS ignores a range it cannot satisfy and sends the whole object
        length = max(0, end - start + 1)
        self._headers(status, length, obj.content_type, headers)
        if self.command == "HEAD":
            return
        with obj.path.open("rb") as source:
            source.seek(start)
            left = length
            while left:
                data = source.read(min(left, 1 << 20))
                if not data:
                    break
                self.wfile.write(data)
                left -= len(data)

    def _delete_many(self, bucket: str, params: dict[str, str]) -> None:
        self.store.bucket(bucket)
        document = ET.fromstring(self._body())
        quiet = (document.findtext("Quiet") or "false").lower() == "true"
        encoded = params.get("encoding-type") == "url"
        root = ET.Element("DeleteResult")
        if encoded:
            ET.SubElement(root, "EncodingType").text = "url"
        for item in document.findall("Object"):
            key = item.findtext("Key") or ""
            self.store.delete(bucket, key)
            if not quiet:
                deleted = ET.SubElement(root, "Deleted")
                ET.SubElement(deleted, "Key").text = _url(key) if encoded else key
        self._xml(root)

    # ------------------------------------------------------------------ listings

    def _list_buckets(self, params: dict[str, str]) -> None:
        prefix = params.get("prefix", "")
        marker = params.get("marker", "")
        limit = _max_keys(params)
        names = sorted(n for n in self.store.buckets if n.startswith(prefix) and n > marker)
        page, truncated = names[:limit], len(names) > limit
        root = ET.Element("ListAllMyBucketsResult")
        ET.SubElement(root, "Prefix").text = prefix
        ET.SubElement(root, "Marker").text = marker
        ET.SubElement(root, "MaxKeys").text = str(limit)
        ET.SubElement(root, "IsTruncated").text = str(truncated).lower()
        if truncated:
            ET.SubElement(root, "NextMarker").text = page[-1]
        owner = ET.SubElement(root, "Owner")
        ET.SubElement(owner, "ID").text = OWNER
        ET.SubElement(owner, "DisplayName").text = OWNER
        buckets = ET.SubElement(root, "Buckets")
        for name in page:
            entry = ET.SubElement(buckets, "Bucket")
            ET.SubElement(entry, "Name").text = name
            ET.SubElement(entry, "CreationDate").text = _iso(self.store.buckets[name].created)
            ET.SubElement(entry, "Location").text = f"oss-{REGION}"
            ET.SubElement(entry, "Region").text = REGION
            ET.SubElement(entry, "StorageClass").text = "Standard"
        self._xml(root)

    def _bucket_info(self, bucket: str) -> None:
        found = self.store.bucket(bucket)
        root = ET.Element("BucketInfo")
        entry = ET.SubElement(root, "Bucket")
        for name, value in (
            ("Name", bucket),
            ("CreationDate", _iso(found.created)),
            ("Location", f"oss-{REGION}"),
            ("Region", REGION),
            ("StorageClass", "Standard"),
            ("ExtranetEndpoint", "127.0.0.1"),
            ("IntranetEndpoint", "127.0.0.1"),
        ):
            ET.SubElement(entry, name).text = value
        owner = ET.SubElement(entry, "Owner")
        ET.SubElement(owner, "ID").text = OWNER
        ET.SubElement(owner, "DisplayName").text = OWNER
        self._xml(root)

    def _list_objects(self, bucket: str, params: dict[str, str]) -> None:
        v2 = params.get("list-type") == "2"
        prefix = params.get("prefix", "")
        delimiter = params.get("delimiter", "")
        encoded = params.get("encoding-type") == "url"
        limit = _max_keys(params)
        if v2:
            token = params.get("continuation-token", "")
            after = _untoken(token) if token else params.get("start-after", "")
        else:
            after = params.get("marker", "")
        entries: list[tuple[str, Object | None]] = []  # (key or common prefix, object)
        seen: set[str] = set()
        truncated = False
        for obj in self.store.listing(bucket):
            if not obj.key.startswith(prefix) or obj.key <= after:
                continue
            name: str = obj.key
            found: Object | None = obj
            if delimiter:
                cut = obj.key.find(delimiter, len(prefix))
                if cut >= 0:
                    name, found = obj.key[: cut + len(delimiter)], None
                    if name in seen:
                        continue
                    if name <= after:
                        continue
            if len(entries) == limit:
                truncated = True
                break
            seen.add(name)
            entries.append((name, found))
        # The next page starts after the last entry; a common prefix given as the marker
        # skips every key it covers (the `name <= after` test above).
        resume = entries[-1][0] if entries else ""

        def text(value: str) -> str:
            return _url(value) if encoded else value

        root = ET.Element("ListBucketResult")
        ET.SubElement(root, "Name").text = bucket
        ET.SubElement(root, "Prefix").text = text(prefix)
        if v2:
            if "continuation-token" in params:
                ET.SubElement(root, "ContinuationToken").text = params["continuation-token"]
            if "start-after" in params:
                ET.SubElement(root, "StartAfter").text = text(params["start-after"])
        else:
            ET.SubElement(root, "Marker").text = text(after)
        ET.SubElement(root, "MaxKeys").text = str(limit)
        ET.SubElement(root, "Delimiter").text = text(delimiter)
        if encoded:
            ET.SubElement(root, "EncodingType").text = "url"
        ET.SubElement(root, "IsTruncated").text = str(truncated).lower()
        if truncated and v2:
            ET.SubElement(root, "NextContinuationToken").text = _token(resume)
        elif truncated:
            ET.SubElement(root, "NextMarker").text = text(resume)
        if v2:
            ET.SubElement(root, "KeyCount").text = str(len(entries))
        for name, obj in entries:
            if obj is None:
                common = ET.SubElement(root, "CommonPrefixes")
                ET.SubElement(common, "Prefix").text = text(name)
                continue
            contents = ET.SubElement(root, "Contents")
            ET.SubElement(contents, "Key").text = text(obj.key)
            ET.SubElement(contents, "LastModified").text = _iso(obj.modified)
            ET.SubElement(contents, "ETag").text = obj.etag
            ET.SubElement(contents, "Type").text = "Multipart" if obj.parts else "Normal"
            ET.SubElement(contents, "Size").text = str(obj.size)
            ET.SubElement(contents, "StorageClass").text = "Standard"
            if not v2 or params.get("fetch-owner") == "true":
                owner = ET.SubElement(contents, "Owner")
                ET.SubElement(owner, "ID").text = OWNER
                ET.SubElement(owner, "DisplayName").text = OWNER
        self._xml(root)

    def _list_uploads(self, bucket: str) -> None:
        root = ET.Element("ListMultipartUploadsResult")
        ET.SubElement(root, "Bucket").text = bucket
        ET.SubElement(root, "IsTruncated").text = "false"
        for upload in self.store.uploads(bucket):
            entry = ET.SubElement(root, "Upload")
            ET.SubElement(entry, "Key").text = upload.key
            ET.SubElement(entry, "UploadId").text = upload.upload_id
            ET.SubElement(entry, "Initiated").text = _iso(upload.started)
        self._xml(root)

    # ------------------------------------------------------------------ multipart

    def _multipart(self, method: str, bucket: str, key: str, params: dict[str, str]) -> None:
        upload = self.store.upload(bucket, key, params["uploadId"])
        if method == "PUT":
            try:
                number = int(params.get("partNumber", ""))
            except ValueError:
                number = 0
            if not 1 <= number <= 10000:
                raise Refused(
                    400,
                    "InvalidArgument",
                    "Part number must be an integer between 1 and 10000, inclusive.",
                    {"ArgumentName": "partNumber", "ArgumentValue": params.get("partNumber", "")},
                )
            path, md5 = self._body_to_file()
            etag = self.store.put_part(upload, number, path, md5)
            self._keep_body()
            return self._send(200, extra={"ETag": etag})
        if method == "POST":
            document = ET.fromstring(self._body() or b"<CompleteMultipartUpload/>")
            listed = [
                (int(part.findtext("PartNumber") or 0), part.findtext("ETag") or "")
                for part in document.findall("Part")
            ]
            obj = self.store.complete(bucket, upload, listed, self.headers.get("Content-Type", ""))
            root = ET.Element("CompleteMultipartUploadResult")
            for name, value in (("Bucket", bucket), ("Key", key), ("ETag", obj.etag)):
                ET.SubElement(root, name).text = value
            return self._xml(root)
        if method == "DELETE":
            self.store.abort(bucket, upload)
            return self._send(204)
        if method == "GET":
            root = ET.Element("ListPartsResult")
            for name, value in (
                ("Bucket", bucket),
                ("Key", key),
                ("UploadId", upload.upload_id),
                ("IsTruncated", "false"),
            ):
                ET.SubElement(root, name).text = value
            for number, (_, size, md5) in sorted(upload.parts.items()):
                part = ET.SubElement(root, "Part")
                ET.SubElement(part, "PartNumber").text = str(number)
                ET.SubElement(part, "ETag").text = f'"{md5.upper()}"'
                ET.SubElement(part, "Size").text = str(size)
            return self._xml(root)
        raise Refused(405, "MethodNotAllowed", "The specified method is not allowed.", {})


def _range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) of a satisfiable single range, else None."""
    match = _RANGE.match(header.strip())
    if not match or size == 0:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        n = int(last)
        return (max(0, size - n), size - 1) if n else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return None
    return start, end


def _max_keys(params: dict[str, str]) -> int:
    try:
        value = int(params.get("max-keys", DEFAULT_MAX_KEYS))
    except ValueError:
        value = DEFAULT_MAX_KEYS
    return max(1, min(value, MAX_KEYS))


def _token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError:
        raise Refused(
            400, "InvalidArgument", "The continuation token provided is incorrect.", {}
        ) from None


def _url(text: str) -> str:
    return quote(text, safe="")


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def read_keys(text: str) -> dict[str, oss_auth.Key]:
    """``{id: {"secret": ..., "token": ...}}`` -> keys by id."""
    raw = json.loads(text)
    return {
        key_id: oss_auth.Key(key_id, entry["secret"], entry.get("token", ""))
        for key_id, entry in raw.items()
    }


def make_server(
    port: int,
    data: Path,
    keys: dict[str, oss_auth.Key],
    nonce: str,
    cert: str | None = None,
    key: str | None = None,
) -> ThreadingHTTPServer:
    """A ready-to-serve stand-in bound to 127.0.0.1:``port`` (0 picks a free port)."""
    attributes = {"store": Store(data), "keys": keys, "nonce": nonce}
    handler = type("BoundHandler", (Handler,), attributes)
    return loopback_server(handler, port, cert, key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", required=True, help="directory for object bytes")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args(argv)
    try:
        keys = read_keys(os.environ.get("ARTCONF_OSS_KEYS", ""))
    except (ValueError, KeyError, AttributeError):
        print(
            'ARTCONF_OSS_KEYS must hold {"<key id>": {"secret": ..., "token": ...}}',
            file=sys.stderr,
        )
        return 2
    nonce = os.environ.get("ARTCONF_OSS_NONCE", "")
    if not keys or not nonce:
        print("ARTCONF_OSS_KEYS and ARTCONF_OSS_NONCE must be set", file=sys.stderr)
        return 2
    server = make_server(args.port, Path(args.data), keys, nonce, args.cert, args.key)
    scheme = "https" if args.cert else "http"
    print(
        f"OSS stand-in listening on {scheme}://127.0.0.1:{args.port}", file=sys.stderr, flush=True
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
