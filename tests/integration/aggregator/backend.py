"""A small aggregated API server for the aggregation tests: HTTPS with a serving certificate for
`<service>.<namespace>.svc`, trusting the front-proxy CA for client certificates, answering every request with
what it received (method, path, query, the identity headers, the client certificate's subject). It is the test's
view of the wire; the real aggregated server (metrics-server) is tested beside it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse

from apimachinery.tlsserve import ClientCertProtocol, client_cert_subject, server_ssl_context
from tests.harness import free_port, wait_until


async def echo(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    request = Request(scope, receive)
    subject = client_cert_subject(scope)
    if request.url.path == "/apis/echo.example.com/v1":
        body: dict = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "echo.example.com/v1",
                      "resources": [{"name": "echoes", "singularName": "echo", "namespaced": True, "kind": "Echo",
                                     "verbs": ["get", "list"]}]}  # fmt: skip
    else:
        body = {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": [[k, v] for k, v in request.headers.items()],
            "client": list(subject) if subject else None,
            "body": (await request.body()).decode(),
        }
    await JSONResponse(body)(scope, receive, send)


class EchoBackend:
    def __init__(self, cert: Path, key: Path, client_ca: Path) -> None:
        self.port = free_port()
        config = uvicorn.Config(echo, host="0.0.0.0", port=self.port, log_level="warning", lifespan="off",
                                http=ClientCertProtocol,
                                ssl_context_factory=lambda _c, _d: server_ssl_context(str(cert), str(key), str(client_ca)))  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def start(self) -> None:
        self.thread.start()
        wait_until(lambda: self.server.started, 10, what="echo backend up")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
