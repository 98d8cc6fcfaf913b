"""The apiserver's own CPU per create without HTTP and TLS: its ASGI app (apiserver/app.py, every middleware, the
same flags as tests/harness.py starts it with) driven in this process on a real etcd, `--n` pod creates at
`--concurrency`, as the admin (the client-certificate subject the TLS layer would hand over). A diagnostic for
bench/apiserver.py's floor comparison (README, API server benchmark), not a benchmark: it prints, writes no result file.

    flock /tmp/kubelite-host.lock .venv/bin/python -m bench.floor_inproc [--n 3000] [--concurrency 64] [--profile]

The CPU is this process's (getrusage): the request path, admission, validation, managed fields, the gRPC client and
the watch cache fed by the storage watch. --profile prints cProfile's top functions by cumulative time (cProfile
inflates call-heavy code: use it for where, not for how much).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.harness import ADMIN  # noqa: E402

App = Callable[[Any, Any, Any], Awaitable[None]]


def http_scope(
    method: str, path: str, body: bytes, subject: tuple[str, tuple[str, ...]] = ADMIN
) -> dict[str, Any]:
    """An ASGI http scope as uvicorn with apimachinery.tlsserve's protocol builds it for a client certificate."""
    headers = [(b"host", b"127.0.0.1:6443"), (b"accept", b"application/json")]
    if body or method in ("POST", "PUT", "PATCH"):
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1", "method": method,
        "scheme": "https", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 6443),
        "extensions": {"tls": {"client_cert_subject": subject}}, "state": {},
    }  # fmt: skip


async def call(app: App, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """One request through `app`: (status, response body)."""
    messages: list[dict[str, Any]] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(http_scope(method, path, body), receive, send)
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


async def creates(app: App, bodies: list[bytes], concurrency: int, path: str) -> None:
    pending = iter(bodies)

    async def worker() -> None:
        for body in pending:
            status, answer = await call(app, "POST", path, body)
            if status != 201:
                raise RuntimeError(f"create: {status} {answer[:300]!r}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(etcd_url: str, args: argparse.Namespace) -> None:
    from apiserver.__main__ import apply_process_settings, parse_args, server_options, storage_from_args
    from apiserver.app import create_app
    from apiserver.server import APIServer
    from bench.apiserver import NS, pod
    from tests.harness import test_pki

    flags = ["--bind-address", "127.0.0.1", "--port", "6443", "--etcd-servers", etcd_url]
    options = parse_args([*flags, *test_pki().apiserver_args()])
    storage, _ = storage_from_args(options)
    apply_process_settings(options)
    app = create_app(APIServer(storage, server_options(options)))
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[Any] = asyncio.Queue()

    async def lifespan() -> None:
        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)

    life = asyncio.create_task(lifespan())
    try:
        await inbox.put({"type": "lifespan.startup"})
        started = await asyncio.wait_for(outbox.get(), 60)
        if started["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the apiserver did not start: {started}")
        status, answer = await call(
            app, "POST", "/api/v1/namespaces", json.dumps({"metadata": {"name": NS}}).encode()
        )
        if status != 201:
            raise RuntimeError(f"namespace: {status} {answer[:300]!r}")
        path = f"/api/v1/namespaces/{NS}/pods"
        await creates(
            app, [json.dumps(pod(f"w-{i:05d}")).encode() for i in range(500)], args.concurrency, path
        )
        bodies = [json.dumps(pod(f"p-{i:05d}")).encode() for i in range(args.n)]
        profile = cProfile.Profile() if args.profile else None
        cpu, wall = cpu_seconds(), time.perf_counter()
        if profile is not None:
            profile.enable()
        await creates(app, bodies, args.concurrency, path)
        if profile is not None:
            profile.disable()
        cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
        print(
            f"{args.n} creates in-process: {args.n / wall:,.0f}/s, {1e6 * cpu / args.n:.0f} us of CPU per create"
        )
        if profile is not None:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(life, 30)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args()
    import uvloop

    from bench.common import etcd_server

    with etcd_server() as url:
        uvloop.run(measure(url, args))


if __name__ == "__main__":
    main()
