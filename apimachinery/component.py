"""Scaffolding shared by every component's main program.

add_client_args(parser)       --master, --kubeconfig, --context
client_from_args(args, ...)   the `Client` those options name
setup_logging(component)      JSON lines on stderr: ts, level, component, logger, msg, extra fields
serve_health(host, port, ...) a tiny HTTP server for /healthz (/livez, /readyz) and /metrics
run_until_signal(main())      run the main coroutine; SIGTERM/SIGINT cancel it; exit 0 (1 on a crash)
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from apimachinery import buildinfo  # noqa: F401  (registers kubernetes_build_info)
from apimachinery.client import Client

log = logging.getLogger(__name__)


def add_client_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--master", default=None, help="apiserver URL (overrides the kubeconfig's server)")
    parser.add_argument(
        "--kubeconfig", default=None, help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)"
    )
    parser.add_argument("--context", default=None, help="kubeconfig context (default: current-context)")


def client_from_args(args: argparse.Namespace, user_agent: str = "kubelite") -> Client:
    return Client.from_args(
        getattr(args, "master", None),
        getattr(args, "kubeconfig", None),
        getattr(args, "context", None),
        user_agent=user_agent,
    )


# -- logging ------------------------------------------------------------------------------------------------

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
            "component": self.component,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in _STANDARD and k not in out:
                out[k] = v
        if record.exc_info:
            out["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(out, default=str)


def setup_logging(component: str, level: str | int = "INFO") -> None:
    """Send all logging to stderr as JSON lines (replaces existing root handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(component))
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


async def serve_health(
    host: str,
    port: int,
    healthz: HealthCheck | None = None,
    registry: CollectorRegistry | None = None,
) -> asyncio.Server:
    """Serve GET /healthz, /livez, /readyz (200 "ok" or 500 "unhealthy") and /metrics; port 0 picks a free one.

    Returns the started server; `server.sockets[0].getsockname()[1]` is the port; `close()` it when done.
    """
    reg = registry or REGISTRY

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
                ok = await _check(healthz)
                code, body = (200, b"ok") if ok else (500, b"unhealthy")
            elif path == "/metrics":
                # The component's own registry, then the process-wide one (the shared client's rest_client_*,
                # the work queues' workqueue_*, kubernetes_build_info, process_*).
                body = generate_latest(reg) + (generate_latest(REGISTRY) if reg is not REGISTRY else b"")
                code, ctype = 200, CONTENT_TYPE_LATEST
            else:
                code, body = 404, b"not found\n"
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}[
                code
            ]
            writer.write(
                f"HTTP/1.1 {code} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                f"Connection: close\r\n\r\n".encode()
                + (body if method != "HEAD" else b"")
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # a probe that hung up or sent garbage gets nothing
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)


# -- main ---------------------------------------------------------------------------------------------------


def run_until_signal(main_coro: Coroutine[Any, Any, Any]) -> None:
    """Run `main_coro` in a new event loop; SIGTERM or SIGINT cancels it (a second signal exits at once).

    Exits the process: 0 when the coroutine returns or is cancelled by a signal, 1 when it raises.
    """

    async def runner() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(main_coro, name="main")
        signals = 0

        def on_signal(signum: int) -> None:
            nonlocal signals
            signals += 1
            if signals > 1:
                log.warning("second signal, exiting now", extra={"signal": signum})
                os._exit(1)
            log.info("signal received, shutting down", extra={"signal": signal.Signals(signum).name})
            task.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            await task
            return 0
        except asyncio.CancelledError:
            return 0
        except Exception:
            log.exception("component crashed")
            return 1

    sys.exit(asyncio.run(runner()))
