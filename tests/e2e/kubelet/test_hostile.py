"""Hostile Nodes and Pods meet the real kubelets: routes only from valid podCIDRs inside the cluster CIDR, bind
mounts that stay inside their volume, pods written past the API refused, and everything else still works.

Nodes and Pods are written straight into etcd with etcdctl (the API would refuse them). The "other node" of the
route test is the far end of a veth pair of this test, so a route to it could never leave the machine.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.kubelet.helpers import NodePair, make_pod
from tests.harness import ApiServer
from tests.images import BUSYBOX_IMAGE
from tests.polling import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

ROUTE_PROTO = "177"


@pytest.fixture
def etcd_url(kubelet_apiserver: ApiServer) -> str:
    """The etcd behind the kubelets' apiserver (an etcd of its own: tests/e2e/kubelet/conftest.py)."""
    assert kubelet_apiserver.etcd_url is not None
    return kubelet_apiserver.etcd_url


def put_raw(etcd_url: str, key: str, obj: dict[str, Any]) -> None:
    subprocess.run(
        [shutil.which("etcdctl") or "/usr/bin/etcdctl", "--endpoints", etcd_url, "put", key],
        input=json.dumps(obj).encode(),
        check=True,
        capture_output=True,
        env={**os.environ, "ETCDCTL_API": "3"},
        timeout=20,
    )


def del_raw(etcd_url: str, key: str) -> None:
    subprocess.run(
        [shutil.which("etcdctl") or "/usr/bin/etcdctl", "--endpoints", etcd_url, "del", key],
        capture_output=True, env={**os.environ, "ETCDCTL_API": "3"}, timeout=20,
    )  # fmt: skip


def ours() -> dict[str, str]:
    out = subprocess.run(
        ["ip", "-j", "route", "show", "proto", ROUTE_PROTO], capture_output=True, text=True
    ).stdout
    return {r["dst"]: r.get("gateway", "") for r in json.loads(out or "[]")}


@pytest.fixture
def peer() -> Iterator[str]:
    """A veth pair; the peer's address is the InternalIP of a fake node reachable only through it."""
    name = f"klh{uuid.uuid4().hex[:6]}"
    if (
        subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"]).returncode
        != 0
    ):
        pytest.skip("veth not supported here")
    try:
        subprocess.run(["ip", "addr", "add", "169.254.78.1/30", "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        subprocess.run(["ip", "link", "set", name + "p", "up"], check=True)
        yield "169.254.78.2"
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


def raw_node(name: str, pod_cidr: str, ip: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": str(uuid.uuid4()), "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}  # fmt: skip


def test_routes_only_from_valid_pod_cidrs(node_pair: NodePair, etcd_url: str, peer: str) -> None:
    good_cidr = f"10.244.{random.randint(252, 254)}.0/24"
    suffix = uuid.uuid4().hex[:5]
    nodes = {
        f"good-{suffix}": raw_node(f"good-{suffix}", good_cidr, peer),
        f"evil-default-{suffix}": raw_node(f"evil-default-{suffix}", "0.0.0.0/0", peer),
        f"evil-cluster-{suffix}": raw_node(f"evil-cluster-{suffix}", "10.244.0.0/16", peer),
        f"evil-inject-{suffix}": raw_node(
            f"evil-inject-{suffix}", "10.244.250.0/24\nblackhole 0.0.0.0/0", peer
        ),
        f"evil-outside-{suffix}": raw_node(f"evil-outside-{suffix}", "192.168.77.0/24", peer),
        f"evil-gateway-{suffix}": raw_node(f"evil-gateway-{suffix}", "10.244.249.0/24", "224.0.0.1"),
    }
    default_before = subprocess.run(["ip", "route", "show", "default"], capture_output=True, text=True).stdout
    try:
        for name, node in nodes.items():
            put_raw(etcd_url, f"/registry/nodes/{name}", node)
        wait_until(lambda: ours().get(good_cidr) == peer, 20, what=f"route {good_cidr} via {peer}")
        routes = ours()
        assert set(routes) <= {good_cidr} | {n.pod_cidr for n in (node_pair.a, node_pair.b)}, routes
        assert "default" not in routes and "10.244.0.0/16" not in routes
        assert (
            subprocess.run(["ip", "route", "show", "default"], capture_output=True, text=True).stdout
            == default_before
        )
        assert (
            "blackhole 0.0.0.0" not in subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
        )

        def rejected() -> set[str]:
            items = node_pair.api.get("/api/v1/namespaces/default/events").json()["items"]
            return {e["involvedObject"]["name"] for e in items if e.get("reason") == "RouteRejected"}

        evil = {n for n in nodes if n.startswith("evil-")}
        wait_until(lambda: evil <= rejected(), 15, what="RouteRejected events")
        assert "skipped" in node_pair.a.logs()
    finally:
        for name in nodes:
            del_raw(etcd_url, f"/registry/nodes/{name}")
    wait_until(lambda: good_cidr not in ours(), 20, what="the route to go with its node")


def test_a_sub_path_through_a_symlink_is_refused(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    pod = make_pod("escape", node_pair.a.name, [
        {"name": "ok", "command": ["sleep", "3600"], "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
        {"name": "bad", "command": ["sleep", "3600"],
         "volumeMounts": [{"name": "data", "mountPath": "/host", "subPath": "escape"}]},
    ], volumes=[{"name": "data", "emptyDir": {}}], initContainers=[
        {"name": "plant", "image": BUSYBOX_IMAGE, "command": ["ln", "-s", "/", "/data/escape"],
         "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
    ])  # fmt: skip
    node_pair.create_pod(ns, pod)

    def refused(p: dict[str, Any]) -> bool:
        for s in p.get("status", {}).get("containerStatuses") or []:
            waiting = (s.get("state") or {}).get("waiting") or {}
            if s["name"] == "bad" and waiting.get("reason") == "CreateContainerConfigError":
                return "outside its volume" in waiting.get("message", "")
        return False

    node_pair.wait_pod(ns, "escape", refused, 60, what="bad container refused")
    ok = node_pair.wait_pod(ns, "escape", lambda p: any(
        s["name"] == "ok" and (s.get("state") or {}).get("running") for s in p["status"].get("containerStatuses") or []),
        30, what="the other container running")  # fmt: skip
    assert node_pair.exec(ok, "ok", "readlink", "/data/escape").stdout.strip() == "/"
    assert not any(c["Name"].startswith("/k8s_bad_") for c in node_pair.containers(ns, "escape"))
    assert any("outside its volume" in e["message"] for e in node_pair.events(ns, "escape"))


def test_pods_written_past_the_api_are_refused_and_others_run(node_pair: NodePair, etcd_url: str) -> None:
    ns = node_pair.namespace()
    base = make_pod("raw", node_pair.a.name, [{"name": "c", "command": ["sleep", "3600"]}])
    uid = str(uuid.uuid4())
    escape = json.loads(json.dumps(base))
    escape["metadata"].update(
        name="raw-subpath", namespace=ns, uid=uid, creationTimestamp="2026-01-01T00:00:00Z"
    )
    escape["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    escape["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/x", "subPath": "../../../.."}
    ]
    escape["status"] = {"phase": "Pending"}
    bad_uid = json.loads(json.dumps(escape))
    bad_uid["metadata"].update(name="raw-uid", uid="../../../../tmp/kubelite-pwn")
    del bad_uid["spec"]["containers"][0]["volumeMounts"]
    put_raw(etcd_url, f"/registry/pods/{ns}/raw-subpath", escape)
    put_raw(etcd_url, f"/registry/pods/{ns}/raw-uid", bad_uid)
    node_pair.create_pod(
        ns, make_pod("fine", node_pair.a.name, [{"name": "c", "command": ["sleep", "3600"]}])
    )
    node_pair.wait_running(ns, "fine", 60)
    # (Its status cannot be written: the API refuses any write of an object that is not valid. The Event says it.)
    wait_until(lambda: any("must be a relative path without '..'" in e["message"]
                           for e in node_pair.events(ns, "raw-subpath")), 60, what="subPath refused")  # fmt: skip
    wait_until(lambda: any("refused the pod" in e["message"] for e in node_pair.events(ns, "raw-uid")), 30,
               what="the pod with a path for a uid refused")  # fmt: skip
    assert node_pair.containers(ns, "raw-uid") == []
    assert not os.path.exists("/tmp/kubelite-pwn")
    assert not any(
        c["Name"].startswith("/k8s_c_raw-subpath") for c in node_pair.containers(ns, "raw-subpath")
    )
