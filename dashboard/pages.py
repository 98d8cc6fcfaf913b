"""The live pages: for each, what it reads, what it watches, and the template of its body.

A page's body is rendered twice: inside the whole page on the first GET, and again, alone, each time one of the
resources it watches changes (live.py sends it to the browser over server-sent events). So a page is three
things: a `build` coroutine that reads the cluster and returns the template's context, the resources whose
changes re-render it, and the body template.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from apimachinery.client import Client
from apimachinery.resources import ResourceInfo
from dashboard import cluster, views
from dashboard.cluster import BadRequest, Listing, list_items

Params = dict[str, str]
Context = dict[str, Any]


@dataclass(frozen=True)
class Page:
    name: str  # the URL path segment and the SSE page name
    title: str
    body: str  # template of the live part
    build: Callable[[Client, Params, Any], Awaitable[Context]]
    watches: Callable[[Params], list[tuple[ResourceInfo, str | None]]]


def check_params(raw: dict[str, str], keys: tuple[str, ...]) -> Params:
    """The query parameters a page takes, each a valid name (or empty); `BadRequest` otherwise."""
    out = {}
    for key in keys:
        value = raw.get(key, "")
        pattern = cluster.DNS_LABEL if key in ("namespace", "container") else cluster.OBJECT_NAME
        if value and not pattern.fullmatch(value):
            raise BadRequest(f"invalid {key}")
        out[key] = value
    return out


async def _lists(client: Client, namespace: str | None, *resources: ResourceInfo) -> list[Listing]:
    return list(await asyncio.gather(*(list_items(client, r, namespace) for r in resources)))


async def _workload_context(client: Client, namespace: str | None, writes: Any) -> Context:
    pods, *lists = await _lists(client, namespace, cluster.PODS, *cluster.WORKLOADS)
    kinds = {
        r.kind: (r.resource, r.api_version, listing.items)
        for r, listing in zip(cluster.WORKLOADS, lists, strict=True)
    }
    denied = {
        r.kind: listing.denied for r, listing in zip(cluster.WORKLOADS, lists, strict=True) if listing.denied
    }
    found = views.workloads(kinds, pods.items)
    standalone = views.standalone_pods(pods.items)
    return {
        "workloads": found,
        "standalone": standalone,
        "pods_denied": pods.denied,
        "kinds_denied": denied,
        "can": await writes.for_workloads(client, found, standalone),
    }


async def build_overview(client: Client, params: Params, writes: Any) -> Context:
    ns = params.get("namespace") or None
    (nodes, events), usage, workloads = await asyncio.gather(
        _lists(client, None, cluster.NODES, cluster.EVENTS), cluster.node_usage(client),
        _workload_context(client, ns, writes),
    )  # fmt: skip
    return {
        "nodes": [views.node_row(n, usage.get(views.name_of(n))) for n in nodes.items],
        "nodes_denied": nodes.denied,
        "metrics": bool(usage),
        "warnings": views.event_rows(
            [e for e in events.items if not ns or views.namespace_of(e) == ns], warnings_only=True, limit=10
        ),
        "events_denied": events.denied,
        **workloads,
    }


async def build_namespaces(client: Client, params: Params, writes: Any) -> Context:
    namespaces, pods = await _lists(client, None, cluster.NAMESPACES, cluster.PODS)
    counts: dict[str, dict[str, int]] = {}
    for pod in pods.items:
        sev = views.severity(views.pod_status(pod))
        bucket = counts.setdefault(views.namespace_of(pod), {"ok": 0, "warn": 0, "bad": 0})
        bucket[sev] += 1
    rows = [
        {
            "name": views.name_of(n),
            "phase": str((n.get("status") or {}).get("phase") or ""),
            "age": views.age(views.meta(n).get("creationTimestamp")),
            "pods": counts.get(views.name_of(n), {"ok": 0, "warn": 0, "bad": 0}),
        }
        for n in namespaces.items
    ]
    return {"namespaces": sorted(rows, key=lambda r: r["name"]), "denied": namespaces.denied}


async def build_workloads(client: Client, params: Params, writes: Any) -> Context:
    return await _workload_context(client, params.get("namespace") or None, writes)


async def build_services(client: Client, params: Params, writes: Any) -> Context:
    services, endpoints = await _lists(
        client, params.get("namespace") or None, cluster.SERVICES, cluster.ENDPOINTS
    )
    return {
        "services": views.service_rows(services.items, endpoints.items),
        "denied": services.denied or endpoints.denied,
        "can": await writes.for_services(client, services.items),
    }


async def build_pod(client: Client, params: Params, writes: Any) -> Context:
    ns, name = params["namespace"], params["name"]
    if not ns or not name:
        raise BadRequest("a pod needs a namespace and a name")
    pod = await cluster.get_object(client, "v1", "pods", ns, name)
    events = await list_items(client, cluster.EVENTS, ns)
    return {
        "pod": pod,
        "row": views.pod_row(pod),
        "containers": views.container_rows(pod),
        "conditions": [c for c in (pod.get("status") or {}).get("conditions") or [] if isinstance(c, dict)],
        "events": views.event_rows(views.events_for(events.items, pod)),
        "events_denied": events.denied,
        "can_delete": await writes.allowed(client, "delete", cluster.PODS, ns),
    }


def _all(*resources: ResourceInfo) -> Callable[[Params], list[tuple[ResourceInfo, str | None]]]:
    return lambda params: [(r, params.get("namespace") or None) for r in resources]


PAGES: dict[str, Page] = {
    p.name: p
    for p in (
        Page("overview", "Overview", "overview_body.html", build_overview,
             lambda params: [(cluster.NODES, None), (cluster.EVENTS, None),
                             *_all(cluster.PODS, *cluster.WORKLOADS)(params)]),
        Page("namespaces", "Namespaces", "namespaces_body.html", build_namespaces,
             lambda params: [(cluster.NAMESPACES, None), (cluster.PODS, None)]),
        Page("workloads", "Workloads", "workloads_body.html", build_workloads, _all(cluster.PODS, *cluster.WORKLOADS)),
        Page("services", "Services", "services_body.html", build_services, _all(cluster.SERVICES, cluster.ENDPOINTS)),
        Page("pod", "Pod", "pod_body.html", build_pod, lambda params: [(cluster.PODS, params["namespace"]),
                                                                      (cluster.EVENTS, params["namespace"])]),
    )
}  # fmt: skip
PAGE_PARAMS = {"pod": ("namespace", "name")}


def params_of(page: str, raw: dict[str, str]) -> Params:
    return check_params(raw, PAGE_PARAMS.get(page, ("namespace",)))
