"""The kube-proxy process: informers on Services and EndpointSlices (or Endpoints) feed one rate-limited sync of
the data plane.

Handlers only ask for a sync; the sync reads both caches whole (level-triggered), builds the proxy table and
hands it to the proxier (iptables or userspace). Nothing is written before both informers have synced, so a
restart never wipes the rules of services it has not heard about yet. On cancellation (SIGTERM) the proxier
removes what it made.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from apimachinery.client import Client
from apimachinery.events import EventRecorder
from apimachinery.informer import InformerFactory
from apimachinery.resources import must_resource
from apimachinery.syncrunner import timed_sync
from kube_proxy.metrics import ProxyMetrics
from kube_proxy.servicemap import ProxyTable, Rejection, build_table, build_table_from_slices
from kube_proxy.syncrunner import SyncRunner

log = logging.getLogger("kube_proxy")


REASON_REJECTED = "RejectedByKubeProxy"

SERVICES = must_resource("", "services")
ENDPOINTS = must_resource("", "endpoints")
ENDPOINTSLICES = must_resource("discovery.k8s.io", "endpointslices")
SOURCES = ("endpointslices", "endpoints")


class Proxier(Protocol):
    mode: str

    async def setup(self) -> None: ...
    async def sync(self, table: ProxyTable) -> None: ...
    async def shutdown(self) -> None: ...


class ProxyServer:
    def __init__(
        self,
        client: Client,
        proxier: Proxier,
        metrics: ProxyMetrics,
        *,
        node_name: str,
        min_sync_period: float = 1.0,
        sync_period: float = 30.0,
        endpoints_source: str = "endpointslices",
    ) -> None:
        if endpoints_source not in SOURCES:
            raise ValueError(f"endpoints source must be one of {SOURCES}, not {endpoints_source!r}")
        self.client = client
        self.proxier = proxier
        self.metrics = metrics
        self.node_name = node_name
        self.recorder = EventRecorder(client, "kube-proxy", host=node_name)
        self._reported: set[tuple[str, str, str, str]] = set()
        self.factory = InformerFactory(client)
        self.services = self.factory.informer(SERVICES)
        self.endpoints_source = endpoints_source
        self.endpoints = self.factory.informer(
            ENDPOINTSLICES if endpoints_source == "endpointslices" else ENDPOINTS
        )
        self.runner = SyncRunner(self._sync, min_interval=min_sync_period, max_interval=sync_period)
        self.sync_period = sync_period
        for inf in (self.services, self.endpoints):
            inf.add_handler(
                lambda _obj: self.runner.request(),
                lambda _old, _new: self.runner.request(),
                lambda _obj: self.runner.request(),
            )

    def healthy(self) -> bool:
        """Synced at least once, and not longer ago than two sync periods (a stuck sync loop is unhealthy)."""
        last = self.runner.last_success
        return last is not None and time.monotonic() - last < 2 * self.sync_period + 5

    def table(self) -> ProxyTable:
        rejected: list[Rejection] = []
        if self.endpoints_source == "endpointslices":
            table = build_table_from_slices(self.services.store.list(), self.endpoints.store.list(), rejected)
        else:
            eps = {
                f"{(e.get('metadata') or {}).get('namespace')}/{(e.get('metadata') or {}).get('name')}": e
                for e in self.endpoints.store.list()
            }
            table = build_table(self.services.store.list(), eps, rejected)
        self._report(rejected)
        return table

    def _report(self, rejected: list[Rejection]) -> None:
        """A log line and a Warning Event per refused value, once per object version (not on every sync)."""
        for r in rejected:
            if r.key in self._reported:
                continue
            if len(self._reported) > 10000:
                self._reported.clear()
            self._reported.add(r.key)
            md = r.obj.get("metadata") or {}
            log.warning(
                "value not programmed",
                extra={
                    "kind": r.obj.get("kind"),
                    "object": f"{md.get('namespace')}/{md.get('name')}",
                    "field": r.field,
                    "value": r.value,
                    "why": r.why,
                },
            )
            self.metrics.rejected.inc()
            self.recorder.event(r.obj, "Warning", REASON_REJECTED, f"{r.message()} (node {self.node_name})")

    async def _sync(self) -> None:
        start = time.monotonic()
        table = self.table()
        with timed_sync(self.metrics, start) as timer:
            await self.proxier.sync(table)
        self.metrics.service_ports.set(len(table))
        self.metrics.endpoints.set(sum(len(eps) for _, eps in table))
        log.info(
            "synced",
            extra={
                "mode": self.proxier.mode,
                "service_ports": len(table),
                "seconds": round(timer.elapsed, 4),
            },
        )

    async def run(self) -> None:
        """Set up the guard, start the informers, sync until cancelled; then remove our rules/listeners."""
        await self.proxier.setup()
        try:
            await self.runner.run_informed(self.factory, {"node": self.node_name, "mode": self.proxier.mode})
        finally:
            await self.recorder.aclose()
            try:
                await asyncio.shield(self.proxier.shutdown())
            except Exception:
                log.exception("cleanup on exit failed")
