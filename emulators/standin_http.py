"""The loopback HTTP(S) server under the kit's own Python stand-ins (kube_api, oss_standin)."""

from __future__ import annotations

import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def loopback_server(
    handler: type[BaseHTTPRequestHandler], port: int, cert: str | None, key: str | None
) -> ThreadingHTTPServer:
    """`handler` served on 127.0.0.1:`port` (0 picks a free port), over TLS with `cert` and
    `key` when both are given; request threads never keep the process alive."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    if cert and key:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    return server
