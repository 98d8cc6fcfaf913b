"""Node lifecycle and IPAM with a short grace period: a node whose Lease stops is tainted and its pods evicted
after their tolerationSeconds; when it comes back the taints go."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

import pytest

from apimachinery.errors import StatusError
from tests import factories
from tests.background import Background
from tests.integration.controller_manager.helpers import is_ready, now, pod_ready_status
from tests.polling import eventually
from tests.resources import EVENTS, LEASES, NODES, PODS
from tests.stored import get_or_none

pytestmark = [pytest.mark.etcd, pytest.mark.slow]

UNREACHABLE = "node.kubernetes.io/unreachable"


def micro_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Heartbeat(Background):
    """What a kubelet does for its node: renew the Lease every 0.3 s while `beating`."""

    def __init__(self, client, node):
        self.client, self.node = client, node
        self.beating = True

    async def __aenter__(self):
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.node},
            "spec": {"holderIdentity": self.node, "leaseDurationSeconds": 40, "renewTime": micro_now()},
        }
        await self.client.create(LEASES, lease, "kube-node-lease")
        return await super().__aenter__()

    async def __aexit__(self, *exc):
        await super().__aexit__(*exc)
        with contextlib.suppress(StatusError):
            await self.client.delete(LEASES, self.node, "kube-node-lease")

    async def _run(self):
        while True:
            await asyncio.sleep(0.3)
            if self.beating:
                with contextlib.suppress(StatusError):
                    await self.client.patch(
                        LEASES, self.node, {"spec": {"renewTime": micro_now()}}, "kube-node-lease"
                    )


def pod(name, node, tolerations):
    return factories.pod(
        name,
        image="busybox",
        container="c",
        node=node,
        terminationGracePeriodSeconds=0,
        tolerations=tolerations,
    )


def ready_condition(status="True"):
    return {
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": status,
                    "reason": "KubeletReady",
                    "lastHeartbeatTime": now(),
                    "lastTransitionTime": now(),
                }
            ]
        }
    }


@pytest.mark.timeout(90)
async def test_unreachable_node_is_tainted_and_pods_evicted(client, namespace, start_manager):
    m = start_manager(
        "--controllers",
        "node-lifecycle,node-ipam",
        "--node-monitor-grace-period",
        "2s",
        "--node-eviction-rate",
        "10",
    )
    name = f"nl-{uuid.uuid4().hex[:6]}"
    await client.create(NODES, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    try:
        await client.patch(NODES, name, ready_condition(), subresource="status")
        async with Heartbeat(client, name) as heart:
            node = await eventually(lambda: _with_cidr(client, name), what="pod CIDR")
            assert node["spec"]["podCIDR"].startswith("10.244.") and node["spec"]["podCIDR"].endswith("/24")
            assert node["spec"]["podCIDRs"] == [node["spec"]["podCIDR"]]

            short = [
                {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}
            ]
            forever = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}]
            await client.create(PODS, pod("short", name, short), namespace)
            await client.create(PODS, pod("forever", name, forever), namespace)
            await client.create(PODS, pod("default", name, None), namespace)  # the apiserver adds 300 s
            for p in ("short", "forever", "default"):
                await client.patch(PODS, p, pod_ready_status("10.244.9.9"), namespace, subresource="status")

            # Renewing: nothing happens for longer than the grace period.
            loop = asyncio.get_running_loop()
            start = loop.time()
            await eventually(lambda: loop.time() - start > 3, what="3 s of heartbeats")
            node = await client.get(NODES, name)
            assert not node["spec"].get("taints")

            heart.beating = False
            node = await eventually(lambda: _tainted(client, name), timeout=15, what="unreachable taints")
            ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
            assert ready["status"] == "Unknown" and ready["reason"] == "NodeStatusUnknown"
            no_execute = next(t for t in node["spec"]["taints"] if t["effect"] == "NoExecute")
            assert no_execute["timeAdded"]

            async def pods_not_ready():
                pods = {p["metadata"]["name"]: p for p in (await client.list(PODS, namespace))["items"]}
                return all(not is_ready(p) for n, p in pods.items() if n != "short") and "forever" in pods

            await eventually(pods_not_ready, what="pods marked not ready")
            await eventually(lambda: _evicted(client, namespace, "short"), timeout=15, what="short evicted")
            assert not await _evicted(client, namespace, "forever")
            assert not await _evicted(client, namespace, "default")

            async def events():
                reasons = {e["reason"] for e in (await client.list(EVENTS, namespace))["items"]}
                return "TaintManagerEviction" in reasons

            await eventually(events, what="eviction event")

            # The kubelet comes back: renews and reports Ready.
            heart.beating = True
            await client.patch(NODES, name, ready_condition(), subresource="status")

            async def untainted():
                n = await client.get(NODES, name)
                return not any(t["key"] == UNREACHABLE for t in n["spec"].get("taints") or [])

            await eventually(untainted, timeout=15, what="taints removed")
    finally:
        with contextlib.suppress(StatusError):
            await client.delete(NODES, name)
        assert "Traceback" not in m.logs()


async def _with_cidr(client, name):
    n = await client.get(NODES, name)
    return n if n["spec"].get("podCIDR") else None


async def _tainted(client, name):
    n = await client.get(NODES, name)
    keys = {(t["key"], t["effect"]) for t in n["spec"].get("taints") or []}
    return n if {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")} <= keys else None


async def _evicted(client, ns, name):
    p = await get_or_none(client, PODS, name, ns)
    return p is None or bool(p["metadata"].get("deletionTimestamp"))
