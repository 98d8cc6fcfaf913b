"""`kctl up` runs the network policy agent like every other component: supervised, in `kctl status`, enforcing
policies written with the real kubectl, keeping them while it restarts, and `kctl down` removes its rules and sets.
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any

import pytest
import yaml

from tests.e2e.up.helpers import UP_MARKS, UpCluster
from tests.images import BUSYBOX_IMAGE
from tests.integration.kubectl.kube import KUBECTL
from tests.integration.netpol.helpers import forward_rules, iptables_lines, need_tools, our_sets
from tests.polling import wait_until

pytestmark = [*UP_MARKS, pytest.mark.kubectl, pytest.mark.timeout(300)]


def kubectl(cluster: UpCluster, *args: str, stdin: str | None = None) -> str:
    assert KUBECTL is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env["HOME"] = str(cluster.tmp)
    done = subprocess.run(
        [KUBECTL, "--kubeconfig", str(cluster.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def pods_yaml(ns: str) -> str:
    serve = "mkdir -p /www && echo server > /www/index.html && exec httpd -f -p 8080 -h /www"
    objs: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}]
    for name, command in (("server", ["sh", "-c", serve]), ("client", ["sleep", "3600"])):
        objs.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "c", "image": BUSYBOX_IMAGE, "command": command}],
                },
            }
        )
    return yaml.safe_dump_all(objs)


def policy(name: str, ns: str, spec: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns},
            "spec": spec,
        }
    )


def test_kctl_up_runs_and_supervises_the_agent_and_down_cleans_up(up_cluster: UpCluster) -> None:
    need_tools()
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    r = up_cluster.kctl(*up_cluster.up_args())
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    assert "network policies: enforced by kube-netpol" in r.stdout
    status = up_cluster.kctl("status", "--state-dir", str(up_cluster.state)).stdout
    row = next(line.split() for line in status.splitlines() if line.startswith("kube-netpol"))
    assert row[2] == "running" and row[-1] == "ok", status

    ns = "uptest-netpol"
    kubectl(up_cluster, "apply", "-f", "-", stdin=pods_yaml(ns))
    kubectl(
        up_cluster, "wait", "-n", ns, "--for=condition=Ready", "pod/server", "pod/client", "--timeout=60s"
    )
    pods = {
        p["metadata"]["name"]: p
        for p in yaml.safe_load(kubectl(up_cluster, "get", "pods", "-n", ns, "-o", "yaml"))["items"]
    }
    ip = pods["server"]["status"]["podIP"]
    client = pods["client"]["status"]["containerStatuses"][0]["containerID"].removeprefix("docker://")

    def get() -> str:
        out = subprocess.run(
            ["docker", "exec", client, "sh", "-c", f"timeout 3 wget -q -O - http://{ip}:8080/"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return out.stdout.strip()

    wait_until(lambda: get() == "server", 20, 0.1, what="the client reaching the server")
    kubectl(up_cluster, "apply", "-f", "-", stdin=policy("deny", ns, {"podSelector": {}}))
    wait_until(lambda: get() == "", 10, 0.1, what="the deny blocking the client")

    # The agent killed (with the node process it shares): its rules stay (fail closed) and the supervisor starts
    # it again.
    before = up_cluster.status()["kube-netpol"]
    os.kill(before["pid"], signal.SIGKILL)
    assert get() == ""
    wait_until(
        lambda: (
            (now := up_cluster.status()["kube-netpol"])["restarts"] == before["restarts"] + 1
            and now["state"] == "running"
        ),
        30,
        0.2,
        what="kube-netpol restarted",
    )
    allow = {
        "podSelector": {"matchLabels": {"app": "server"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}],
    }
    kubectl(up_cluster, "apply", "-f", "-", stdin=policy("allow", ns, allow))
    wait_until(lambda: get() == "server", 30, 0.1, what="the restarted agent letting the client in")

    down = up_cluster.kctl("down", "--state-dir", str(up_cluster.state))
    assert down.returncode == 0, down.stderr
    assert "removed kube-netpol's rules and sets" in down.stdout
    assert iptables_lines() == [] and our_sets() == {}
    assert not any("KLNP" in line for line in forward_rules())
