"""The floor of an API create on our stack: the least any create can cost with uvicorn (or granian), TLS, our JSON
library and one etcd transaction through aetcd/grpcio, for bench/apiserver.py to measure in the same run as the
apiserver's creates and raw etcd puts.

The floor server is a bare ASGI app (no FastAPI, no middleware) whose POST handler does only what no create can
skip: read the body, decode it (apimachinery.serialization, orjson, as the apiserver does), one put-if-absent
transaction of that object under a key made from the path and metadata.name (the Txn EtcdStorage.create sends: a
compare on create_revision == 0 and a put), and encode the answer (the object with its resourceVersion, 201).
No authentication, authorization, admission, validation, defaulting, managed fields, audit, metrics or watch.
Any other request gets 200 "ok" (readiness). A name taken answers 409.

    python -m bench.floor --port P --etcd-servers URL --cert F --key F --client-ca F [--reuse-port]

serves it with uvicorn as the apiserver serves (uvloop, httptools, the same TLS context: server_ssl_context, a
client certificate asked for and verified), printing "ready" once it listens. Several such processes with
--reuse-port share one port (SO_REUSEPORT: the kernel spreads connections over them), which is how several
apiserver processes could share a port. `FloorServers` starts and stops them for a benchmark; `GranianFloor` serves
the same app with granian instead (a measurement only: the apiserver stays on uvicorn).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from apimachinery import serialization  # noqa: E402

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
# Where the floor writes in etcd: outside /registry/, so the apiserver's watch never sees these keys.
PREFIX = "/kubelite-floor"
ENV_ETCD = "KUBELITE_FLOOR_ETCD"
_JSON = [(b"content-type", b"application/json")]


def floor_key(path: str, obj: Any) -> str | None:
    """The key a create of `obj` POSTed to `path` is stored under (PREFIX + the collection path + the name), or None
    when the body is not an object with a metadata.name."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        return None
    return f"{PREFIX}{path.rstrip('/')}/{name}"


def answered(obj: dict[str, Any], revision: int) -> bytes:
    """The created object as a create answers it: with metadata.resourceVersion, encoded."""
    return serialization.dumps({**obj, "metadata": {**obj["metadata"], "resourceVersion": str(revision)}})


class FloorApp:
    """The ASGI app; connects to etcd at lifespan start-up (or on the first request)."""

    def __init__(self, etcd_servers: str | None = None) -> None:
        self.etcd_servers = etcd_servers
        self.client: Any = None

    async def connect(self) -> None:
        import aetcd

        from apiserver.storage.etcd import _CHANNEL_OPTIONS, parse_endpoints

        host, port = parse_endpoints(self.etcd_servers or os.environ[ENV_ETCD])[0]
        self.client = aetcd.Client(host, port, options=_CHANNEL_OPTIONS)
        await self.client.connect()

    async def put_if_absent(self, key: bytes, value: bytes) -> tuple[bool, int]:
        """EtcdStorage.create's transaction: put `value` under `key` unless the key exists; (succeeded, revision)."""
        from apiserver.storage.etcd import create_request

        response = await self.client.kvstub.Txn(create_request(key, value))
        return bool(response.succeeded), int(response.header.revision)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            if scope["method"] == "POST":
                await self.create(scope, receive, send)
            else:
                await respond(send, 200, b'"ok"')

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.connect()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def create(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            obj = serialization.loads(body)
        except ValueError:
            obj = None
        key = floor_key(scope["path"], obj)
        if key is None:
            await respond(send, 400, b'{"reason":"BadRequest"}')
            return
        if self.client is None:
            await self.connect()
        done, revision = await self.put_if_absent(key.encode(), serialization.dumps(obj))
        if not done:
            await respond(send, 409, b'{"reason":"AlreadyExists"}')
            return
        await respond(send, 201, answered(obj, revision))


async def respond(send: Send, status: int, body: bytes) -> None:
    headers = [*_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


app = FloorApp()  # for granian (bench.floor:app), etcd from $KUBELITE_FLOOR_ETCD


# -- serving ---------------------------------------------------------------------------------------------------------


async def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from apimachinery.tlsserve import server_ssl_context

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if args.reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", args.port))
    context = server_ssl_context(args.cert, args.key, args.client_ca)
    config = uvicorn.Config(
        FloorApp(args.etcd_servers),
        ssl_context_factory=lambda _config, _default: context,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=1,
        lifespan="on",
        loop="uvloop",
        http="httptools",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    print("ready", flush=True)
    await task


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--etcd-servers", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--client-ca", required=True)
    p.add_argument("--reuse-port", action="store_true")
    args = p.parse_args(argv)
    import uvloop

    uvloop.run(serve(args))


# -- for the benchmark -----------------------------------------------------------------------------------------------


class FloorServers:
    """`processes` floor servers sharing one loopback port (one without SO_REUSEPORT), started by `start()` and
    stopped (SIGTERM, then SIGKILL, each by its PID) by `stop()`."""

    def __init__(self, etcd_url: str, cert: str, key: str, client_ca: str, processes: int = 1) -> None:
        from tests.harness import free_port

        self.port = free_port()
        self.argv = [sys.executable, "-m", "bench.floor", "--port", str(self.port), "--etcd-servers", etcd_url,
                     "--cert", cert, "--key", key, "--client-ca", client_ca]  # fmt: skip
        if processes > 1:
            self.argv.append("--reuse-port")
        self.processes = processes
        self.procs: list[subprocess.Popen[Any]] = []
        self.log = Path(tempfile.mkstemp(prefix="kubelite-floor-", suffix=".log")[1])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def start(self, timeout: float = 30) -> None:
        """Start the processes one after the other, each ready (listening) before the next starts."""
        for _ in range(self.processes):
            out = Path(tempfile.mkstemp(prefix="kubelite-floor-out-", suffix=".log")[1])
            with out.open("w") as stdout, self.log.open("a") as log:
                proc = subprocess.Popen(self.argv, stdout=stdout, stderr=log, cwd=REPO)
            self.procs.append(proc)
            try:
                deadline = time.monotonic() + timeout
                while "ready" not in out.read_text():
                    if time.monotonic() > deadline or proc.poll() is not None:
                        self.stop()
                        raise RuntimeError(f"floor server did not start: {self.log.read_text()[-2000:]}")
                    time.sleep(0.05)
            finally:
                out.unlink(missing_ok=True)

    def stop(self) -> None:
        stop_processes(self.procs)
        self.procs = []

    def __enter__(self) -> FloorServers:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.log.unlink(missing_ok=True)


class GranianFloor(FloorServers):
    """The same app served by granian (one worker, TLS with the same certificate; granian's TLS 1.2 minimum and
    client verification against the same CA)."""

    def __init__(self, etcd_url: str, cert: str, key: str, client_ca: str) -> None:
        super().__init__(etcd_url, cert, key, client_ca)
        self.etcd_url = etcd_url
        self.key_pkcs8 = Path(tempfile.mkstemp(prefix="kubelite-floor-key-", suffix=".pem")[1])
        self.argv = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                     "--port", str(self.port), "--workers", "1", "--loop", "uvloop", "--no-ws",
                     "--ssl-certificate", cert, "--ssl-keyfile", str(self.key_pkcs8), "--ssl-protocol-min", "tls1.2",
                     "--ssl-ca", client_ca, "--log-level", "warning", "bench.floor:app"]  # fmt: skip
        self.source_key = key

    def start(self, timeout: float = 30) -> None:
        from cryptography.hazmat.primitives import serialization as keys

        private = keys.load_pem_private_key(Path(self.source_key).read_bytes(), password=None)
        self.key_pkcs8.write_bytes(
            private.private_bytes(keys.Encoding.PEM, keys.PrivateFormat.PKCS8, keys.NoEncryption())
        )
        self.key_pkcs8.chmod(0o600)
        env = {**os.environ, ENV_ETCD: self.etcd_url}
        with self.log.open("a") as log:
            self.procs.append(
                subprocess.Popen(self.argv, stdout=log, stderr=log, cwd=REPO, env=env, text=True)
            )
        deadline = time.monotonic() + timeout
        while not _listening(self.port):
            if time.monotonic() > deadline or self.procs[0].poll() is not None:
                self.stop()
                raise RuntimeError(f"granian did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.key_pkcs8.unlink(missing_ok=True)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def stop_processes(procs: Sequence[subprocess.Popen[Any]], grace: float = 5) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace)


if __name__ == "__main__":
    main()
