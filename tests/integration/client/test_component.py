"""Component scaffolding: the health/metrics server on a real socket, JSON logs, and signal handling."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import httpx
from prometheus_client import CollectorRegistry, Counter

from apimachinery.component import serve_health
from tests.harness import REPO
from tests.polling import wait_until


async def test_serve_health_and_metrics() -> None:
    registry = CollectorRegistry()
    Counter("kubelite_test_things", "things", registry=registry).inc(3)
    healthy = {"ok": True}

    async def check() -> bool:
        return healthy["ok"]

    server = await serve_health("127.0.0.1", 0, check, registry)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            r = await http.get("/healthz")
            assert (r.status_code, r.text) == (200, "ok")
            healthy["ok"] = False
            assert (await http.get("/readyz")).status_code == 503
            assert (await http.get("/livez")).status_code == 500
            metrics = await http.get("/metrics")
            assert metrics.status_code == 200
            assert "kubelite_test_things_total 3.0" in metrics.text
            assert (await http.get("/nope")).status_code == 404
    finally:
        server.close()
        await server.wait_closed()


SCRIPT = textwrap.dedent(
    """
    import asyncio, logging, sys
    from apimachinery.component import run_until_signal, setup_logging

    async def main():
        log = logging.getLogger("demo")
        log.info("started", extra={"answer": 42})
        print("ready", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            log.info("cleaned up")

    setup_logging("demo-component", "info")
    run_until_signal(main())
    """
)


def test_run_until_signal_and_json_logs() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with proc:  # closes its pipes
        try:
            assert proc.stdout is not None
            wait_until(lambda: proc.stdout.readline().strip() == "ready", 10, what="the script to start")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
            assert proc.stderr is not None
            lines = [json.loads(line) for line in proc.stderr.read().splitlines() if line.strip()]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    started = next(x for x in lines if x["msg"] == "started")
    assert started["component"] == "demo-component" and started["level"] == "info"
    assert started["answer"] == 42 and started["logger"] == "demo" and started["ts"].endswith("Z")
    assert any(x["msg"] == "cleaned up" for x in lines)


def test_crash_exits_1() -> None:
    script = (
        "from apimachinery.component import run_until_signal, setup_logging\n"
        "async def main():\n    raise RuntimeError('boom')\n"
        "setup_logging('c')\nrun_until_signal(main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 1
    crash = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()][-1]
    assert crash["level"] == "error" and "RuntimeError: boom" in crash["exc"]
