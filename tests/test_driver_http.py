"""`drivers.http` (HTTPDriver, ArtifactoryDriver) against the kit's real nginx servers.

nginx (`emulators/nginx.py`) serves `/dav/` with basic auth (a writer and a read-only user),
`/oauth/` with bearer tokens of its Authlib token server, `/headers/` only with
`X-Artconf-Check`, `/open/` to anyone and `/redirect/<p>` as a 307 to `/open/<p>`; `nginx-mtls`
also wants the client certificate. What nginx cannot show (the header lines on the wire, the
token requests, Go's redirect rules across hosts) is checked on a small recording server below.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import socket
import stat
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from drivers import new_driver
from drivers.base import Driver
from drivers.controller.gc import ERR_DELETE_NOT_SUPPORTED
from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext
from drivers.core.errors import LIST_OBJECTS_NOT_SUPPORTED, ArtifactError, BadRequest, Code
from drivers.core.model import Artifact
from drivers.core.secrets import MemorySecretSource
from drivers.http import ArtifactoryDriver, HTTPDriver
from drivers.http.connection import environment_proxies
from emulators import nginx, oauth_server
from emulators.endpoint import Endpoint
from tests.servers import unique_name

MIB = 1024 * 1024
SECRET = "web"
BIG = os.urandom(3 * MIB + 5)  # several chunks, and over nginx's default body limit


def sel(key: str) -> dict[str, str]:
    return {"name": SECRET, "key": key}


BASIC = {"basicAuth": {"usernameSecret": sel("user"), "passwordSecret": sel("password")}}
READER = {"basicAuth": {"usernameSecret": sel("reader"), "passwordSecret": sel("reader_password")}}
CLIENT_CERT = {
    "clientCert": {"clientCertSecret": sel("client_cert"), "clientKeySecret": sel("client_key")}
}


def oauth2(*, audience: bool = True, scopes: bool = True) -> dict[str, Any]:
    params = [{"key": "audience", "value": oauth_server.AUDIENCE}] if audience else []
    return {
        "oauth2": {
            "clientIDSecret": sel("client_id"),
            "clientSecretSecret": sel("client_secret"),
            "tokenURLSecret": sel("token_url"),
            "scopes": [oauth_server.READ_SCOPE, oauth_server.WRITE_SCOPE] if scopes else [],
            "endpointParams": params,
        }
    }


def raises(fn: Callable[[], object], code: Code) -> ArtifactError:
    with pytest.raises(ArtifactError) as info:
        fn()
    assert info.value.code is code, f"{info.value.code}: {info.value}"
    return info.value


# ------------------------------------------------------------------------------------ fixtures


@dataclass
class Web:
    """One test's view of a server: its URLs, secrets, drivers, and the writer's own client."""

    endpoint: Endpoint
    tmp: Path
    folder: str = field(default_factory=unique_name)
    drivers: list[Driver] = field(default_factory=list)

    def url(self, location: str, name: str) -> str:
        return f"{self.endpoint.url}/{location}/{self.folder}/{name}"

    @property
    def private(self) -> Path:
        return self.tmp / "private"

    def context(self) -> DriverContext:
        return DriverContext(
            ca_bundle=self.endpoint.ca_bundle, temp_dir=self.private, sleep=_no_sleep
        )

    def secrets(self, **changes: str) -> MemorySecretSource:
        return MemorySecretSource({SECRET: {**self.endpoint.credentials, **changes}})

    def driver(self, artifact: Artifact, **changes: str) -> Driver:
        driver = new_driver(artifact, self.secrets(**changes), self.context())
        self.drivers.append(driver)
        return driver

    def file(self, name: str, data: bytes) -> Path:
        path = self.tmp / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def stored(self, location: str, name: str) -> bytes | None:
        """What the server holds, read by the writer (no client certificate needed)."""
        creds = self.endpoint.credentials
        with requests.Session() as session:
            session.trust_env = False
            response = session.get(
                self.url(location, name),
                auth=(creds["user"], creds["password"]),
                verify=self.endpoint.ca_bundle or True,
            )
        assert response.status_code in (200, 404), response.status_code
        return response.content if response.status_code == 200 else None


def http(url: str, *, auth: dict | None = None, headers=(), **fields: Any) -> Artifact:
    location: dict[str, Any] = {"url": url, **fields}
    if auth:
        location["auth"] = auth
    if headers:
        location["headers"] = [{"name": n, "value": v} for n, v in headers]
    return Artifact.model_validate({"name": "art", "http": location})


def artifactory(url: str, user: str = "user", password: str | None = "password") -> Artifact:
    location: dict[str, Any] = {"url": url, "usernameSecret": sel(user)}
    if password:
        location["passwordSecret"] = sel(password)
    return Artifact.model_validate({"name": "art", "artifactory": location})


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"the HTTP driver never retries (asked to sleep {seconds}s)")


def _web(endpoint: Endpoint, tmp_path: Path) -> Iterator[Web]:
    web = Web(endpoint, tmp_path)
    yield web
    for driver in web.drivers:
        driver.close()
    assert not web.private.exists() or not list(web.private.iterdir()), "private files left"


@pytest.fixture(params=["nginx", "nginx-tls"])
def web(request, artconf_server, tmp_path) -> Iterator[Web]:
    yield from _web(artconf_server(request.param), tmp_path)


@pytest.fixture
def plain(artconf_server, tmp_path) -> Iterator[Web]:
    yield from _web(artconf_server("nginx"), tmp_path)


@pytest.fixture
def mtls(artconf_server, tmp_path) -> Iterator[Web]:
    yield from _web(artconf_server("nginx-mtls-tls"), tmp_path)


# ------------------------------------------------------------------------- round trips, errors


def test_capabilities():
    """What each protocol allows: no delete, listing, directories or GC (spec 1.3)."""
    transfers = """load save save_stream open_stream archive_tar archive_zip archive_none
        tls_custom_ca tls_plain_http auth_rejects_bad_credentials auth_basic redirect_resend
        refuses_unsupported"""
    http_only = "auth_oauth2 auth_client_cert request_headers save_stream_via_file"
    artifactory = f"{transfers} key_format"  # a repository, which HTTP never is
    assert ArtifactoryDriver.capabilities == {Capability(c) for c in artifactory.split()}
    assert HTTPDriver.capabilities == {Capability(c) for c in f"{transfers} {http_only}".split()}


def test_round_trip(web):
    artifact = http(web.url("dav", "big.bin"), auth=BASIC)
    driver = web.driver(artifact)
    assert type(driver) is HTTPDriver
    driver.save(str(web.file("big.bin", BIG)), artifact)
    assert web.stored("dav", "big.bin") == BIG
    out = web.tmp / "out" / "big.bin"
    driver.load(artifact, str(out))
    assert out.read_bytes() == BIG
    with driver.open_stream(artifact) as stream:
        assert stream.read() == BIG
    streamed = http(web.url("dav", "streamed.bin"), auth=BASIC)
    driver.save_stream(io.BufferedReader(io.BytesIO(BIG)), streamed)  # type: ignore[arg-type]
    assert web.stored("dav", "streamed.bin") == BIG
    empty = http(web.url("dav", "empty.bin"), auth=BASIC)
    driver.save(str(web.file("empty.bin", b"")), empty)
    assert web.stored("dav", "empty.bin") == b""


def test_missing_is_not_found_and_leaves_nothing(web):
    artifact = http(web.url("dav", "absent.txt"), auth=BASIC)
    driver = web.driver(artifact)
    out = web.tmp / "out.txt"
    error = raises(lambda: driver.load(artifact, str(out)), Code.NOT_FOUND)
    assert str(error) == "404 Not Found" and not error.transient
    assert not out.exists()
    assert str(raises(lambda: driver.open_stream(artifact), Code.NOT_FOUND)) == "404 Not Found"


def test_wrong_password_is_typed_and_keeps_argos_text(web):
    url = web.url("dav", "file.txt")
    artifact = http(url, auth=BASIC)
    web.driver(artifact).save(str(web.file("file.txt", b"x")), artifact)
    driver = web.driver(artifact, password="wrong-password")
    out = web.tmp / "out.txt"
    error = raises(lambda: driver.load(artifact, str(out)), Code.UNAUTHORIZED)
    assert f"loading content from {url} failed with reason: 401 Unauthorized" in str(error)
    assert not error.transient and not out.exists()
    assert "wrong-password" not in str(error)
    path = web.file("other.txt", BIG)  # refused before the body is read
    error = raises(lambda: driver.save(str(path), artifact), Code.UNAUTHORIZED)
    assert f"saving file {path} to {url} failed with reason: 401 Unauthorized" in str(error)


def test_reader_loads_but_cannot_save(plain):
    url = plain.url("dav", "shared.txt")
    plain.driver(http(url, auth=BASIC)).save(str(plain.file("s", b"readable")), http(url))
    reader = plain.driver(http(url, auth=READER))
    out = plain.tmp / "out.txt"
    reader.load(http(url), str(out))
    assert out.read_bytes() == b"readable"
    target = plain.url("dav", "written.txt")
    path = plain.file("w", b"no")
    error = raises(lambda: reader.save(str(path), http(target)), Code.UNAUTHORIZED)
    assert "failed with reason: 401 Unauthorized" in str(error)
    assert plain.stored("dav", "written.txt") is None


def test_basic_auth_needs_both_values(plain):
    """An empty password sends no basic auth at all, so /dav/ refuses even the right user."""
    url = plain.url("dav", "f.txt")
    driver = plain.driver(http(url, auth=BASIC), password="")
    raises(lambda: driver.load(http(url), str(plain.tmp / "o")), Code.UNAUTHORIZED)


def test_a_directory_is_refused_before_any_request(plain):
    folder = plain.tmp / "folder"
    folder.mkdir()
    artifact = http(plain.url("open", "folder"))
    error = raises(lambda: plain.driver(artifact).save(str(folder), artifact), Code.BAD_REQUEST)
    assert "http-save-directory-refused" in str(error)
    assert plain.stored("open", "folder") is None


def test_unsupported_operations_give_argos_texts(plain):
    for artifact in (http(plain.url("open", "x")), artifactory(plain.url("dav", "x"))):
        driver = plain.driver(artifact)
        error = raises(lambda d=driver, a=artifact: d.delete(a), Code.INTERNAL)
        assert str(error) == ERR_DELETE_NOT_SUPPORTED
        error = raises(lambda d=driver, a=artifact: d.list_objects(a), Code.INTERNAL)
        assert str(error) == LIST_OBJECTS_NOT_SUPPORTED
        error = raises(lambda d=driver, a=artifact: d.is_directory(a), Code.NOT_IMPLEMENTED)
        assert str(error) == "IsDirectory currently unimplemented for http"
    other = Artifact.model_validate({"name": "art", "raw": {"data": "x"}})
    error = raises(lambda: driver.load(other, str(plain.tmp / "o")), Code.INTERNAL)
    assert str(error) == "Either Artifactory or HTTP artifact needs to be configured"


# ------------------------------------------------------------------------------------- headers


def test_configured_headers_are_sent_repeats_in_order(plain):
    check, good = nginx.CHECK_HEADER, nginx.CHECK_VALUE
    url = plain.url("headers", "h.txt")
    with_header = http(url, headers=[(check.lower(), good)])
    driver = plain.driver(with_header)
    driver.save(str(plain.file("h", b"headed")), with_header)
    out = plain.tmp / "out"
    driver.load(with_header, str(out))
    assert out.read_bytes() == b"headed"
    bare = http(url)
    error = raises(lambda: plain.driver(bare).load(bare, str(out)), Code.FORBIDDEN)
    assert f"loading content from {url} failed with reason: 403 Forbidden" in str(error)
    # nginx 1.22 reads the first line of a repeated header: only two lines, in this order, pass
    # (one joined line, or the last value alone, would be refused).
    first_good = http(url, headers=[(check, good), (check, "other")])
    plain.driver(first_good).load(first_good, str(out))
    last_good = http(url, headers=[(check, "other"), (check, good)])
    raises(lambda: plain.driver(last_good).load(last_good, str(out)), Code.FORBIDDEN)


# -------------------------------------------------------------------------------------- OAuth2


def test_oauth2_client_credentials_round_trip(web):
    artifact = http(web.url("oauth", "o.bin"), auth=oauth2())
    driver = web.driver(artifact)
    driver.save(str(web.file("o.bin", BIG)), artifact)
    out = web.tmp / "out.bin"
    driver.load(artifact, str(out))
    assert out.read_bytes() == BIG
    without = http(web.url("oauth", "o.bin"))
    raises(lambda: web.driver(without).load(without, str(out)), Code.UNAUTHORIZED)


def test_oauth2_sends_the_endpoint_params_and_the_scopes(plain):
    creds = plain.endpoint.credentials
    path = plain.file("o", b"x")
    no_audience = http(plain.url("oauth", "o.bin"), auth=oauth2(audience=False))
    error = raises(lambda: plain.driver(no_audience).save(str(path), no_audience), Code.INTERNAL)
    assert 'oauth2: "invalid_request"' in str(error) and "audience" in str(error)
    for secret in (creds["client_secret"], creds["token_url"]):
        assert secret not in str(error)
    # Without scopes the token is issued, but it may not write.
    no_scopes = http(plain.url("oauth", "o.bin"), auth=oauth2(scopes=False))
    error = raises(lambda: plain.driver(no_scopes).save(str(path), no_scopes), Code.FORBIDDEN)
    assert "failed with reason: 403 Forbidden" in str(error)


def test_oauth2_wrong_secret_is_unauthorized(plain):
    artifact = http(plain.url("oauth", "o.bin"), auth=oauth2())
    driver = plain.driver(artifact, client_secret="not-the-secret")
    error = raises(lambda: driver.load(artifact, str(plain.tmp / "o")), Code.UNAUTHORIZED)
    assert 'oauth2: "invalid_client"' in str(error) and "not-the-secret" not in str(error)


def test_oauth2_unreachable_token_url_is_not_named(plain):
    closed = f"http://127.0.0.1:{_free_port()}/secret-token-path"
    artifact = http(plain.url("oauth", "o.bin"), auth=oauth2())
    driver = plain.driver(artifact, token_url=closed)
    error = raises(lambda: driver.load(artifact, str(plain.tmp / "o")), Code.INTERNAL)
    assert error.transient and "Connection refused" in str(error)
    assert "secret-token-path" not in str(error) and error.__cause__ is None


# ----------------------------------------------------------------------------------- redirects


def test_save_follows_a_307_with_the_whole_body(plain):
    artifact = http(plain.url("redirect", "big.bin"))
    plain.driver(artifact).save(str(plain.file("big.bin", BIG)), artifact)
    assert plain.stored("open", "big.bin") == BIG


def test_a_streamed_save_is_not_re_sent(plain):
    url = plain.url("redirect", "streamed.bin")
    artifact = http(url)
    driver = plain.driver(artifact)
    error = raises(lambda: driver.save_stream(io.BytesIO(BIG), artifact), Code.INTERNAL)
    assert str(error) == f"saving stream to {url} failed with reason: 307 Temporary Redirect"
    assert plain.stored("open", "streamed.bin") is None


def test_save_stream_via_file_follows_the_307_and_cleans_up(plain):
    artifact = http(plain.url("redirect", "via.bin"), saveStreamViaFile=True)
    driver = plain.driver(artifact)
    saved: list[Path] = []
    original = driver.save

    def spy(path: str, art: Artifact) -> None:
        saved.append(Path(path))
        assert Path(path).read_bytes() == BIG
        original(path, art)

    driver.save = spy  # type: ignore[method-assign]
    driver.save_stream(io.BytesIO(BIG), artifact)
    assert plain.stored("open", "via.bin") == BIG
    assert len(saved) == 1 and saved[0].name.startswith("http-upload-")
    assert saved[0].parent == plain.private and not saved[0].exists()


def test_artifactory_never_buffers_a_stream(plain):
    url = plain.url("redirect", "a.bin")
    artifact = artifactory(url)
    driver = plain.driver(artifact)
    error = raises(lambda: driver.save_stream(io.BytesIO(b"abc"), artifact), Code.INTERNAL)
    assert str(error) == f"saving stream to {url} failed with reason: 307 Temporary Redirect"


# ---------------------------------------------------------------------------------- Artifactory


def test_artifactory_round_trip_and_refusals(web):
    url = web.url("dav", "a.bin")
    artifact = artifactory(url)
    driver = web.driver(artifact)
    assert type(driver) is ArtifactoryDriver
    driver.save(str(web.file("a.bin", BIG)), artifact)
    assert web.stored("dav", "a.bin") == BIG
    out = web.tmp / "a.bin"
    driver.load(artifact, str(out))
    assert out.read_bytes() == BIG
    wrong = web.driver(artifact, password="wrong")
    error = raises(lambda: wrong.load(artifact, str(web.tmp / "w")), Code.UNAUTHORIZED)
    assert f"loading content from {url} failed with reason: 401 Unauthorized" in str(error)
    reader = web.driver(artifactory(url, "reader", "reader_password"))
    reader.load(artifact, str(web.tmp / "r"))
    raises(lambda: reader.save(str(web.file("r", b"r")), artifact), Code.UNAUTHORIZED)
    assert web.stored("dav", "a.bin") == BIG


def test_artifactory_needs_both_secrets(plain):
    with pytest.raises(BadRequest, match=r"artifactory\.passwordSecret: required"):
        plain.driver(artifactory(plain.url("dav", "a"), password=None))


# ----------------------------------------------------------------------------- transport, TLS


def test_connection_refused_is_a_transient_artifact_error(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}/x"
    driver = new_driver(http(url), MemorySecretSource({}), DriverContext(temp_dir=tmp_path))
    error = raises(lambda: driver.load(http(url), str(tmp_path / "o")), Code.INTERNAL)
    assert error.transient and "refused" in str(error).lower() and url in str(error)


def test_an_untrusted_server_certificate_is_refused(artconf_server, tmp_path):
    endpoint = artconf_server("nginx-tls")
    artifact = http(f"{endpoint.url}/open/{unique_name()}")
    driver = new_driver(artifact, MemorySecretSource({}), DriverContext(temp_dir=tmp_path))
    error = raises(lambda: driver.load(artifact, str(tmp_path / "o")), Code.INTERNAL)
    assert "TLS certificate verification failed" in str(error) and not error.transient


# --------------------------------------------------------------------------- client certificate


def test_client_certificate_round_trip(mtls):
    artifact = http(mtls.url("open", "c.bin"), auth=CLIENT_CERT)
    driver = mtls.driver(artifact)
    directory = Path(driver.connection.certificate.directory)  # type: ignore[attr-defined]
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()} == {0o600}
    driver.save(str(mtls.file("c.bin", BIG)), artifact)
    out = mtls.tmp / "c.bin"
    driver.load(artifact, str(out))
    assert out.read_bytes() == BIG
    driver.close()
    driver.close()
    assert not directory.exists()


def test_without_the_client_certificate_nginx_answers_400(mtls):
    url = mtls.url("open", "c.bin")
    artifact = http(url)
    error = raises(lambda: mtls.driver(artifact).load(artifact, str(mtls.tmp / "o")), Code.INTERNAL)
    assert str(error) == f"loading content from {url} failed with reason: 400 Bad Request"


def test_the_client_certificate_replaces_oauth2(mtls):
    """With both, Go's factory keeps the certificate's client: no bearer, so /oauth/ says 401."""
    both = http(mtls.url("oauth", "o.bin"), auth={**oauth2(), **CLIENT_CERT})
    driver = mtls.driver(both)
    assert driver.connection.client.token is None  # type: ignore[attr-defined]
    error = raises(lambda: driver.load(both, str(mtls.tmp / "o")), Code.UNAUTHORIZED)
    assert "401 Unauthorized" in str(error)
    oauth_only = http(mtls.url("oauth", "o.bin"), auth=oauth2())
    out = str(mtls.tmp / "o")
    error = raises(lambda: mtls.driver(oauth_only).load(oauth_only, out), Code.INTERNAL)
    assert "400 Bad Request" in str(error)


def test_bad_client_certificates_are_refused(mtls):
    creds = mtls.endpoint.credentials
    artifact = http(mtls.url("open", "c"), auth=CLIENT_CERT)
    cases = {
        "clientCertSecret: no PEM certificate": {"client_cert": "not a certificate"},
        "clientKeySecret: no unencrypted PEM private key": {"client_key": "-----BEGIN nothing"},
        "does not belong to the certificate": {
            "client_cert": Path(mtls.endpoint.ca_bundle or "").read_text()
        },
    }
    for message, changes in cases.items():
        with pytest.raises(BadRequest, match=message) as info:
            mtls.driver(artifact, **changes)
        assert creds["client_key"] not in str(info.value)


# ------------------------------------------------------------ what goes on the wire (recorder)


@dataclass
class Seen:
    method: str
    path: str
    headers: list[tuple[str, str]]  # as received, repeats kept (values latin-1 decoded)
    body: bytes

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


Answer = tuple[int, dict[str, str], bytes]


class Recorder:
    """A local HTTP/1.1 server recording each request; `routes` answer by path."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.routes: dict[str, Callable[[Seen], Answer]] = {}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def handle_one(self) -> None:
                seen = Seen(self.command, self.path, list(self.headers.items()), self._body())
                recorder.seen.append(seen)
                route = recorder.routes.get(urllib.parse.urlsplit(self.path).path)
                status, headers, body = route(seen) if route else (404, {}, b"")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = handle_one

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", ""):
                    parts = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                    self.rfile.readline()
                    return b"".join(parts)
                return self.rfile.read(int(self.headers.get("Content-Length", 0)))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


@pytest.fixture
def other() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


def ok(body: bytes = b"ok") -> Callable[[Seen], Answer]:
    return lambda seen: (200, {}, body)


def redirect(status: int, location: str) -> Callable[[Seen], Answer]:
    return lambda seen: (status, {"Location": location}, b"")


def local(artifact: Artifact, tmp: Path, secrets: dict[str, str] | None = None) -> Driver:
    source = MemorySecretSource({SECRET: secrets or {}})
    return new_driver(artifact, source, DriverContext(temp_dir=tmp / "private"))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_headers_on_the_wire(recorder, tmp_path):
    recorder.routes["/f"] = ok()
    headers = [("x-repeat", "one"), ("Authorization", "Bearer mine"), ("X-Repeat", "two")]
    headers.append(("X-Utf8", "café"))
    artifact = http(recorder.url("/f"), auth=BASIC, headers=headers)
    secrets = {"user": "üser", "password": "pässwörd€"}
    with local(artifact, tmp_path, secrets) as driver:
        driver.load(artifact, str(tmp_path / "o"))
    (seen,) = recorder.seen
    assert [k for k, _ in seen.headers if k.lower() == "x-repeat"] == ["X-Repeat", "X-Repeat"]
    assert seen.values("X-Repeat") == ["one", "two"]
    # basic auth replaces the header of the same name, over the UTF-8 bytes
    assert seen.values("Authorization") == [basic("üser", "pässwörd€")]
    assert seen.values("X-Utf8")[0].encode("latin-1") == "café".encode()
    assert seen.values("Accept-Encoding") == ["gzip"]
    assert not seen.values("Cookie")


def test_basic_auth_only_with_both_values_for_http_always_for_artifactory(recorder, tmp_path):
    recorder.routes["/f"] = ok()
    out = str(tmp_path / "o")
    for secrets in ({"user": "u", "password": ""}, {"user": "", "password": "p"}):
        artifact = http(recorder.url("/f"), auth=BASIC)
        with local(artifact, tmp_path, secrets) as driver:
            driver.load(artifact, out)
    artifact = artifactory(recorder.url("/f"))
    with local(artifact, tmp_path, {"user": "", "password": ""}) as driver:
        driver.load(artifact, out)
    assert [s.values("Authorization") for s in recorder.seen] == [[], [], [basic("", "")]]


def test_secrets_are_used_verbatim(recorder, tmp_path):
    recorder.routes["/f"] = ok()
    artifact = http(recorder.url("/f"), auth=BASIC)
    with local(artifact, tmp_path, {"user": "u\n", "password": " p"}) as driver:
        driver.load(artifact, str(tmp_path / "o"))
    assert recorder.seen[0].values("Authorization") == [basic("u\n", " p")]


def test_a_gzip_body_is_decoded(recorder, tmp_path):
    recorder.routes["/gz"] = lambda seen: (200, {"Content-Encoding": "gzip"}, gzip.compress(BIG))
    artifact = http(recorder.url("/gz"))
    with local(artifact, tmp_path) as driver:
        driver.load(artifact, str(tmp_path / "o"))
        with driver.open_stream(artifact) as stream:
            assert stream.read() == BIG
    assert (tmp_path / "o").read_bytes() == BIG


def test_oauth2_falls_back_to_the_form_and_caches_the_token(recorder, tmp_path):
    def token(seen: Seen) -> Answer:
        if seen.values("Authorization"):
            return 401, {"Content-Type": "application/json"}, b'{"error": "invalid_client"}'
        body = {"access_token": "tok-1", "token_type": "bearer", "expires_in": 3600}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    recorder.routes["/token"] = token
    recorder.routes["/f"] = ok()
    auth = {**BASIC, **oauth2()}
    auth["oauth2"]["scopes"] = ["a", "b c"]
    auth["oauth2"]["endpointParams"].append({"key": "audience", "value": "second"})
    artifact = http(recorder.url("/f"), auth=auth)
    secrets = {
        "user": "u",
        "password": "p",
        "client_id": "id:1",
        "client_secret": "s e/cret",
        "token_url": recorder.url("/token"),
    }
    with local(artifact, tmp_path, secrets) as driver:
        driver.load(artifact, str(tmp_path / "o"))
        driver.load(artifact, str(tmp_path / "o"))
    first, second, *resources = recorder.seen
    assert [s.path for s in (first, second, *resources)] == ["/token", "/token", "/f", "/f"]
    escaped = base64.b64encode(b"id%3A1:s+e%2Fcret").decode()
    assert first.values("Authorization") == [f"Basic {escaped}"]
    assert first.values("Content-Type") == ["application/x-www-form-urlencoded"]
    form = b"audience=artifact-conformance&audience=second&grant_type=client_credentials"
    assert first.body == form + b"&scope=a+b+c"  # url.Values.Encode: keys sorted
    assert not second.values("Authorization")
    assert urllib.parse.parse_qs(second.body.decode())["client_secret"] == ["s e/cret"]
    assert urllib.parse.parse_qs(second.body.decode())["client_id"] == ["id:1"]
    # the bearer (type normalised) replaces basic auth on every request
    assert [s.values("Authorization") for s in resources] == [["Bearer tok-1"]] * 2


def test_save_follows_redirects_by_gos_rules(recorder, other, tmp_path):
    data = os.urandom(MIB + 3)
    path = tmp_path / "in.bin"
    path.write_bytes(data)
    recorder.routes["/cross"] = redirect(307, recorder.url("/final", host="localhost"))
    recorder.routes["/port"] = redirect(308, other.url("/final"))
    recorder.routes["/final"] = other.routes["/final"] = lambda seen: (201, {}, b"")
    recorder.routes["/see-other"] = redirect(303, "/got")
    recorder.routes["/got"] = ok()
    for name in ("/cross", "/port", "/see-other"):
        artifact = http(recorder.url(name), auth=BASIC, headers=[("X-Custom", "kept")])
        with local(artifact, tmp_path, {"user": "u", "password": "p"}) as driver:
            driver.save(str(path), artifact)
    cross, cross_final, port, see, got = recorder.seen
    (port_final,) = other.seen
    assert all(s.body == data for s in (cross, cross_final, port, port_final, see))
    assert cross_final.method == port_final.method == "PUT"
    # another host loses Authorization; another port of the same host keeps it
    assert not cross_final.values("Authorization") and cross_final.values("X-Custom") == ["kept"]
    assert port_final.values("Authorization") == [basic("u", "p")]
    assert port_final.values("Referer") == [recorder.url("/port")]
    # a 303 turns the PUT into a GET without a body (a 200 there "saves")
    assert (got.method, got.body, got.values("X-Custom")) == ("GET", b"", ["kept"])


def test_redirects_stop_after_ten(recorder, tmp_path):
    recorder.routes["/loop"] = redirect(307, "/loop")
    path = tmp_path / "in.bin"
    path.write_bytes(b"body")
    artifact = http(recorder.url("/loop"))
    with local(artifact, tmp_path) as driver:
        error = raises(lambda: driver.save(str(path), artifact), Code.INTERNAL)
    assert 'Put "/loop": stopped after 10 redirects' in str(error)
    assert len(recorder.seen) == 10 and {s.body for s in recorder.seen} == {b"body"}


def test_a_failing_input_stream_is_named(recorder, tmp_path):
    recorder.routes["/f"] = lambda seen: (201, {}, b"")

    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            raise OSError("the producer died")

    artifact = http(recorder.url("/f"))
    with local(artifact, tmp_path) as driver:
        error = raises(lambda: driver.save_stream(Broken(), artifact), Code.INTERNAL)  # type: ignore[arg-type]
    assert "reading the input stream failed after 0 bytes" in str(error)
    assert "the producer died" in str(error)


def test_proxies_from_the_environment_as_go_reads_them(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", "skip.test")
    assert environment_proxies("https://far.test/x") == {"https": "http://proxy.test:3128"}
    assert environment_proxies("https://skip.test/x") == {}
    assert (
        environment_proxies("https://127.0.0.1/x") == environment_proxies("http://localhost") == {}
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
