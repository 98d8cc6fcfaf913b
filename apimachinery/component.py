"""Scaffolding shared by every component's main program.

add_client_args(parser)       --master, --kubeconfig, --context
client_from_args(args, ...)   the `Client` those options name
setup_logging(component)      JSON lines on stderr: ts, level, component, logger, msg, extra fields
serve_health(host, port, ...) a tiny HTTP(S) server for /healthz (/livez, /readyz) and /metrics; beyond loopback
                              only with TLS and delegated auth (apimachinery/secureserving.py builds those)
run_until_signal(main())      run the main coroutine; SIGTERM/SIGINT cancel it; exit 0 (1 on a crash)
ComponentMain(name, parse, amain)
                              a component's entry point: `python -m <component>` (its `main`), and what a host
                              process (componenthost/) runs beside other components: run_hosted(...)
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import inspect
import ipaddress
import json
import logging
import os
import signal
import socket
import ssl
import sys
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from apimachinery import buildinfo  # noqa: F401  (registers kubernetes_build_info)
from apimachinery.errors import StatusError

# The client (httpx) and the certificate parser (cryptography) are imported where they are used: the supervisor
# serves its health with this module and uses neither (bench/idle_memory.py).
if TYPE_CHECKING:
    from apimachinery.client import Client
    from apimachinery.delegated import DelegatedAuth
    from apimachinery.nslock import NamespaceLock

log = logging.getLogger(__name__)


def add_client_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--master", default=None, help="apiserver URL (overrides the kubeconfig's server)")
    parser.add_argument(
        "--kubeconfig", default=None, help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)"
    )
    parser.add_argument("--context", default=None, help="kubeconfig context (default: current-context)")


def client_from_args(args: argparse.Namespace, user_agent: str = "kubelite") -> Client:
    from apimachinery.client import Client

    return Client.from_args(
        getattr(args, "master", None),
        getattr(args, "kubeconfig", None),
        getattr(args, "context", None),
        user_agent=user_agent,
    )


# -- logging ------------------------------------------------------------------------------------------------

# In a host process (several components, one interpreter) each component's main task, and every task it starts,
# carries the component's name and log level: its log lines name it, at its own --log-level.
_hosted: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar("component", default=None)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `extra={...}` fields become top-level keys."""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "level": record.levelname.lower(),
            "component": hosted[0] if (hosted := _hosted.get()) else self.component,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in _STANDARD and k not in out:
                out[k] = v
        if record.exc_info:
            out["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(out, default=str)


def _at_component_level(record: logging.LogRecord) -> bool:
    hosted = _hosted.get()
    return hosted is None or record.levelno >= hosted[1]


def setup_logging(component: str, level: str | int = "INFO") -> None:
    """Send all logging to stderr as JSON lines (replaces existing root handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(component))
    handler.addFilter(_at_component_level)
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # httpx logs every request at INFO; that is noise for a controller.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


# -- health and metrics -------------------------------------------------------------------------------------

HealthCheck = Callable[[], bool | Awaitable[bool]]


async def _check(healthz: HealthCheck | None) -> bool:
    if healthz is None:
        return True
    try:
        result = healthz()
        if inspect.isawaitable(result):
            result = await result
        return bool(result)
    except Exception:
        log.exception("health check failed")
        return False


class InsecureBindError(ValueError):
    """A health/metrics server asked to listen beyond loopback without TLS and authentication."""


def is_loopback(host: str) -> bool:
    """Whether `host` (an address, or "localhost") is on loopback only; "" and "0.0.0.0" are not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve_health(
    host: str,
    port: int,
    healthz: HealthCheck | None = None,
    registry: CollectorRegistry | None = None,
    *,
    readyz: HealthCheck | None = None,
    sock: socket.socket | None = None,
    tls: ssl.SSLContext | None = None,
    auth: DelegatedAuth | None = None,
    plain_beyond_loopback: bool = False,
) -> asyncio.Server:
    """Serve GET /healthz, /livez, /readyz (200 "ok"; "unhealthy" with 503 from /readyz, 500 from the others) and
    /metrics; port 0 picks a free one.

    /readyz asks `readyz` when given (e.g. "caches synced"), else `healthz`. With `sock` (a bound socket), serve on
    it instead of `host:port`. Returns the started server; `server.sockets[0].getsockname()[1]` is the port;
    `close()` it when done.

    With `tls` and `auth`, HTTPS: /metrics answers only a caller the apiserver authenticates (a client certificate
    the context verifies, or a bearer token: 401 otherwise) and authorizes for `get` on the nonResourceURL
    /metrics (403 otherwise); the health paths stay anonymous, as upstream's always-allowed /healthz. A non-loopback
    address without both raises InsecureBindError (`plain_beyond_loopback`: the add-ons not converted yet).
    """
    reg = registry or REGISTRY
    where = sock.getsockname()[0] if sock is not None else host
    if not is_loopback(where) and (tls is None or auth is None) and not plain_beyond_loopback:
        raise InsecureBindError(
            f"refusing to serve /metrics on {where or '*'}:{port} (beyond loopback) without TLS and "
            "authentication: bind 127.0.0.1, or give the secure port a serving certificate"
        )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                head = await reader.readuntil(b"\r\n\r\n")
            method, _, rest = head.decode("latin-1").partition(" ")
            path = rest.partition(" ")[0].partition("?")[0]
            ctype = "text/plain; charset=utf-8"
            if method not in ("GET", "HEAD"):
                code, body = 405, b"method not allowed\n"
            elif path in ("/healthz", "/livez", "/readyz"):
                ok = await _check(readyz if path == "/readyz" and readyz is not None else healthz)
                code, body = (200, b"ok") if ok else (503 if path == "/readyz" else 500, b"unhealthy")
            elif path == "/metrics" and auth is not None and (refused := await _refusal(auth, writer, head)):
                code, body = refused
            elif path == "/metrics":
                # The component's own registry, then the process-wide one (the shared client's rest_client_*,
                # the work queues' workqueue_*, kubernetes_build_info, process_*).
                body = generate_latest(reg) + (generate_latest(REGISTRY) if reg is not REGISTRY else b"")
                code, ctype = 200, CONTENT_TYPE_LATEST
            else:
                code, body = 404, b"not found\n"
            writer.write(
                f"HTTP/1.1 {code} {_REASONS[code]}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                f"Connection: close\r\n\r\n".encode()
                + (body if method != "HEAD" else b"")
            )
            await writer.drain()
        except (
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ssl.SSLError,
        ):
            pass  # a probe that hung up or sent garbage gets nothing
        finally:
            writer.close()

    if sock is not None:
        return await asyncio.start_server(handle, sock=sock, ssl=tls)
    return await asyncio.start_server(handle, host, port, ssl=tls)


_REASONS = {
    200: "OK",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


async def _refusal(
    auth: DelegatedAuth, writer: asyncio.StreamWriter, head: bytes
) -> tuple[int, bytes] | None:
    """None when the caller may GET /metrics; else the status and text to answer."""
    from apimachinery.delegated import bearer_token
    from apimachinery.pki import subject

    ssl_object = writer.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    headers = []
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            headers.append((name.strip().lower(), value.strip()))
    try:
        # With CERT_OPTIONAL a certificate is present only once the handshake has verified it.
        user = await auth.authenticate(subject(der) if der else None, bearer_token(headers))
        if user is None:
            return 401, b"Unauthorized\n"
        allowed, reason = await auth.authorize(user, "get", path="/metrics")
    except (StatusError, OSError) as exc:  # OSError: ConnectionError, the client's too
        log.warning("cannot check a caller with the apiserver: %s", exc)
        return 503, b"the apiserver could not be asked\n"
    return None if allowed else (403, reason.encode() + b"\n")


# -- main ---------------------------------------------------------------------------------------------------


def exit_after_cleanup(cleanup: Coroutine[Any, Any, bool], failures: tuple[type[Exception], ...]) -> NoReturn:
    """A component's `--cleanup`: run `cleanup`, then exit 0 when it cleaned up, 1 when it declined (it returned
    False) or failed with one of `failures` (logged)."""
    try:
        done = asyncio.run(cleanup)
    except failures as exc:
        log.error("cleanup failed", extra={"error": str(exc)})
        sys.exit(1)
    sys.exit(0 if done else 1)


async def cleanup_unless_held(
    lock: NamespaceLock, who: str, cleanup: Callable[[], Awaitable[object]]
) -> bool:
    """A --cleanup that must not pull the rules from under a running agent: run `cleanup` holding `lock`, or return
    False (nothing done) while a running `who` holds it."""
    if not lock.acquire_for_cleanup(who):
        return False
    try:
        await cleanup()
    finally:
        lock.release()
    return True


def run_until_signal(main_coro: Coroutine[Any, Any, Any]) -> NoReturn:
    """Run `main_coro` in a new event loop; SIGTERM or SIGINT cancels it (a second signal exits at once).

    Exits the process: 0 when the coroutine returns or is cancelled by a signal, 1 when it raises (its own
    SystemExit: that code).
    """
    sys.exit(asyncio.run(_run_all([("main", main_coro, None)])))


@dataclass(frozen=True)
class ComponentMain:
    """A component's entry point: its name (the `component` of its log lines), how its flags parse (they include
    --log-level) and its main coroutine. `python -m <component>` calls it; a host process (componenthost/) parses
    several and runs them side by side with run_hosted."""

    name: str
    parse: Callable[[list[str] | None], argparse.Namespace]
    amain: Callable[[argparse.Namespace], Coroutine[Any, Any, Any]]
    # Its --cleanup mode, if it has one: run instead of the component (exit_after_cleanup), in a process of its own.
    cleanup: Callable[[argparse.Namespace], Coroutine[Any, Any, bool]] | None = None
    cleanup_failures: tuple[type[Exception], ...] = ()

    def setup(self, argv: list[str] | None = None) -> argparse.Namespace:
        """Parse the flags and log as this component (a process of its own)."""
        args = self.parse(argv)
        setup_logging(self.name, args.log_level)
        return args

    def __call__(self, argv: list[str] | None = None) -> NoReturn:
        args = self.setup(argv)
        if self.cleanup is not None and args.cleanup:
            exit_after_cleanup(self.cleanup(args), self.cleanup_failures)
        run_until_signal(self.amain(args))


def log_level(text: str) -> int:
    """A --log-level (DEBUG, info, ...) as a number; ValueError for a name logging does not know."""
    level = logging.getLevelNamesMapping().get(str(text).upper())
    if level is None:
        raise ValueError(f"unknown log level {text!r}")
    return level


def run_hosted(host: str, components: list[tuple[ComponentMain, argparse.Namespace]]) -> NoReturn:
    """Run several components in this process, each its main coroutine in a task of its own that logs under its
    name at its --log-level (host-wide lines say `host`). SIGTERM or SIGINT cancels them all, and the process exits
    0 once they have stopped. Should one of them end by itself (a crash, or its own exit), the others are stopped
    too and the process exits 1 (or that component's own exit code): never half of the components alive; the
    supervisor restarts the whole process."""
    levels = [(main.name, log_level(args.log_level)) for main, args in components]
    setup_logging(host, min(level for _, level in levels))
    mains = [
        (main.name, main.amain(args), hosted) for (main, args), hosted in zip(components, levels, strict=True)
    ]
    sys.exit(asyncio.run(_run_all(mains)))


async def _guarded(main_coro: Coroutine[Any, Any, Any]) -> int:
    """Await one component's main coroutine: 0 when it returns, its own SystemExit's code (1 for a message, which
    is logged), 1 when it raises."""
    try:
        await main_coro
    # A component's own exit (a bad configuration): caught here, so that the other components of its process stop
    # cleanly.
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code:
            reason = {"reason": exc.code} if isinstance(exc.code, str) else {}
            log.error("component exited", extra={"code": code, **reason})
        return code
    except Exception:
        log.exception("component crashed")
        return 1
    return 0


async def _run_all(mains: Sequence[tuple[str, Coroutine[Any, Any, Any], tuple[str, int] | None]]) -> int:
    """Run the main coroutines (each with its `_hosted` name and level, if any) until a signal cancels them or one
    of them ends, then stop the rest; the exit code: the worst of theirs (a signal's cancellation counts 0), at
    least 1 when one ended while others ran."""
    loop = asyncio.get_running_loop()
    tasks = []
    for name, coro, hosted in mains:
        context = contextvars.copy_context()
        context.run(_hosted.set, hosted)
        tasks.append(asyncio.create_task(_guarded(coro), name=name, context=context))
    signals = 0

    def on_signal(signum: int) -> None:
        nonlocal signals
        signals += 1
        if signals > 1:
            log.warning("second signal, exiting now", extra={"signal": signum})
            os._exit(1)
        log.info("signal received, shutting down", extra={"signal": signal.Signals(signum).name})
        for task in tasks:
            task.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    ended_alone = bool(pending) and not signals
    if ended_alone:
        ended = [t.get_name() for t in done]
        log.error("a component ended: stopping the others of this process", extra={"ended": ended})
        for task in pending:
            task.cancel()
    if pending:
        await asyncio.wait(pending)
    code = max((t.result() for t in tasks if not t.cancelled()), default=0)
    return max(code, 1) if ended_alone else code
