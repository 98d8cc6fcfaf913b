"""Scraping the kubelets' resource metrics (`GET https://<node>:10250/metrics/resource`, Prometheus text).

The kubelet publishes cumulative CPU seconds and the current memory working set, each with the time it was
measured (milliseconds since the epoch, the sample's Prometheus timestamp):

    node_cpu_usage_seconds_total 357.35 1633253809720
    node_memory_working_set_bytes 1.3e+09 1633253809720
    container_cpu_usage_seconds_total{container="app",namespace="default",pod="web-1"} 8.12 1633253812125
    container_memory_working_set_bytes{container="app",namespace="default",pod="web-1"} 1.2e+07 1633253812125
    container_start_time_seconds{container="app",namespace="default",pod="web-1"} 1.6332e+09 1633253812125

`parse` turns that into samples (pure, unit-tested); `Scraper` fetches it from each node over HTTPS with this
server's own client certificate, checking the kubelet's serving certificate for the node's name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger("metrics_server.scrape")

Obj = dict[str, Any]
DEFAULT_KUBELET_PORT = 10250


@dataclass(frozen=True)
class Sample:
    """A cumulative CPU reading (core-seconds) and a memory working set (bytes), at `time` (epoch seconds)."""

    time: float
    cpu_seconds: float | None = None
    memory_bytes: float | None = None
    start_time: float | None = None  # containers: when this incarnation started


@dataclass
class NodeScrape:
    node: Sample | None = None
    # (namespace, pod, container) -> sample
    containers: dict[tuple[str, str, str], Sample] = field(default_factory=dict)


def parse(text: str) -> NodeScrape:
    """The samples of one /metrics/resource answer. Series without a timestamp are taken as measured now."""
    now = time.time()
    node: dict[str, float] = {}
    containers: dict[tuple[str, str, str], dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            at = float(s.timestamp) if s.timestamp is not None else now
            if s.name == "node_cpu_usage_seconds_total":
                node.update(cpu=s.value, time=at)
            elif s.name == "node_memory_working_set_bytes":
                node.update(memory=s.value, time=node.get("time", at))
            elif s.name.startswith("container_"):
                key = (s.labels.get("namespace", ""), s.labels.get("pod", ""), s.labels.get("container", ""))
                if not all(key):
                    continue
                entry = containers.setdefault(key, {})
                if s.name == "container_cpu_usage_seconds_total":
                    entry.update(cpu=s.value, time=at)
                elif s.name == "container_memory_working_set_bytes":
                    entry.update(memory=s.value, time=entry.get("time", at))
                elif s.name == "container_start_time_seconds":
                    entry["start"] = s.value
    out = NodeScrape()
    if "time" in node:
        out.node = Sample(node["time"], node.get("cpu"), node.get("memory"))
    for key, entry in containers.items():
        if "time" in entry:
            out.containers[key] = Sample(
                entry["time"], entry.get("cpu"), entry.get("memory"), entry.get("start")
            )
    return out


def kubelet_address(node: Obj) -> tuple[str, int] | None:
    """The node's InternalIP (else any address) and its kubelet port, checked: they build a URL."""
    status = node.get("status") or {}
    addresses = [a for a in status.get("addresses") or [] if isinstance(a, dict)]
    ordered = [a for a in addresses if a.get("type") == "InternalIP"] + [
        a for a in addresses if a.get("type") != "InternalIP"
    ]
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get(
        "Port"
    ) or DEFAULT_KUBELET_PORT
    if not isinstance(port, int) or not 1 <= port <= 65535:
        return None
    for address in ordered:
        try:
            return str(ipaddress.ip_address(str(address.get("address")))), port
        except ValueError:
            continue
    return None


class Scraper:
    def __init__(self, ssl_context: ssl.SSLContext, timeout: float = 10.0) -> None:
        self._http = httpx.AsyncClient(verify=ssl_context, timeout=httpx.Timeout(timeout), trust_env=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def scrape_node(self, node: Obj) -> NodeScrape:
        """One node's samples; httpx.HTTPError or ValueError when the kubelet cannot be reached or read."""
        name = node["metadata"]["name"]
        target = kubelet_address(node)
        if target is None:
            raise ValueError(f"node {name} has no usable address")
        address, port = target
        host = f"[{address}]" if ":" in address else address
        response = await self._http.get(
            f"https://{host}:{port}/metrics/resource", extensions={"sni_hostname": name}
        )
        response.raise_for_status()
        return parse(response.text)

    async def scrape_all(self, nodes: list[Obj]) -> dict[str, NodeScrape]:
        """Every node at once; a node that fails is logged and left out of this round."""

        async def one(node: Obj) -> tuple[str, NodeScrape | None]:
            name = node["metadata"]["name"]
            try:
                return name, await self.scrape_node(node)
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("scraping a node failed", extra={"node": name, "error": str(exc)})
                return name, None

        results = await asyncio.gather(*(one(n) for n in nodes))
        return {name: scrape for name, scrape in results if scrape is not None}
