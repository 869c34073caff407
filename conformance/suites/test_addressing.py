"""Addressing: how a request names the bucket, in the path or in the host (spec 2.1
addressingStyle, 9 item 13).

Path style puts the bucket in the URL path (`localhost:9000/bucket/key`), virtual-hosted style
in the host name (`bucket.localhost:9000/key`). Which one a driver used shows in
the names it looks up: the cases resolve every `*.localhost` name to 127.0.0.1 in this process
(RFC 6761 reserves them for loopback; the C library here resolves only `localhost` itself) and
record each lookup. The server then proves the bytes went to the right bucket and key.
"""

from __future__ import annotations

import socket

import pytest

from conformance import checks
from conformance.cases import requires, verifies

LOOPBACK_NAME = "localhost"


@pytest.fixture
def lookups(monkeypatch) -> list[str]:
    """The host names this process looks up during the case, with `*.localhost` resolved to
    127.0.0.1."""
    looked_up: list[str] = []
    resolve = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str):
            looked_up.append(host)
            if host.endswith(f".{LOOPBACK_NAME}"):
                host = "127.0.0.1"
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return looked_up


def round_trip(store, location, objects, key: str) -> None:
    """save then load through `location`; its bucket (`objects`) holds exactly `key`."""
    artifact = store.artifact_in(location, key)
    checks.round_trip(store, store.driver_for(location), artifact, b"addressed \x00\xff", objects)
    checks.same_keys(objects.keys(), [key])


@verifies("addressing_path")
@requires("save", "load")
def test_path_style_names_the_bucket_in_the_path(store, lookups):
    """addressingStyle `path` puts the bucket in the path even where a virtual host could
    serve it: no `<bucket>.<host>` name is ever looked up (spec 2.1)."""
    location = store.kind.addressed(store.location, "path")
    round_trip(store, location, store.objects, "path/in.bin")
    virtual = f"{store.bucket}.{LOOPBACK_NAME}"
    assert LOOPBACK_NAME in lookups, f"the server was never reached by name: {lookups}"
    assert virtual not in lookups, f"path style looked up the virtual host {virtual}"


@verifies("addressing_virtual_hosted")
@requires("save", "load")
def test_virtual_hosted_style_names_the_bucket_in_the_host(store, lookups, artconf_private_server):
    """addressingStyle `virtual-hosted` puts the bucket in the host name: requests go to
    `<bucket>.<host>`, and land in that bucket (spec 2.1, 9 item 13)."""
    endpoint = store.server_with(artconf_private_server, virtual_host_domain=LOOPBACK_NAME)
    location, objects = store.bucket_on(endpoint)
    location = store.kind.addressed(location, "virtual-hosted")
    round_trip(store, location, objects, "virtual/in.bin")
    virtual = f"{objects.container}.{LOOPBACK_NAME}"
    assert virtual in lookups, f"no request went to the virtual host {virtual}: {lookups}"
