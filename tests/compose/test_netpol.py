"""Network policies across two nodes of the compose deployment: each node container runs its own kube-netpol (its
own network namespace), so a client on node-1 and a server on node-2 meet two agents: node-1's judges the client's
egress, node-2's the server's ingress. Written with the real kubectl; traffic only between this test's pods.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import yaml

from tests import factories
from tests.binaries import KUBECTL
from tests.compose.helpers import Compose
from tests.e2e.netpol.helpers import serving_container
from tests.polling import wait_until

pytestmark = [pytest.mark.compose, pytest.mark.docker, pytest.mark.e2e, pytest.mark.kubectl, pytest.mark.slow]

NS = "netpol"


def pod(name: str, node: str, labels: dict[str, str], *, serve: bool = True) -> dict[str, Any]:
    image = "kubelite/busybox:1"
    if serve:
        box = serving_container(image, imagePullPolicy="IfNotPresent")
    else:
        box = factories.container("c", image, imagePullPolicy="IfNotPresent", command=["sleep", "3600"])
    return factories.pod(
        name, labels, containers=[box], namespace=NS, node=node, terminationGracePeriodSeconds=0
    )


def _apply(c: Compose, objs: tuple[dict[str, Any], ...]) -> None:
    assert KUBECTL is not None
    proc = subprocess.run(
        [
            KUBECTL,
            "--kubeconfig",
            str(c.kubeconfig),
            "--cache-dir",
            str(c.kubectl_cache),
            "apply",
            "-f",
            "-",
        ],
        input=yaml.safe_dump_all(objs),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def kubectl_json(c: Compose, *args: str) -> Any:
    return json.loads(c.kubectl(*args, "-o", "json").stdout)


def get(c: Compose, node: str, pod_name: str, ip: str, port: int = 8080) -> str:
    """GET / from inside `pod_name` (a container of `node`'s own Docker engine): the body, "" on failure."""
    cid = c.node_exec(
        node, "docker", "ps", "-q", "--filter", f"label=io.kubelite.pod.name={pod_name}",
        "--filter", "label=io.kubelite.type=container",
    ).stdout.split()  # fmt: skip
    assert cid, f"no container of pod {pod_name} on {node}"
    out = c.node_exec(
        node, "docker", "exec", cid[0], "sh", "-c", f"timeout 3 wget -q -O - http://{ip}:{port}/"
    )
    return out.stdout.strip() if out.returncode == 0 else ""


@pytest.mark.timeout(300)
def test_policies_across_two_nodes(compose_cluster: Compose) -> None:
    c = compose_cluster
    _apply(
        c,
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
            pod("server", "node-2", {"app": "server"}),
            pod("db", "node-2", {"app": "db"}),
            pod("client", "node-1", {"role": "client"}, serve=False),
            pod("other", "node-1", {}, serve=False),
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "db", "namespace": NS},
                "spec": {"selector": {"app": "db"}, "ports": [{"port": 80, "targetPort": 8080}]},
            },
        ),
    )
    c.kubectl("wait", "-n", NS, "--for=condition=Ready", "pod", "--all", "--timeout=120s", timeout=150)
    pods = {p["metadata"]["name"]: p for p in kubectl_json(c, "get", "pods", "-n", NS)["items"]}
    server = pods["server"]["status"]["podIP"]
    db = kubectl_json(c, "get", "svc", "db", "-n", NS)["spec"]["clusterIP"]
    wait_until(
        lambda: get(c, "node-1", "client", server) == "server", 30, 0.1, what="the client reaching the server"
    )
    wait_until(
        lambda: get(c, "node-1", "client", db, 80) == "db", 30, 0.1, what="the client reaching the db service"
    )

    # Ingress, enforced by node-2's agent for a client on node-1.
    _apply(
        c, (factories.network_policy("deny", {"podSelector": {}, "policyTypes": ["Ingress"]}, namespace=NS),)
    )
    wait_until(lambda: get(c, "node-1", "client", server) == "", 10, 0.1, what="default deny on node-2")
    allow = {
        "podSelector": {"matchLabels": {"app": "server"}},
        "ingress": [
            {"from": [{"podSelector": {"matchLabels": {"role": "client"}}}], "ports": [{"port": "http"}]}
        ],
    }
    _apply(c, (factories.network_policy("allow-clients", allow, namespace=NS),))
    wait_until(
        lambda: get(c, "node-1", "client", server) == "server", 10, 0.1, what="the labelled client let in"
    )
    assert get(c, "node-1", "other", server) == ""
    assert any("KLNP-POD-IN-" in line for line in c.node_exec("node-2", "iptables-save").stdout.splitlines())

    # Egress, enforced by node-1's agent: the client may reach the server only, not the db service.
    c.kubectl("delete", "netpol", "deny", "-n", NS)
    wait_until(lambda: get(c, "node-1", "client", db, 80) == "db", 10, 0.1, what="the db service open again")
    egress = {
        "podSelector": {"matchLabels": {"role": "client"}},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "server"}}}]}],
    }
    _apply(c, (factories.network_policy("client-egress", egress, namespace=NS),))
    wait_until(
        lambda: get(c, "node-1", "client", db, 80) == "", 10, 0.1, what="egress blocking the db service"
    )
    assert get(c, "node-1", "client", server) == "server"
    assert any("KLNP-POD-EG-" in line for line in c.node_exec("node-1", "iptables-save").stdout.splitlines())

    # Removing the policies restores traffic.
    c.kubectl("delete", "netpol", "--all", "-n", NS)
    wait_until(lambda: get(c, "node-1", "client", db, 80) == "db", 10, 0.1, what="traffic restored")
    wait_until(
        lambda: get(c, "node-1", "other", server) == "server", 10, 0.1, what="traffic restored for other"
    )
    for node in ("node-1", "node-2"):
        health = c.node_exec(
            node, "python3", "/opt/kubelite/deploy/probe.py", "http://127.0.0.1:10265/healthz"
        )
        assert health.returncode == 0, health.stdout + health.stderr
        # Sets that no rule uses any more go at the agent's next sync (at most --sync-period later).
        wait_until(
            lambda node=node: (
                not [
                    s
                    for s in c.node_exec(node, "ipset", "list", "-n").stdout.split()
                    if s.startswith("KLNP-S-")
                ]
            ),
            20,
            0.1,
            what=f"{node}'s sets removed",
        )
    c.kubectl("delete", "namespace", NS, "--wait=false")
