"""The monitoring profile's companion to Prometheus: its ServiceAccount and least-privilege role, a token for it, and
the scrape targets, discovered from kubelite's API as that ServiceAccount.

Debian's prometheus 2.42 is built without kubernetes_sd_configs (client-go is not in Debian), so this job lists
what that discovery would watch and writes file_sd files with the same `__meta_kubernetes_*` labels:

    monitoring/prometheus (ServiceAccount), ClusterRole + ClusterRoleBinding `kubelite:prometheus`:
      get/list/watch nodes, pods, services, endpoints, endpointslices (discovery);
      get nodes/metrics, nodes/proxy (the kubelets' /metrics and /metrics/cadvisor); get nonResourceURL /metrics
    $TOKEN_DIR/token            a TokenRequest token (0600), requested again after two thirds of its life
    $TOKEN_DIR/ca.crt           the cluster CA, to check the certificates of the apiserver, the kubelets and the
                                components' secure /metrics ports
    $TOKEN_DIR/sd/apiserver.json  the endpoints of default/kubernetes (role endpoints)
    $TOKEN_DIR/sd/kubelet.json    every Node at its kubelet port (role node)

It sets up with the admin kubeconfig that the certs job leaves in the out folder (mounted read-only) and discovers
with the ServiceAccount's token only; Prometheus never sees the admin credential. /healthz on
127.0.0.1:$HEALTH_PORT is ok once a token and both target files are written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

from apimachinery.client import Client
from apimachinery.component import run_until_signal, serve_health, setup_logging
from apimachinery.errors import StatusError
from apimachinery.kubeconfig import ClientConfig
from apimachinery.pki import write_private, write_public

log = logging.getLogger("prometheus-sd")

KUBECONFIG = os.environ.get("KUBECONFIG", "/out/kubeconfig")
CA_FILE = Path(os.environ.get("CA_FILE", "/out/ca.crt"))
SERVER = os.environ.get("SERVER", "https://apiserver:6443")
TOKEN_DIR = Path(os.environ.get("TOKEN_DIR", "/var/run/prometheus"))
EXPIRATION = int(os.environ.get("TOKEN_EXPIRATION_SECONDS", "86400"))
HEALTH_PORT = int(os.environ.get("HEALTH_PORT", "10280"))
NAMESPACE, NAME = "monitoring", "prometheus"
ROLE = "kubelite:prometheus"
RETRY_SECONDS = 5.0
SD_INTERVAL = float(os.environ.get("SD_INTERVAL_SECONDS", "10"))

READ = ["get", "list", "watch"]
RBAC = "/apis/rbac.authorization.k8s.io/v1"
OBJECTS: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
    (
        f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, "namespace": NAMESPACE}},
    ),
    (
        f"{RBAC}/clusterroles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": ROLE},
            "rules": [
                {"apiGroups": [""], "resources": ["nodes", "pods", "services", "endpoints"], "verbs": READ},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
                {"apiGroups": [""], "resources": ["nodes/metrics", "nodes/proxy"], "verbs": ["get"]},
                {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
            ],
        },
    ),
    (
        f"{RBAC}/clusterrolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": ROLE},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
    ),
]


async def ensure(client: Client, collection: str, obj: dict[str, Any]) -> None:
    """Create `obj`, or replace it when it exists (so a changed role here reaches a running cluster)."""
    try:
        await client.request("POST", collection, body=obj)
        log.info("created", extra={"path": collection, "name": obj["metadata"]["name"]})
        return
    except StatusError as exc:
        if exc.code != 409:
            raise
    if obj["kind"] in ("Namespace", "ServiceAccount"):
        return  # nothing of ours to update
    path = f"{collection}/{obj['metadata']['name']}"
    current = await client.request("GET", path)
    body = {**obj, "metadata": {**obj["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]}}
    await client.request("PUT", path, body=body)


async def request_token(client: Client) -> int:
    """A fresh token written to TOKEN_DIR/token (0600); returns its lifetime in seconds."""
    path = f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{NAME}/token"
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": EXPIRATION}}  # fmt: skip
    out = await client.request("POST", path, body=body)
    token = out["status"]["token"]
    write_private(TOKEN_DIR / "token", token.encode())  # atomically: Prometheus rereads it at each scrape
    lifetime = int(out["spec"].get("expirationSeconds") or EXPIRATION)
    log.info("token written", extra={"expires": out["status"]["expirationTimestamp"]})
    return lifetime


def node_targets(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Role node: one target group per Node, at its name and kubelet port, with kubernetes_sd's node labels."""
    groups = []
    for node in nodes:
        meta = node.get("metadata") or {}
        name = str(meta.get("name") or "")
        status = node.get("status") or {}
        port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
        if not name or not isinstance(port, int):
            continue
        labels = {"__meta_kubernetes_node_name": name}
        for key, value in (meta.get("labels") or {}).items():
            labels["__meta_kubernetes_node_label_" + _label_name(key)] = str(value)
        for address in status.get("addresses") or []:
            labels[f"__meta_kubernetes_node_address_{address.get('type')}"] = str(address.get("address"))
        groups.append({"targets": [f"{name}:{port}"], "labels": labels})
    return groups


def endpoint_targets(endpoints: dict[str, Any], port_name: str) -> list[dict[str, Any]]:
    """Role endpoints, for one Endpoints object: its ready addresses at the port named `port_name`."""
    meta = endpoints.get("metadata") or {}
    targets = []
    for subset in endpoints.get("subsets") or []:
        ports = [p["port"] for p in subset.get("ports") or [] if p.get("name", "") == port_name]
        for address in subset.get("addresses") or []:
            targets += [f"{address['ip']}:{port}" for port in ports]
    labels = {"__meta_kubernetes_namespace": str(meta.get("namespace") or ""),
              "__meta_kubernetes_service_name": str(meta.get("name") or ""),
              "__meta_kubernetes_endpoint_port_name": port_name}  # fmt: skip
    return [{"targets": sorted(targets), "labels": labels}] if targets else []


def _label_name(key: str) -> str:
    """A Kubernetes label key as Prometheus spells it in a label name: every other character becomes `_`."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in key)


def write_targets(name: str, groups: list[dict[str, Any]]) -> None:
    directory = TOKEN_DIR / "sd"
    directory.mkdir(exist_ok=True)
    write_public(directory / name, json.dumps(groups, indent=1, sort_keys=True).encode())


async def discover(client: Client) -> None:
    """One round of discovery, as the ServiceAccount: the Nodes and the apiservers' endpoints."""
    nodes = await client.request("GET", "/api/v1/nodes")
    write_targets("kubelet.json", node_targets(nodes.get("items") or []))
    endpoints = await client.request("GET", "/api/v1/namespaces/default/endpoints/kubernetes")
    write_targets("apiserver.json", endpoint_targets(endpoints, "https"))


def ready() -> bool:
    return all((TOKEN_DIR / f).exists() for f in ("token", "sd/kubelet.json", "sd/apiserver.json"))


async def keep_token(admin: Client, fresh: asyncio.Event) -> None:
    """Set up the ServiceAccount and its role, then keep a token for it; `fresh` is set after each new token."""
    while True:
        try:
            for collection, obj in OBJECTS:
                await ensure(admin, collection, obj)
            lifetime = await request_token(admin)
        except (StatusError, OSError, KeyError) as exc:
            log.warning("cannot get a token yet", extra={"error": str(exc)})
            await asyncio.sleep(RETRY_SECONDS)
            continue
        fresh.set()
        await asyncio.sleep(max(RETRY_SECONDS, lifetime * 2 / 3))


async def keep_targets(fresh: asyncio.Event) -> None:
    """Every SD_INTERVAL seconds, discover the targets again with the ServiceAccount's current token."""
    await fresh.wait()
    while True:
        token = (TOKEN_DIR / "token").read_text()
        client = Client(ClientConfig(server=SERVER, token=token, ca_file=str(TOKEN_DIR / "ca.crt")),
                        user_agent="prometheus-sd")  # fmt: skip
        try:
            await discover(client)
        except (StatusError, OSError, KeyError) as exc:
            log.warning("discovery failed", extra={"error": str(exc)})
        finally:
            await client.aclose()
        await asyncio.sleep(SD_INTERVAL)


def prepare() -> None:
    """The folder Prometheus reads, and the CA in it."""
    TOKEN_DIR.mkdir(parents=True, exist_ok=True)
    write_public(TOKEN_DIR / "ca.crt", CA_FILE.read_bytes())


async def main() -> None:
    server = await serve_health("127.0.0.1", HEALTH_PORT, ready)
    admin = Client.from_args(SERVER, KUBECONFIG, user_agent="prometheus-sd")
    fresh = asyncio.Event()
    try:
        await asyncio.gather(keep_token(admin, fresh), keep_targets(fresh))
    finally:
        await admin.aclose()
        server.close()


if __name__ == "__main__":
    setup_logging("prometheus-sd")
    prepare()
    run_until_signal(main())
