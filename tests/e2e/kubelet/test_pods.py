"""Pods on two real kubelets: shared IP and localhost, pod-to-pod across nodes, env, limits, volumes, init
containers, and the Node each kubelet registers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.kubelet.helpers import NodePair, make_pod
from tests.harness import free_port
from tests.polling import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

HTTPD = "mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"


def http_get(node_pair: NodePair, pod: dict, container: str, ip: str, port: int) -> str:
    """GET / through busybox nc inside the pod (busybox-static's wget crashes on non-loopback addresses)."""
    cmd = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip} {port}"
    out = node_pair.exec(pod, container, "sh", "-c", cmd).stdout
    return out if " 200 " in out else ""


def test_nodes_registered_with_lease_and_kubelet_port(node_pair: NodePair) -> None:
    for k in (node_pair.a, node_pair.b):
        node = node_pair.api.get(f"/api/v1/nodes/{k.name}").json()
        assert node["spec"]["podCIDR"] == k.pod_cidr
        assert node["metadata"]["labels"]["kubernetes.io/hostname"] == k.name
        assert node["metadata"]["labels"]["kubernetes.io/os"] == "linux"
        status = node["status"]
        assert {"type": "InternalIP", "address": "127.0.0.1"} in status["addresses"]
        assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] == k.port
        assert len(status["nodeInfo"]) == 10 and status["nodeInfo"]["containerRuntimeVersion"].startswith(
            "docker://"
        )
        conditions = {c["type"]: c["status"] for c in status["conditions"]}
        assert conditions == {
            "Ready": "True",
            "MemoryPressure": "False",
            "DiskPressure": "False",
            "PIDPressure": "False",
        }
        assert int(status["capacity"]["pods"]) == 110 and status["allocatable"]["cpu"]
        lease_path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{k.name}"
        lease = node_pair.api.get(lease_path).json()
        assert lease["spec"]["holderIdentity"] == k.name
        first = lease["spec"]["renewTime"]
        renewed = wait_until(lambda p=lease_path: node_pair.api.get(p).json()["spec"]["renewTime"], 10)
        wait_until(lambda p=lease_path, f=first: node_pair.api.get(p).json()["spec"]["renewTime"] != f, 10,
                   what="lease renewal")  # fmt: skip
        assert renewed


def test_two_container_pod_shares_ip_and_localhost(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    node_pair.create_pod(ns, make_pod("web", node_pair.a.name, [
        {"name": "server", "command": ["sh", "-c", HTTPD]},
        {"name": "client", "command": ["sleep", "3600"]},
    ]))  # fmt: skip
    pod = node_pair.wait_running(ns, "web")
    assert pod["status"]["podIP"].startswith(node_pair.a.pod_cidr.rsplit(".", 1)[0] + ".")
    assert pod["status"]["hostIP"] == "127.0.0.1"
    statuses = {s["name"]: s for s in pod["status"]["containerStatuses"]}
    assert all(s["state"].get("running") and s["ready"] and s["started"] for s in statuses.values())
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "True"
    # The client reaches the server on localhost: one network namespace, that of the pause container.
    out = wait_until(lambda: http_get(node_pair, pod, "client", "127.0.0.1", 8080), 10)
    assert out.rstrip().endswith("hello-from-web")
    ip = node_pair.exec(pod, "client", "ip", "-4", "-o", "addr", "show", "eth0").stdout
    assert pod["status"]["podIP"] + "/" in ip
    # Created while CNI ADD gave the pod its IP, started once it had: /etc/hosts names the pod by that IP.
    for name in statuses:
        hosts = node_pair.exec(pod, name, "cat", "/etc/hosts").stdout
        assert f"{pod['status']['podIP']}\tweb\n" in hosts
    containers = node_pair.containers(ns, "web")
    sandbox = next(c for c in containers if c["Config"]["Labels"]["io.kubelite.type"] == "sandbox")
    assert sandbox["HostConfig"]["NetworkMode"] == "none"  # CNI mode: the plugins wired its namespace
    for c in containers:
        if c["Id"] != sandbox["Id"]:
            assert c["HostConfig"]["NetworkMode"] == f"container:{sandbox['Id']}"


def test_pod_reaches_pod_on_other_node_by_ip(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    node_pair.create_pod(
        ns, make_pod("server", node_pair.a.name, [{"name": "httpd", "command": ["sh", "-c", HTTPD]}])
    )
    node_pair.create_pod(
        ns, make_pod("client", node_pair.b.name, [{"name": "c", "command": ["sleep", "3600"]}])
    )
    server = node_pair.wait_running(ns, "server")
    client = node_pair.wait_running(ns, "client")
    assert server["status"]["podIP"] != client["status"]["podIP"]
    out = wait_until(lambda: http_get(node_pair, client, "c", server["status"]["podIP"], 8080), 15)
    assert out.rstrip().endswith("hello-from-server")
    # And back, from node a's pod to node b's pod.
    node_pair.exec(client, "c", "sh", "-c", "nc -l -p 9000 -e echo pong >/dev/null 2>&1 &")
    pong = wait_until(
        lambda: (
            node_pair.exec(
                server, "httpd", "sh", "-c", f"nc -w 2 {client['status']['podIP']} 9000 </dev/null"
            ).stdout
        ),
        15,
    )
    assert pong.strip() == "pong"


def test_env_limits_and_command_in_docker(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    node_pair.create_pod(ns, make_pod("envpod", node_pair.b.name, [{
        "name": "main",
        "command": ["sh", "-c"],
        "args": ["echo $(GREETING) > /tmp/greeting; exec sleep 3600"],
        "workingDir": "/tmp",
        "env": [
            {"name": "GREETING", "value": "hi"},
            {"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "MY_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "MY_NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        ],
        "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m", "memory": "32Mi"}},
    }]))  # fmt: skip
    pod = node_pair.wait_running(ns, "envpod")
    cid = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("docker://")
    info = json.loads(
        subprocess.run(["docker", "inspect", cid], capture_output=True, text=True, check=True).stdout
    )[0]
    env = dict(e.split("=", 1) for e in info["Config"]["Env"])
    assert env["MY_POD"] == "envpod" and env["MY_NS"] == ns and env["MY_NODE"] == node_pair.b.name
    assert env["MY_IP"] == pod["status"]["podIP"] and env["GREETING"] == "hi"
    assert info["HostConfig"]["NanoCpus"] == 500_000_000
    assert info["HostConfig"]["CpuShares"] == 256
    assert info["HostConfig"]["Memory"] == 64 * 2**20
    assert info["Config"]["WorkingDir"] == "/tmp"
    assert info["Config"]["Entrypoint"] == ["sh", "-c"]
    out = wait_until(lambda: node_pair.exec(pod, "main", "cat", "/tmp/greeting").stdout, 10)
    assert out.strip() == "hi"
    assert pod["status"]["qosClass"] == "Burstable"


def test_empty_dir_shared_and_host_path_mounted(node_pair: NodePair, tmp_path: Path) -> None:
    ns = node_pair.namespace()
    (tmp_path / "from-host.txt").write_text("host-data\n")
    node_pair.create_pod(
        ns,
        make_pod(
            "vols",
            node_pair.a.name,
            [
                {
                    "name": "writer",
                    "command": ["sh", "-c", "echo shared > /data/x; exec sleep 3600"],
                    "volumeMounts": [{"name": "scratch", "mountPath": "/data"}],
                },
                {
                    "name": "reader",
                    "command": ["sleep", "3600"],
                    "volumeMounts": [
                        {"name": "scratch", "mountPath": "/shared"},
                        {"name": "hostdir", "mountPath": "/host", "readOnly": True},
                    ],
                },
            ],
            volumes=[
                {"name": "scratch", "emptyDir": {}},
                {"name": "hostdir", "hostPath": {"path": str(tmp_path)}},
            ],
        ),
    )
    pod = node_pair.wait_running(ns, "vols")
    out = wait_until(lambda: node_pair.exec(pod, "reader", "cat", "/shared/x").stdout, 10)
    assert out.strip() == "shared"
    assert node_pair.exec(pod, "reader", "cat", "/host/from-host.txt").stdout == "host-data\n"
    denied = node_pair.exec(pod, "reader", "sh", "-c", "echo no > /host/new")
    assert denied.returncode != 0 and "Read-only" in denied.stderr
    assert not (tmp_path / "new").exists()


def test_init_containers_run_in_order_first(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    node_pair.create_pod(ns, make_pod("init", node_pair.b.name, [
        {"name": "app", "command": ["sh", "-c", "cat /work/log; exec sleep 3600"],
         "volumeMounts": [{"name": "w", "mountPath": "/work"}]},
    ], initContainers=[
        {"name": "one", "image": "kubelite/busybox:1", "command": ["sh", "-c", "echo one >> /work/log"],
         "volumeMounts": [{"name": "w", "mountPath": "/work"}]},
        {"name": "two", "image": "kubelite/busybox:1", "command": ["sh", "-c", "sleep 0.5; echo two >> /work/log"],
         "volumeMounts": [{"name": "w", "mountPath": "/work"}]},
    ], volumes=[{"name": "w", "emptyDir": {}}]))  # fmt: skip
    pod = node_pair.wait_running(ns, "init")
    init = {s["name"]: s for s in pod["status"]["initContainerStatuses"]}
    assert init["one"]["state"]["terminated"]["reason"] == "Completed"
    assert init["two"]["state"]["terminated"]["exitCode"] == 0
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Initialized"] == "True"
    assert node_pair.exec(pod, "app", "cat", "/work/log").stdout == "one\ntwo\n"


def test_host_port_through_portmap(node_pair: NodePair) -> None:
    ns = node_pair.namespace()
    host_port = free_port()
    node_pair.create_pod(ns, make_pod("hp", node_pair.a.name, [{
        "name": "httpd", "command": ["sh", "-c", HTTPD],
        "ports": [{"containerPort": 8080, "hostPort": host_port}],
    }]))  # fmt: skip
    pod = node_pair.wait_running(ns, "hp")
    host_ip = next(a["address"] for a in _node(node_pair, node_pair.a.name)["status"]["addresses"]
                   if a["type"] == "InternalIP")  # fmt: skip
    assert pod["status"]["hostIP"] == host_ip
    # From another pod, through the node's address and the hostPort (portmap's DNAT).
    node_pair.create_pod(ns, make_pod("hpc", node_pair.b.name, [{"name": "c", "command": ["sleep", "3600"]}]))
    client = node_pair.wait_running(ns, "hpc")
    gateway = node_pair.a.pod_cidr.rsplit(".", 1)[0] + ".1"  # node a's bridge address: a host address
    out = wait_until(lambda: http_get(node_pair, client, "c", gateway, host_port), 15)
    assert out.rstrip().endswith("hello-from-hp")


def _node(node_pair: NodePair, name: str) -> dict:
    r = node_pair.api.get(f"/api/v1/nodes/{name}")
    return r.json() if r.status_code == 200 else {}


def test_node_registers_again_after_deletion(node_pair: NodePair) -> None:
    name = node_pair.b.name
    uid = _node(node_pair, name)["metadata"]["uid"]
    assert node_pair.api.delete(f"/api/v1/nodes/{name}").status_code == 200
    node = wait_until(lambda: _node(node_pair, name).get("metadata", {}).get("uid") not in (None, uid) and
                      _node(node_pair, name), 20, what="node registered again")  # fmt: skip
    assert node["spec"]["podCIDR"] == node_pair.b.pod_cidr
    wait_until(lambda: _node(node_pair, name).get("status", {}).get("nodeInfo"), 20, what="node status again")
