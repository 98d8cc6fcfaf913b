"""`kctl api-resources`, `kctl version`, `kctl cluster-info`: what the server says about itself."""

from __future__ import annotations

import sys
from typing import Any

import typer

from apimachinery.client import Client
from apimachinery.resources import resolve
from cli import printing
from cli.errors import CLIError
from cli.session import run
from cli.tabwriter import table

app = typer.Typer()

CLIENT_VERSION = {"major": "1", "minor": "32", "gitVersion": "v0.1.0-kctl", "platform": sys.platform}


async def discover(client: Client) -> list[tuple[str, dict[str, Any]]]:
    """(groupVersion, APIResource) for every top-level resource the server serves, core first."""
    out: list[tuple[str, dict[str, Any]]] = []
    core = await client.request("GET", "/api")
    for v in core.get("versions") or []:
        lst = await client.request("GET", f"/api/{v}")
        out += [(v, r) for r in lst.get("resources") or []]
    groups = await client.request("GET", "/apis")
    for g in sorted(groups.get("groups") or [], key=lambda g: g.get("name", "")):
        gv = (g.get("preferredVersion") or (g.get("versions") or [{}])[0]).get("groupVersion")
        if not gv:
            continue
        lst = await client.request("GET", f"/apis/{gv}")
        out += [(gv, r) for r in lst.get("resources") or []]
    return [(gv, r) for gv, r in out if "/" not in r.get("name", "")]


@app.command("api-resources")
def api_resources(
    namespaced: str = typer.Option(
        None, "--namespaced", help="true: only namespaced; false: only cluster-scoped"
    ),
    api_group: str = typer.Option(None, "--api-group", help="Only this group ('' for core)"),
    output: str = typer.Option(None, "-o", "--output", help="wide|name"),
    no_headers: bool = typer.Option(False, "--no-headers"),
) -> None:
    """Print the resource types the server supports."""
    printing.validate_output(output, ("wide", "name"))

    async def go(client: Client) -> list[tuple[str, dict[str, Any]]]:
        return await discover(client)

    found = run(go)
    rows = []
    for gv, r in sorted(found, key=lambda x: (x[0].rpartition("/")[0], x[1]["name"])):
        group = gv.rpartition("/")[0]
        if namespaced is not None and bool(r.get("namespaced")) != (namespaced.lower() == "true"):
            continue
        if api_group is not None and group != api_group:
            continue
        if output == "name":
            rows.append([f"{r['name']}.{group}" if group else r["name"]])
            continue
        row = [
            r["name"],
            ",".join(r.get("shortNames") or []),
            gv,
            str(bool(r.get("namespaced"))).lower(),
            r["kind"],
        ]
        if output == "wide":
            row += [",".join(r.get("verbs") or []), ",".join(r.get("categories") or [])]
        rows.append(row)
    if output == "name":
        sys.stdout.write("".join(r[0] + "\n" for r in rows))
        return
    head = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    if output == "wide":
        head += ["VERBS", "CATEGORIES"]
    sys.stdout.write(table(([] if no_headers else [head]) + rows))


@app.command()
def version(
    client_only: bool = typer.Option(False, "--client", help="Only the client version"),
    output: str = typer.Option(None, "-o", "--output", help="yaml|json"),
) -> None:
    """Print the client and server versions."""
    server: dict[str, Any] | None = None
    if not client_only:
        server = run(lambda c: c.request("GET", "/version"))
    if output in ("yaml", "json"):
        data: dict[str, Any] = {"clientVersion": CLIENT_VERSION}
        if server is not None:
            data["serverVersion"] = server
        sys.stdout.write(printing.format_objects([(None, data)], output, True))
        return
    if output:
        raise CLIError(f"--output must be 'yaml' or 'json', not {output!r}")
    print(f"Client Version: {CLIENT_VERSION['gitVersion']}")
    if server is not None:
        print(f"Server Version: {server.get('gitVersion', '')}")


@app.command("cluster-info")
def cluster_info() -> None:
    """Print the address of the control plane and of cluster services in kube-system."""

    async def go(client: Client) -> list[str]:
        svc = resolve("services")
        assert svc is not None
        await client.request("GET", "/version")  # reachability: fail here with the usual connection line
        try:
            lst = await client.list(svc, "kube-system", label_selector="kubernetes.io/cluster-service=true")
            services = lst["items"]
        except Exception:  # listing kube-system may be forbidden; the control plane line still holds
            services = []
        lines = [f"Kubernetes control plane is running at {client.server}"]
        for s in services:
            meta = s["metadata"]
            title = (meta.get("labels") or {}).get("kubernetes.io/name") or meta["name"]
            lines.append(
                f"{title} is running at {client.server}/api/v1/namespaces/kube-system/services/"
                f"{meta['name']}/proxy"
            )
        return lines

    for line in run(go):
        print(line)
    print("\nTo further debug and diagnose cluster problems, use 'kctl describe' and 'kctl get events -A'.")
