"""The nginx servers refuse what they must: basic auth with a read-only user, bearer tokens
checked against the Authlib token server, a required header, client certificates; and a 307
that only a client re-sending the body survives."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
import requests

from emulators import nginx, oauth_server
from emulators.endpoint import REDACTED
from emulators.server import Instance
from tests.servers import unique_name

BODY = b"artifact-conformance \x00\xff" * 100_000  # over nginx's default 1 MiB body limit


def session(endpoint, cert: tuple[str, str] | None = None) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = endpoint.ca_bundle or True
    s.cert = cert
    return s


def token(endpoint, **form: str) -> requests.Response:
    data = {
        "grant_type": "client_credentials",
        "scope": f"{oauth_server.READ_SCOPE} {oauth_server.WRITE_SCOPE}",
        "audience": oauth_server.AUDIENCE,
        **form,
    }
    creds = endpoint.credentials
    with session(endpoint) as s:
        return s.post(
            creds["token_url"], data=data, auth=(creds["client_id"], creds["client_secret"])
        )


@pytest.fixture(params=["nginx", "nginx-tls"])
def endpoint(request, artconf_server):
    return artconf_server(request.param)


def test_basic_auth_has_a_writer_and_a_reader(endpoint):
    creds = endpoint.credentials
    url = f"{endpoint.url}/dav/{unique_name()}/a.bin"
    writer = (creds["user"], creds["password"])
    reader = (creds["reader"], creds["reader_password"])
    with session(endpoint) as s:
        assert s.put(url, data=BODY).status_code == 401
        assert s.put(url, data=BODY, auth=reader).status_code == 401
        assert s.put(url, data=BODY, auth=(creds["user"], "wrong")).status_code == 401
        assert s.put(url, data=iter([BODY]), auth=writer).status_code == 201  # chunked
        assert s.get(url).status_code == 401
        assert s.get(url, auth=reader).content == BODY
        assert s.delete(url, auth=reader).status_code == 401
        assert s.delete(url, auth=writer).status_code == 204
        assert s.get(url, auth=writer).status_code == 404


def test_a_bearer_token_is_checked_with_its_scope(endpoint):
    url = f"{endpoint.url}/oauth/{unique_name()}/a.bin"
    issued = token(endpoint)
    assert issued.status_code == 200, issued.text
    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    reading = token(endpoint, scope=oauth_server.READ_SCOPE).json()["access_token"]
    with session(endpoint) as s:
        assert s.put(url, data=BODY).status_code == 401
        assert s.put(url, data=BODY, headers={"Authorization": "Bearer forged"}).status_code == 401
        assert (
            s.put(url, data=BODY, headers={"Authorization": f"Bearer {reading}"}).status_code == 403
        )
        assert s.put(url, data=BODY, headers=bearer).status_code == 201
        assert s.get(url, headers={"Authorization": f"Bearer {reading}"}).content == BODY


def test_the_token_endpoint_needs_the_audience_and_the_secret(endpoint):
    creds = endpoint.credentials
    assert token(endpoint, audience="").status_code == 400
    with session(endpoint) as s:
        wrong = s.post(
            creds["token_url"],
            data={"grant_type": "client_credentials", "audience": oauth_server.AUDIENCE},
            auth=(creds["client_id"], "wrong"),
        )
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
        # golang.org/x/oauth2's fallback: the credentials in the form
        posted = s.post(
            creds["token_url"],
            data={
                "grant_type": "client_credentials",
                "audience": oauth_server.AUDIENCE,
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            },
        )
        assert posted.status_code == 200 and posted.json()["token_type"] == "Bearer"


def test_headers_location_needs_its_header(endpoint):
    url = f"{endpoint.url}/headers/{unique_name()}"
    with session(endpoint) as s:
        assert s.put(url, data=b"x").status_code == 403
        assert s.put(url, data=b"x", headers={nginx.CHECK_HEADER: "other"}).status_code == 403
        assert (
            s.put(url, data=b"x", headers={nginx.CHECK_HEADER: nginx.CHECK_VALUE}).status_code
            == 201
        )


def test_a_307_keeps_only_a_re_sent_body(endpoint):
    name = unique_name()
    with session(endpoint) as s:
        first = s.put(f"{endpoint.url}/redirect/{name}", data=BODY, allow_redirects=False)
        assert first.status_code == 307
        assert first.headers["Location"] == f"{endpoint.url}/open/{name}"
        assert s.get(f"{endpoint.url}/open/{name}").status_code == 404  # nothing stored yet
        assert s.put(first.headers["Location"], data=BODY).status_code == 201
        assert s.get(f"{endpoint.url}/open/{name}").content == BODY


def test_mtls_needs_the_client_certificate(artconf_server):
    endpoint = artconf_server("nginx-mtls-tls")
    creds = endpoint.credentials
    url = f"{endpoint.url}/open/{unique_name()}"
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp, "c.pem"), Path(tmp, "c.key")
        cert.write_text(creds["client_cert"])
        key.write_text(creds["client_key"])
        with session(endpoint) as s:
            refused = s.put(url, data=b"x")
            assert refused.status_code == 400 and "No required SSL certificate" in refused.text
        with session(endpoint, (str(cert), str(key))) as s:
            assert s.put(url, data=BODY).status_code == 201
            assert s.get(url).content == BODY


def test_the_new_secrets_are_redacted(artconf_server):
    shown = artconf_server("nginx-mtls-tls").to_dict()["credentials"]
    for field in ("password", "reader_password", "client_secret", "client_key"):
        assert shown[field] == REDACTED
    assert shown["client_cert"].startswith("-----BEGIN CERTIFICATE-----")


def test_the_config_writes_nowhere_but_the_instance(tmp_path):
    conf = nginx.render_config(Instance("n", tmp_path, None), 1234, client_ca=None)
    directives = "\n".join(line for line in conf.splitlines() if not line.startswith("user "))
    paths = re.findall(
        r"\b(?:pid|lock_file|\w+_temp_path|root|alias|auth_basic_user_file) (\S+);", directives
    )
    assert len(paths) == 15, conf
    assert all(p.startswith(f"{tmp_path}/") for p in paths), paths
    assert "error_log stderr" in conf and "access_log /dev/stderr;" in conf
    assert "listen 127.0.0.1:1234;" in conf
    assert f"proxy_pass http://{nginx.TOKEN_SERVER}/token;" in conf  # the port comes at start


def test_every_location_shares_one_tree_and_the_writer_lists_it(endpoint):
    creds = endpoint.credentials
    writer = (creds["user"], creds["password"])
    folder = unique_name()
    with session(endpoint) as s:
        assert s.put(f"{endpoint.url}/open/{folder}/sub/a.txt", data=b"a").status_code == 201
        assert s.get(f"{endpoint.url}/dav/{folder}/sub/a.txt", auth=writer).content == b"a"
        assert s.get(f"{endpoint.url}/list/{folder}/").status_code == 401
        listed = s.get(f"{endpoint.url}/list/{folder}/sub/", auth=writer).json()
        assert [(e["name"], e["type"]) for e in listed] == [("a.txt", "file")]
        assert s.delete(f"{endpoint.url}/dav/{folder}/", auth=writer).status_code == 204
        assert s.get(f"{endpoint.url}/list/{folder}/", auth=writer).status_code == 404
