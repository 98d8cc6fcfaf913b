"""Hollow nodes (like kubemark/KWOK): many simulated nodes in one process, for control-plane tests and benchmarks.

`kubelite-hollow-nodes --master URL --count N [--name-prefix hollow-] [--cpu 4 --memory 16Gi --pods 110]`

* Registers N Nodes (Ready, capacity = allocatable, node info) and keeps their Leases in kube-node-lease fresh
  (every 10 s, as the kubelet does), and their status (every --status-interval).
* One informer on all pods (not one per node) picks the pods bound to its nodes and moves them to Running
  through the status subresource: a pod IP from a fake per-node range (100.64.0.0/10, or the node's podCIDR when
  the IPAM controller set one), conditions and container statuses, without running any container; with
  --ready-delay S, only S seconds after it first saw the pod bound (a simulated container start-up time).
* Deletes (grace 0) pods of its nodes that get a deletionTimestamp, as a kubelet does once containers stopped.
* Serves a tiny kubelet API of its own (kubelet/hollow_api.py) on --kubelet-port (default: a free one) and
  advertises that port for every node, so `kubectl logs` of a hollow pod says the pod is simulated instead of
  reaching whatever real kubelet listens on 10250. TLS: --tls-cert-file/--tls-private-key-file (SANs naming the
  nodes) or a self-signed certificate; --client-ca-file requires the apiserver's client certificate.

Never use these in tests that claim containers run. Imports only `apimachinery`, kubelet.hollow_api and
kubelet.nodestatus (the node status, Lease and taint code the real kubelet uses too), no other kubelet module.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from apimachinery.client import Client
from apimachinery.component import client_from_args, run_until_signal, setup_logging
from apimachinery.errors import StatusError, ignore_not_found, is_already_exists, is_not_found
from apimachinery.informer import Informer
from apimachinery.resources import must_resource
from apimachinery.timefmt import now_rfc3339
from apimachinery.workqueue import WorkQueue, run_workers
from apimachinery.writerpool import WriterPool
from kubelet import hollow_api, nodestatus
from kubelet.hollow_cli import parse_args
from kubelet.nodestatus import LEASE_NAMESPACE
from kubelet.nodestatus import parse_taint as parse_taint

log = logging.getLogger("hollow")

LEASE_DURATION = 40
FAKE_POD_RANGE = ipaddress.ip_network("100.64.0.0/10")
NODE_IP = "127.0.0.1"  # nothing listens for a hollow node; loopback keeps stray traffic on this machine
KUBELET_VERSION = "v1.32.0-kubelite-hollow"


PODS = must_resource("", "pods")
NODES = must_resource("", "nodes")
LEASES = nodestatus.LEASES

now = now_rfc3339


def node_info(name: str) -> dict[str, str]:
    return {
        "machineID": uuid.uuid5(uuid.NAMESPACE_DNS, name).hex,
        "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        "bootID": str(uuid.uuid4()),
        "kernelVersion": os.uname().release,
        "osImage": "kubelite hollow node",
        "containerRuntimeVersion": "hollow://1.0.0",
        "kubeletVersion": KUBELET_VERSION,
        "kubeProxyVersion": KUBELET_VERSION,
        "operatingSystem": "linux",
        "architecture": "amd64",
    }


def node_object(
    name: str,
    capacity: dict[str, str],
    labels: dict[str, str],
    taints: list[dict[str, str]],
    stamp: str,
    port: int = 10250,
) -> dict[str, Any]:
    """The Node a hollow node registers: the kubelet's shape (kubelet/nodestatus.py) with simulated facts."""
    status = nodestatus.node_status(
        name=name, node_ip=NODE_IP, capacity=capacity, node_info=node_info(name), port=port, now=stamp
    )
    all_labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubelite.io/hollow": "true",
        **labels,
    }
    return nodestatus.node_object(name, all_labels, status, taints=taints)


def running_status(pod: dict[str, Any], pod_ip: str, stamp: str) -> dict[str, Any]:
    """The status a kubelet reports once every container of `pod` runs and is ready."""
    spec = pod.get("spec") or {}

    def cond(type_: str) -> dict[str, Any]:
        return {"type": type_, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}

    def container_status(container: dict[str, Any], index: int, init: bool) -> dict[str, Any]:
        uid = (pod.get("metadata") or {}).get("uid") or "nouid"
        status: dict[str, Any] = {
            "name": container.get("name"),
            "image": container.get("image"),
            "imageID": f"hollow://{container.get('image')}",
            "containerID": f"hollow://{uid}-{index}",
            "restartCount": 0,
            "lastState": {},
        }
        if init and container.get("restartPolicy") != "Always":
            status.update(
                ready=True,
                started=False,
                state={
                    "terminated": {
                        "exitCode": 0,
                        "reason": "Completed",
                        "startedAt": stamp,
                        "finishedAt": stamp,
                    }
                },
            )
        else:
            status.update(ready=True, started=True, state={"running": {"startedAt": stamp}})
        return status

    status: dict[str, Any] = {
        "phase": "Running",
        "hostIP": NODE_IP,
        "hostIPs": [{"ip": NODE_IP}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": stamp,
        "conditions": [cond(t) for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
        "containerStatuses": [
            container_status(c, i, False) for i, c in enumerate(spec.get("containers") or [])
        ],
    }
    init = spec.get("initContainers") or []
    if init:
        status["initContainerStatuses"] = [container_status(c, 1000 + i, True) for i, c in enumerate(init)]
    return status


class PodIPs:
    """Pod IPs of one node: its podCIDR when set, else a /24 of the fake range chosen by the node's index."""

    def __init__(self, index: int) -> None:
        base = int(FAKE_POD_RANGE.network_address) + (index % 2 ** (24 - FAKE_POD_RANGE.prefixlen)) * 256
        self.fallback = ipaddress.ip_network(f"{ipaddress.ip_address(base)}/24")
        self.cidr: ipaddress.IPv4Network | ipaddress.IPv6Network = self.fallback
        self.by_pod: dict[str, str] = {}
        self._next = 2

    def set_cidr(self, cidr: str | None) -> None:
        network = ipaddress.ip_network(cidr) if cidr else self.fallback
        if network != self.cidr:
            self.cidr, self._next = network, 2

    def take(self, key: str, current: str | None = None) -> str:
        if key in self.by_pod:
            return self.by_pod[key]
        if current:
            self.by_pod[key] = current
            return current
        used = set(self.by_pod.values())
        size = self.cidr.num_addresses
        for _ in range(size):
            candidate = str(self.cidr[self._next % size])
            self._next = self._next + 1 if self._next + 1 < size - 1 else 2
            if candidate not in used:
                self.by_pod[key] = candidate
                return candidate
        raise RuntimeError(f"pod range {self.cidr} exhausted")

    def release(self, key: str) -> None:
        self.by_pod.pop(key, None)


class HollowNodes:
    def __init__(
        self,
        client: Client,
        count: int,
        *,
        prefix: str = "hollow-",
        capacity: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
        taints: list[dict[str, str]] | None = None,
        lease_interval: float = 10.0,
        status_interval: float = 300.0,
        workers: int = 8,
        ready_delay: float = 0.0,
        kubelet_port: int = 10250,
    ) -> None:
        self.client = client
        # The pods' writes borrow the client from this pool, `workers` at once.
        self._writers = WriterPool(client, workers)
        self.kubelet_port = kubelet_port  # where this process's hollow kubelet API listens
        self.names = [f"{prefix}{i}" for i in range(count)]
        self.capacity = capacity or {"cpu": "4", "memory": "16Gi", "pods": "110"}
        self.labels = labels or {}
        self.taints = taints or []
        self.lease_interval = lease_interval
        self.status_interval = status_interval
        self.workers = workers
        self.ready_delay = ready_delay
        self._bound_seen: dict[str, float] = {}  # with ready_delay: when a pod was first seen bound here
        self.ips = {name: PodIPs(i) for i, name in enumerate(self.names)}
        self.leases = {name: nodestatus.NodeLease(client, name, LEASE_DURATION) for name in self.names}
        # Bound pods only, as each kubelet watches its own node's (spec.nodeName=<node>): a pending pod is no
        # node's business, so neither its creation nor a pod no scheduler picks up reaches this process.
        self.pods = Informer(client, PODS, field_selector="spec.nodeName!=")
        self.nodes = Informer(client, NODES)
        self.queue: WorkQueue[str] = WorkQueue("hollow-pods")
        self.running = 0  # pods moved to Running (for logs and tests)
        self._pod_nodes: dict[str, str] = {}
        self.pods.add_handler(self._on_pod, lambda _old, new: self._on_pod(new), self._on_pod)
        self.nodes.add_handler(self._on_node, lambda _old, new: self._on_node(new))

    # --- registration and heartbeats ---------------------------------------------------------------------------

    async def _each(self, fn: Callable[[str], Awaitable[None]], limit: int = 8) -> None:
        semaphore = asyncio.Semaphore(limit)

        async def one(name: str) -> None:
            async with semaphore:
                try:
                    await fn(name)
                except (StatusError, ConnectionError, TimeoutError) as exc:
                    # One node's heartbeat failing is retried on the next round; never stop the others.
                    log.warning("node call failed", extra={"node": name, "error": repr(exc)})

        await asyncio.gather(*(one(name) for name in self.names))

    async def register(self) -> None:
        await self._each(self._register_node)
        log.info("registered hollow nodes", extra={"count": len(self.names), "first": self.names[:1]})

    async def _register_node(self, name: str) -> None:
        stamp = now()
        body = node_object(name, self.capacity, self.labels, self.taints, stamp, self.kubelet_port)
        try:
            created = await self.client.create(NODES, body)
        except StatusError as err:
            if not is_already_exists(err):
                raise
            created = None  # re-adopt a node from an earlier run: refresh its status below
        if created is None or not ((created.get("status") or {}).get("conditions")):
            await self.client.patch(NODES, name, {"status": body["status"]}, subresource="status")
        await self._renew_lease(name)

    async def _renew_lease(self, name: str) -> None:
        node = self.nodes.store.get(name)
        await self.leases[name].renew(((node or {}).get("metadata") or {}).get("uid"))

    async def _refresh_status(self, name: str) -> None:
        node = self.nodes.store.get(name)
        old = {c.get("type"): c for c in ((node or {}).get("status") or {}).get("conditions") or []}
        conditions = nodestatus.node_conditions(old, now())  # keeps transition times, moves the heartbeat
        await self.client.patch(NODES, name, {"status": {"conditions": conditions}}, subresource="status")

    async def _every(self, interval: float, fn: Callable[[str], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(interval)
            await self._each(fn)

    async def unregister(self) -> None:
        """Delete the nodes and their leases (for tests and benchmarks that clean up after themselves)."""

        async def drop(name: str) -> None:
            for res, ns in ((LEASES, LEASE_NAMESPACE), (NODES, None)):
                with contextlib.suppress(StatusError):  # best effort: gone already, or left for the caller
                    await self.client.delete(res, name, ns)

        await self._each(drop)

    # --- pods ----------------------------------------------------------------------------------------------

    def _on_node(self, node: dict[str, Any]) -> None:
        name = node["metadata"]["name"]
        ips = self.ips.get(name)
        if ips is not None:
            ips.set_cidr((node.get("spec") or {}).get("podCIDR"))

    def node_of(self, namespace: str, name: str) -> str | None:
        """The hollow node of this process a pod is bound to (for the kubelet API), or None."""
        pod = self.pods.store.get(f"{namespace}/{name}")
        node = ((pod or {}).get("spec") or {}).get("nodeName")
        return node if node in self.ips else None

    def _on_pod(self, pod: dict[str, Any]) -> None:
        meta = pod.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        node = (pod.get("spec") or {}).get("nodeName")
        if node in self.ips or key in self._pod_nodes:
            self.queue.add(key)

    async def reconcile(self, key: str) -> None:
        pod = self.pods.store.get(key)
        node = (pod.get("spec") or {}).get("nodeName") if pod else None
        if pod is None or node not in self.ips:
            self._bound_seen.pop(key, None)
            old_node = self._pod_nodes.pop(key, None)
            if old_node is not None:
                self.ips[old_node].release(key)
            return
        self._pod_nodes[key] = node
        meta, status = pod["metadata"], pod.get("status") or {}
        namespace, name = meta.get("namespace"), meta["name"]
        if meta.get("deletionTimestamp"):
            with ignore_not_found():  # a failure of another kind is retried
                async with self._writers.borrow() as writer:
                    await writer.delete(PODS, name, namespace, grace_period_seconds=0)
            return
        if status.get("phase") in ("Running", "Succeeded", "Failed"):
            self.ips[node].take(key, status.get("podIP"))  # adopt what an earlier run reported
            return
        if self.ready_delay > 0:  # a simulated start-up time: Running and Ready that long after binding
            left = self._bound_seen.setdefault(key, time.monotonic()) + self.ready_delay - time.monotonic()
            if left > 0:
                self.queue.add_after(key, left)
                return
            self._bound_seen.pop(key, None)
        pod_ip = self.ips[node].take(key)
        try:
            async with self._writers.borrow() as writer:
                await writer.patch(
                    PODS,
                    name,
                    {"status": running_status(pod, pod_ip, now())},
                    namespace,
                    subresource="status",
                )
        except StatusError as err:
            if is_not_found(err):
                return
            raise
        self.running += 1

    # --- running -------------------------------------------------------------------------------------------

    async def run(self, delete_on_exit: bool = False) -> None:
        await self.register()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.nodes.run(), name="hollow-nodes-informer")
                group.create_task(self.pods.run(), name="hollow-pods-informer")
                group.create_task(
                    run_workers(self.queue, self.reconcile, self.workers), name="hollow-workers"
                )
                group.create_task(self._every(self.lease_interval, self._renew_lease), name="hollow-leases")
                group.create_task(
                    self._every(self.status_interval, self._refresh_status), name="hollow-status"
                )
        finally:
            self.queue.shutdown()
            if delete_on_exit:
                await asyncio.shield(self.unregister())


async def amain(args: argparse.Namespace) -> None:
    names = [f"{args.name_prefix}{i}" for i in range(args.count)]
    if args.tls_cert_file:
        context = hollow_api.ssl_context(args.tls_cert_file, args.tls_private_key_file, args.client_ca_file)
    else:
        with hollow_api.self_signed(names, NODE_IP) as (cert, key):
            context = hollow_api.ssl_context(cert, key, args.client_ca_file)
    node_of: list[Callable[[str, str], str | None]] = []  # set once the nodes exist
    api = await hollow_api.serve(
        NODE_IP, args.kubelet_port, context, lambda ns, pod: node_of[0](ns, pod) if node_of else None
    )
    client = client_from_args(args, user_agent="kubelite-hollow-nodes")
    hollow = HollowNodes(
        client,
        args.count,
        prefix=args.name_prefix,
        capacity={"cpu": args.cpu, "memory": args.memory, "pods": args.pods},
        labels=args.labels,
        taints=args.taint,
        lease_interval=args.lease_interval,
        status_interval=args.status_interval,
        workers=args.workers,
        ready_delay=args.ready_delay,
        kubelet_port=hollow_api.bound_port(api),
    )
    node_of.append(hollow.node_of)
    log.info("hollow kubelet API listening", extra={"address": f"{NODE_IP}:{hollow.kubelet_port}"})
    try:
        await hollow.run(delete_on_exit=args.delete_on_exit)
    finally:
        api.close()
        await client.aclose()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging("kubelite-hollow-nodes", args.log_level)
    run_until_signal(amain(args))


if __name__ == "__main__":
    main()
