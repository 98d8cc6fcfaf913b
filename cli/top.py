"""`kctl top nodes|pods`: resource usage from the metrics API (metrics.k8s.io/v1beta1, served by metrics-server
through the aggregation layer), with kubectl top's columns and arithmetic:

    kctl top nodes [NAME] [-l SELECTOR]            NAME CPU(cores) CPU(%) MEMORY(bytes) MEMORY(%)
    kctl top pods [NAME] [-n NS | -A] [--containers] [-l SELECTOR]
                                                   [NAMESPACE] [POD] NAME CPU(cores) MEMORY(bytes)

CPU is printed in millicores rounded up (Quantity.MilliValue), memory in whole MiB rounded down; the node
percentages are of the node's allocatable. Without the metrics API: "Metrics API not available", as kubectl.
"""

from __future__ import annotations

import math
from typing import Any

import typer

from apimachinery.client import Client
from apimachinery.validation import parse_quantity
from cli.errors import CLIError
from cli.session import namespace_of, run
from cli.tabwriter import table

app = typer.Typer()
top_app = typer.Typer(help="Display resource (CPU/memory) usage of nodes or pods.", no_args_is_help=True)
app.add_typer(top_app, name="top")

METRICS = "/apis/metrics.k8s.io/v1beta1"
Obj = dict[str, Any]


def millicores(quantity: str) -> int:
    return math.ceil(round(parse_quantity(quantity) * 1000, 6))


def mebibytes(quantity: str) -> int:
    return int(parse_quantity(quantity)) // (1024 * 1024)


def node_rows(metrics: list[Obj], nodes: dict[str, Obj]) -> list[list[str]]:
    rows = [["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]]
    for m in metrics:
        name = m["metadata"]["name"]
        cpu, memory = millicores(m["usage"]["cpu"]), mebibytes(m["usage"]["memory"])
        allocatable = ((nodes.get(name) or {}).get("status") or {}).get("allocatable") or {}
        cpu_total = millicores(str(allocatable.get("cpu", "0")))
        mem_total = int(parse_quantity(str(allocatable.get("memory", "0"))))
        cpu_pct = f"{cpu * 100 // cpu_total}%" if cpu_total else "<unknown>"
        mem_pct = (
            f"{int(parse_quantity(m['usage']['memory'])) * 100 // mem_total}%" if mem_total else "<unknown>"
        )
        rows.append([name, f"{cpu}m", cpu_pct, f"{memory}Mi", mem_pct])
    return rows


def pod_rows(metrics: list[Obj], *, all_namespaces: bool, containers: bool) -> list[list[str]]:
    head = (
        (["NAMESPACE"] if all_namespaces else [])
        + (["POD"] if containers else [])
        + ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    )
    rows = [head]
    for m in metrics:
        md = m["metadata"]
        prefix = [md.get("namespace", "")] if all_namespaces else []
        if containers:
            for c in m.get("containers") or []:
                rows.append([*prefix, md["name"], c["name"], f"{millicores(c['usage']['cpu'])}m",
                             f"{mebibytes(c['usage']['memory'])}Mi"])  # fmt: skip
            continue
        cpu = sum(millicores(c["usage"]["cpu"]) for c in m.get("containers") or [])
        memory = sum(int(parse_quantity(c["usage"]["memory"])) for c in m.get("containers") or [])
        rows.append([*prefix, md["name"], f"{cpu}m", f"{memory // (1024 * 1024)}Mi"])
    return rows


async def _require_metrics_api(client: Client) -> None:
    groups = await client.request("GET", "/apis")
    if not any(g.get("name") == "metrics.k8s.io" for g in (groups or {}).get("groups") or []):
        raise CLIError("Metrics API not available")


async def _top_nodes(client: Client, name: str | None, selector: str | None) -> str:
    await _require_metrics_api(client)
    if name:
        items = [await client.request("GET", f"{METRICS}/nodes/{name}")]
    else:
        params = {"labelSelector": selector} if selector else None
        items = (await client.request("GET", f"{METRICS}/nodes", params=params))["items"]
    if not items:
        raise CLIError("metrics not available yet")
    nodes = {n["metadata"]["name"]: n for n in (await client.request("GET", "/api/v1/nodes"))["items"]}
    return table(node_rows(sorted(items, key=lambda m: m["metadata"]["name"]), nodes))


async def _top_pods(client: Client, name: str | None, namespace: str | None, selector: str | None,
                    containers: bool) -> str:  # fmt: skip
    await _require_metrics_api(client)
    base = f"{METRICS}/namespaces/{namespace}/pods" if namespace else f"{METRICS}/pods"
    if name:
        items = [await client.request("GET", f"{base}/{name}")]
    else:
        params = {"labelSelector": selector} if selector else None
        items = (await client.request("GET", base, params=params))["items"]
    if not items:
        where = f" in {namespace} namespace" if namespace else ""
        raise CLIError(f"No resources found{where}.")
    items.sort(key=lambda m: (m["metadata"].get("namespace", ""), m["metadata"]["name"]))
    return table(pod_rows(items, all_namespaces=namespace is None, containers=containers))


@top_app.command("nodes")
@top_app.command("node", hidden=True)
@top_app.command("no", hidden=True)
def top_nodes(
    name: str = typer.Argument(None, help="one node"),
    selector: str = typer.Option(None, "-l", "--selector", help="label selector"),
) -> None:
    """Display resource (CPU/memory) usage of nodes."""
    print(run(lambda c: _top_nodes(c, name, selector)), end="")


@top_app.command("pods")
@top_app.command("pod", hidden=True)
@top_app.command("po", hidden=True)
def top_pods(
    name: str = typer.Argument(None, help="one pod"),
    all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces"),
    containers: bool = typer.Option(False, "--containers", help="each container of the pods"),
    selector: str = typer.Option(None, "-l", "--selector", help="label selector"),
) -> None:
    """Display resource (CPU/memory) usage of pods."""
    print(run(lambda c: _top_pods(c, name, namespace_of(all_namespaces), selector, containers)), end="")
