"""Adding a machine, end to end: two machines (containers with their own dockerd, tests/e2e/join/machines.py) on a
network of the test's own; `kctl up --advertise-address` on one, `kctl join` on the other; both nodes Ready; a
4-replica Deployment spread over both; a pod on the first machine reaches a pod and a ClusterIP Service on the
second; the joined node's credential is a CSR-issued certificate for system:node:<name>; a wrong token or CA hash
is refused in one line; then drain, delete node and `kctl down` on the joined machine leave nothing behind."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.e2e.join.machines import Machine, Machines, image_present, wait
from tests.prebuild import COMPOSE_BUILD, build_compose_images

# `compose`: it runs the compose deployment's node image, which tests/prebuild.py builds before the first test.
pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.compose, pytest.mark.timeout(900)]

JOIN = re.compile(
    r"add a machine: (kctl join https://\S+ --token (\S+) --discovery-token-ca-cert-hash (sha256:\S+))"
)
HTTPD = "mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"


@pytest.fixture
def machines(request: pytest.FixtureRequest) -> Iterator[tuple[Machine, Machine]]:
    build = request.config.stash.get(COMPOSE_BUILD, None)
    if build is None and not image_present():  # the prebuild plugin did not build it (no docker-compose here)
        build = build_compose_images()
    if build is not None and not build.ok:
        raise AssertionError(f"deploy/build.sh failed after {build.seconds:.0f}s:\n{build.output[-4000:]}")
    made = Machines()
    created: list[Machine] = []
    try:
        created = made.create(2)
        yield created[0], created[1]
    finally:
        for m in created:  # shown by pytest when the test fails
            print(f"==== {m.name} ({m.ip})")
            print(
                m.sh(
                    "tail -n 30 /root/.kubelite/supervisor.log /root/.kubelite/logs/*.log 2>&1", check=False
                ).stdout
            )
        made.destroy()


def ready_nodes(m: Machine) -> set[str]:
    nodes = m.json("get", "nodes")["items"]
    return {
        n["metadata"]["name"]
        for n in nodes
        if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
    }


def test_join_a_second_machine(machines: tuple[Machine, Machine]) -> None:
    m1, m2 = machines
    up = m1.kctl("up", "--node-name", "m1", "--advertise-address", m1.ip, "--timeout", "180", timeout=300)
    print("$ kctl up --node-name m1 --advertise-address", m1.ip, "\n" + up.stdout)  # the README's example
    found = JOIN.search(up.stdout)
    assert found, up.stdout
    command, token, ca_hash = found.groups()
    assert f"https://{m1.ip}:6443" in command

    # Refused in one clear line: a wrong token secret, a wrong CA hash.
    wrong_token = token.split(".")[0] + "." + "0" * 16
    bad = m2.sh(command.replace(token, wrong_token), check=False)
    assert bad.returncode == 1 and bad.stderr.strip().count("\n") == 0, bad.stderr
    assert "wrong token secret" in bad.stderr
    bad = m2.sh(command.replace(ca_hash, "sha256:" + "0" * 64), check=False)
    assert bad.returncode == 1 and "does not match --discovery-token-ca-cert-hash" in bad.stderr, bad.stderr
    assert bad.stderr.strip().count("\n") == 0

    joined = m2.sh(command + " --node-name m2 --timeout 180", timeout=300)
    assert "node m2 joined" in joined.stdout, joined.stdout + joined.stderr
    print("$", command, "--node-name m2\n" + joined.stderr + joined.stdout)
    wait("both nodes Ready", lambda: ready_nodes(m1) == {"m1", "m2"})
    print("$ kctl get nodes -o wide\n" + m1.kctl("get", "nodes", "-o", "wide").stdout)
    print("$ kctl get csr\n" + m1.kctl("get", "csr").stdout)
    assert "kubelet" in m2.kctl("status").stdout

    # The joined node's credential: a certificate for system:node:m2 the cluster CA issued through a CSR.
    subject = m2.sh("awk '/client-certificate-data/ {print $2}' /root/.kubelite/kubeconfigs/kubelet.conf | "
                    "base64 -d | openssl x509 -noout -subject -issuer").stdout  # fmt: skip
    assert "CN = system:node:m2" in subject and "O = system:nodes" in subject, subject
    csrs = m1.json("get", "csr")["items"]
    mine = [c for c in csrs if c["spec"]["username"] == f"system:bootstrap:{token.split('.')[0]}"]
    assert mine and all(c["status"].get("certificate") for c in mine)

    # A Deployment over both machines, and a server pinned to the second one behind a ClusterIP Service.
    m1.sh(f"""cat <<'YAML' | kctl apply -f -
apiVersion: v1
kind: Pod
metadata: {{name: far, labels: {{app: far}}}}
spec:
  nodeName: m2
  containers: [{{name: web, image: kubelite/busybox:1, command: [sh, -c, "{HTTPD}"]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: far}}
spec: {{selector: {{app: far}}, ports: [{{port: 80, targetPort: 8080}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: near}}
spec:
  nodeName: m1
  containers: [{{name: c, image: kubelite/busybox:1, command: [sleep, "3600"]}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 4
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: kubelite/busybox:1, command: [sh, -c, "{HTTPD}"]}}]
YAML""")

    def running() -> dict[str, str]:
        pods = m1.json("get", "pods")["items"]
        return {
            p["metadata"]["name"]: p["spec"].get("nodeName", "")
            for p in pods
            if p["status"].get("phase") == "Running"
        }

    wait("6 pods running", lambda: len(running()) == 6, 180)
    web_nodes = {node for name, node in running().items() if name.startswith("web-")}
    print("$ kctl get pods -o wide\n" + m1.kctl("get", "pods", "-o", "wide").stdout)
    assert web_nodes == {"m1", "m2"}, running()
    far = m1.json("get", "pod", "far")
    far_ip, cluster_ip = far["status"]["podIP"], m1.json("get", "svc", "far")["spec"]["clusterIP"]
    for target in (f"{far_ip}:8080", f"{cluster_ip}:80"):
        # busybox nc (busybox-static's wget dies of SIGSEGV on non-loopback addresses, tests/e2e/kubelet)
        get = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {target.replace(':', ' ')}"
        got = wait(
            f"near reaches {target}",
            lambda get=get: (
                "hello-from-far" in m1.kctl("exec", "near", "--", "sh", "-c", get, check=False).stdout
            ),
            60,
        )
        assert got

    # Remove the machine: drain it, `kctl down` there (its kubelet would register the Node again), delete the
    # Node; its route goes from the first machine too.
    pod_cidr = m1.json("get", "node", "m2")["spec"]["podCIDR"]
    assert pod_cidr in m1.sh("ip route show proto 177").stdout
    m1.kctl("drain", "m2", "--ignore-daemonsets", "--force", "--delete-emptydir-data", timeout=240)
    m2.kctl("down", "--purge", timeout=240)
    m1.kctl("delete", "node", "m2")
    wait("m2's route gone from m1", lambda: pod_cidr not in m1.sh("ip route show proto 177").stdout, 60)
    assert m2.sh("docker ps -aq").stdout.strip() == ""
    assert m2.sh("ip route show proto 177").stdout.strip() == ""
    assert "kubelite masquerade m2" not in m2.sh("iptables-save").stdout
    assert (
        m2.sh("ps -eo args | grep -c -E '[-]m (kubelet|kube_proxy|cli.supervisor)' || true").stdout.strip()
        == "0"
    )
    assert m2.sh("test -e /root/.kubelite && echo left || echo gone").stdout.strip() == "gone"
