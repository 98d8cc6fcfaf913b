"""/livez, /readyz and /healthz as kube-apiserver serves them: named checks, each also at `/<endpoint>/<name>`.

    GET /readyz                 "ok", or 503 with every check's line ("[-]etcd-readiness failed: reason withheld")
    GET /readyz?verbose         every check's line, then "readyz check passed"
    GET /readyz?exclude=etcd    the named check is skipped ("[+]etcd excluded: ok")
    GET /readyz/etcd            one check: "ok", or 503 "internal server error: <cause>"

A failing /readyz answers 503 Service Unavailable (an apiserver that is not ready is unavailable, and load balancers
and the issue's operators read it so); /livez and /healthz answer 500 as upstream does for every endpoint.

The text is upstream's (k8s.io/apiserver pkg/server/healthz). A failed check's cause is withheld from the
aggregate endpoints, which anonymous callers may read, and logged instead (once per change of cause); the
per-check paths need credentials (system:monitoring) and show it.

Storage is checked both ways: `etcd` reads (the backend answers), `etcd-readiness` writes: `WriteProbe` writes a
small key every few seconds and also learns from the apiserver's own writes (apiserver/storagewatch.py), so a full
or read-only data directory turns /readyz red although every read still works.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import PlainTextResponse

from apimachinery.tasks import stop_task
from apiserver.storage.interface import Storage, StorageError

log = logging.getLogger("apiserver.health")

# Outside every resource's prefix: no watch cache holds it, no client lists it.
PROBE_KEY = "/registry/health/write-probe"
PROBE_INTERVAL = 3.0
PROBE_TIMEOUT = 2.0
READ_TIMEOUT = 2.0

# A check returns None when healthy, else the cause.
Check = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True)
class NamedCheck:
    name: str
    check: Check


class WriteProbe:
    """Whether storage accepts writes: the outcome of the most recent write, the probe's or a real one."""

    def __init__(self, storage: Storage, interval: float = PROBE_INTERVAL) -> None:
        self.storage = storage
        self.interval = interval
        self.error: str | None = None
        self.last_success = 0.0
        self._task: asyncio.Task[None] | None = None

    def record(self, error: str | None) -> None:
        if error is None:
            self.last_success = time.monotonic()
        self.error = error

    async def probe(self) -> None:
        stamp = time.time()

        def touch(_current: object) -> dict[str, object]:
            return {"kind": "WriteProbe", "metadata": {"name": "write-probe"}, "time": stamp}

        try:
            await asyncio.wait_for(
                self.storage.guaranteed_update(PROBE_KEY, touch, ignore_not_found=True), PROBE_TIMEOUT
            )
        except TimeoutError:
            self.record(f"a write did not finish in {PROBE_TIMEOUT:g}s")
        except StorageError as exc:
            self.record(f"a write failed: {exc}")
        else:
            self.record(None)

    async def run(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="storage-write-probe")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def check(self) -> str | None:
        if self.last_success == 0.0 and self.error is None:
            return "no write has been tried yet"
        return self.error


def read_check(storage: Storage) -> Check:
    async def check() -> str | None:
        try:
            if await asyncio.wait_for(storage.healthy(), READ_TIMEOUT):
                return None
            return "storage does not answer reads"
        except TimeoutError:
            return f"storage did not answer a read in {READ_TIMEOUT:g}s"
        except StorageError as exc:
            return f"storage read failed: {exc}"

    return check


def event_check(event: asyncio.Event, what: str) -> Check:
    async def check() -> str | None:
        return None if event.is_set() else what

    return check


async def ping() -> str | None:
    return None


class HealthEndpoint:
    """One of /livez, /readyz, /healthz: its checks, run in order on every request."""

    def __init__(self, name: str, checks: list[NamedCheck]) -> None:
        self.name = name
        self.checks = checks
        self.failed_code = 503 if name == "readyz" else 500
        self._logged: dict[str, str] = {}

    def names(self) -> list[str]:
        return [c.name for c in self.checks]

    async def aggregate(self, request: Request) -> PlainTextResponse:
        params = request.query_params
        excluded = {v for v in params.getlist("exclude") if v}
        lines: list[str] = []
        failed: list[tuple[str, str]] = []
        for c in self.checks:
            if c.name in excluded:
                excluded.discard(c.name)
                lines.append(f"[+]{c.name} excluded: ok")
                continue
            cause = await _run(c)
            if cause is None:
                lines.append(f"[+]{c.name} ok")
            else:
                lines.append(f"[-]{c.name} failed: reason withheld")
                failed.append((c.name, cause))
        if excluded:
            quoted = ",".join(f'"{n}"' for n in sorted(excluded))
            lines.append(f"warn: some health checks cannot be excluded: no matches for {quoted}")
        self._log(failed)
        body = "".join(line + "\n" for line in lines)
        if failed:
            return _text(f"{body}{self.name} check failed\n", self.failed_code)
        if "verbose" not in params:
            return _text("ok", 200)
        return _text(f"{body}{self.name} check passed\n", 200)

    async def single(self, check_name: str) -> PlainTextResponse | None:
        """/<endpoint>/<check>; None when there is no such check (the caller answers 404)."""
        c = next((c for c in self.checks if c.name == check_name), None)
        if c is None:
            return None
        cause = await _run(c)
        if cause is None:
            return _text("ok", 200)
        return _text(f"internal server error: {cause}\n", self.failed_code)

    def _log(self, failed: list[tuple[str, str]]) -> None:
        """A failing check is logged when it starts failing or its cause changes, and when it recovers: an
        apiserver polled every second by a supervisor and a load balancer does not log every poll."""
        now_failing = dict(failed)
        for name, cause in now_failing.items():
            if self._logged.get(name) != cause:
                log.warning(
                    f"{self.name} check failed", extra={"check": name, "endpoint": self.name, "cause": cause}
                )
        for name in set(self._logged) - set(now_failing):
            log.info(f"{self.name} check recovered", extra={"check": name, "endpoint": self.name})
        self._logged = now_failing


async def _run(c: NamedCheck) -> str | None:
    try:
        return await c.check()
    except Exception as exc:  # a check that breaks is a failing check, never a 500 from the route
        log.exception("health check raised", extra={"check": c.name})
        return f"the check raised {type(exc).__name__}"


def _text(body: str, code: int) -> PlainTextResponse:
    return PlainTextResponse(body, status_code=code, headers={"X-Content-Type-Options": "nosniff"})
