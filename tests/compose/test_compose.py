"""The docker-compose deployment end to end (issue 10's Show): a secure two-node cluster in containers with its own
registry; a Deployment and a NodePort Service; pod-to-pod and service traffic across nodes; scaling, a rolling
update, logs; a node failure; the ha profile surviving the loss of an etcd member and an apiserver under writes;
and `down -v` leaving nothing behind.

The tests share one compose project (module fixture) and run in file order; each leaves the cluster usable.
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import time
import uuid
from typing import Any

import docker
import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apimachinery.kubeconfig import load as load_kubeconfig
from cli.image import load_image
from tests.compose.helpers import Compose
from tests.harness import forbidden_lines
from tests.polling import wait_until

pytestmark = [pytest.mark.compose, pytest.mark.docker, pytest.mark.e2e, pytest.mark.slow]

WEB_IMAGE = "kubelite/compose-web"
IN_CLUSTER = "registry:5000"
WEB_COMMAND = 'echo "hello from $HOSTNAME" >/tmp/index.html; echo serving; exec httpd -f -p 8080 -h /tmp'


def _ready(pod: dict[str, Any]) -> bool:
    conds = pod.get("status", {}).get("conditions") or []
    return (
        not pod["metadata"].get("deletionTimestamp")
        and pod.get("status", {}).get("phase") == "Running"
        and any(c["type"] == "Ready" and c["status"] == "True" for c in conds)
    )


def _web_pods(compose: Compose) -> list[dict[str, Any]]:
    return [p for p in compose.kctl_json("get", "pods", "-l", "app=web")["items"] if _ready(p)]


def _http_from_pod(compose: Compose, node: str, pod: str, host: str, port: int) -> str:
    """GET / from inside `pod` (a container of `node`'s own Docker engine), with busybox nc."""
    cid = compose.node_exec(
        node,
        "docker", "ps", "-q",
        "--filter", f"label=io.kubelite.pod.name={pod}", "--filter", "label=io.kubelite.type=container",
    ).stdout.split()  # fmt: skip
    assert cid, f"no container of pod {pod} on {node}"
    proc = compose.node_exec(
        node,
        "docker",
        "exec",
        cid[0],
        "sh",
        "-c",
        f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} {port}",
    )
    return proc.stdout


def _client(compose: Compose) -> httpx.Client:
    """As the admin, with the client certificate of the kubeconfig the certs job wrote to the out folder."""
    return httpx.Client(
        base_url=f"https://127.0.0.1:{compose.apiserver_port}",
        verify=load_kubeconfig(compose.kubeconfig).ssl_context(),
        timeout=httpx.Timeout(5.0),
    )


@pytest.mark.timeout(60)
def test_secure_by_default(compose_cluster: Compose) -> None:
    c = compose_cluster
    ctx = ssl.create_default_context(cafile=str(c.out_dir / "ca.crt"))
    base = f"https://127.0.0.1:{c.apiserver_port}"
    with httpx.Client(verify=ctx, timeout=5) as anon:
        assert anon.get(f"{base}/api/v1/namespaces").status_code == 401
        assert anon.get(f"{base}/readyz").status_code == 200  # public, as in Kubernetes
    with _client(c) as admin:
        assert admin.get("/api/v1/namespaces").status_code == 200
    # etcd: no published port, an internal network, and unreachable from a node.
    etcd = json.loads(
        subprocess.run(["docker", "inspect", c.container("etcd-1")], capture_output=True).stdout
    )[0]
    assert not any(etcd["NetworkSettings"]["Ports"].get(p) for p in etcd["NetworkSettings"]["Ports"])
    (net,) = etcd["NetworkSettings"]["Networks"]
    info = json.loads(subprocess.run(["docker", "network", "inspect", net], capture_output=True).stdout)[0]
    assert info["Internal"] is True
    probe = "import socket; socket.create_connection(('etcd-1', 2379), timeout=2)"
    assert c.node_exec("node-1", "python3", "-c", probe).returncode != 0


def as_node_1(c: Compose, kubeconfig: str, *statements: str) -> list[str]:
    """What `statements` print, run by python on node-1 with `c`, an httpx client to the apiserver that trusts the
    cluster CA and presents the credential of /pki/<kubeconfig>."""
    client = (
        f"c = httpx.Client(base_url='https://apiserver:6443', verify=load('/pki/{kubeconfig}').ssl_context())"
    )
    script = "; ".join(["from apimachinery.kubeconfig import load", "import httpx", client, *statements])
    return c.node_exec("node-1", "python3", "-c", script).stdout.splitlines()


@pytest.mark.timeout(60)
def test_a_node_holds_only_its_own_credential(compose_cluster: Compose) -> None:
    c = compose_cluster
    files = c.node_exec(
        "node-1", "sh", "-c", "LC_ALL=C ls /pki; stat -c '%a %n' /pki/*.key /pki/*.conf"
    ).stdout.split("\n")
    assert files[0:8] == [
        "ca.crt",
        "kube-netpol.conf",
        "kube-proxy.conf",
        "kubelet.conf",
        "kubelet.crt",
        "kubelet.key",
        "metrics.crt",  # the secure /metrics port of kube-proxy and kube-netpol
        "metrics.key",
    ]
    assert all(line.startswith("600 ") for line in files[8:] if line)
    grep = c.node_exec("node-1", "sh", "-c", "grep -rl 'PRIVATE KEY' /pki; grep -rh 'system:' /pki/*.conf")
    assert "ca.key" not in grep.stdout and "system:masters" not in grep.stdout
    # That credential is node-1's, and the Node authorizer keeps it to node-1: node-2 is out of reach.
    out = as_node_1(
        c,
        "kubelet.conf",
        "r = c.patch('/api/v1/nodes/node-2', json={'spec': {'unschedulable': True}}, "
        "headers={'Content-Type': 'application/merge-patch+json'}); print(r.status_code, r.json()['message'])",
        "print(c.get('/api/v1/namespaces/kube-system/secrets').status_code)",
    )
    assert out == [
        '403 nodes "node-2" is forbidden: node "node-1" is not allowed to modify node "node-2"',
        "403",
    ]
    # The node's network policy agent is node-1's own identity too, and may neither read Secrets nor write policies.
    out = as_node_1(
        c,
        "kube-netpol.conf",
        "print(c.get('/api/v1/namespaces/kube-system/secrets').json()['message'])",
        "print(c.post('/apis/networking.k8s.io/v1/namespaces/default/networkpolicies', "
        "json={'metadata': {'name': 'x'}, 'spec': {'podSelector': {}}}).status_code)",
    )
    assert out == [
        'secrets is forbidden: User "system:kube-netpol:node-1" cannot list resource "secrets" in API group "" '
        'in the namespace "kube-system"',
        "403",
    ]


@pytest.mark.timeout(60)
def test_the_controller_manager_signs_approved_csrs(compose_cluster: Compose) -> None:
    """The CSR signer has the cluster CA (only the controller-manager's volume holds its key): an approved
    kube-apiserver-client request is issued a certificate for its subject, signed by the cluster's CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "compose-csr-user")])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    name = "compose-" + uuid.uuid4().hex[:6]
    body = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {
            "request": base64.b64encode(request.public_bytes(serialization.Encoding.PEM)).decode(),
            "signerName": "kubernetes.io/kube-apiserver-client",
            "usages": ["digital signature", "client auth"],
            "expirationSeconds": 600,
        },
    }
    path = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
    with _client(compose_cluster) as api:
        csr = api.post(path, json=body)
        assert csr.status_code == 201, csr.text
        approved = csr.json()
        approved["status"] = {"conditions": [{"type": "Approved", "status": "True", "reason": "ComposeTest"}]}
        assert api.put(f"{path}/{name}/approval", json=approved).status_code == 200

        def issued() -> str:
            return str(api.get(f"{path}/{name}").json().get("status", {}).get("certificate") or "")

        pem = wait_until(issued, timeout=30, interval=0.5, what=f"CSR {name} issued")
        api.delete(f"{path}/{name}")
    cert = x509.load_pem_x509_certificate(base64.b64decode(pem))
    ca = x509.load_pem_x509_certificate(str(load_kubeconfig(compose_cluster.kubeconfig).ca_data).encode())
    assert cert.subject == subject and cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)


@pytest.mark.timeout(60)
def test_two_ready_nodes_with_their_own_pod_cidrs(compose_cluster: Compose) -> None:
    c = compose_cluster
    out = c.kctl("get", "nodes").stdout
    assert [line.split()[:2] for line in out.splitlines()[1:]] == [["node-1", "Ready"], ["node-2", "Ready"]]
    # The real kubectl works with the same kubeconfig: HTTPS with the generated CA, a bearer token.
    out = c.kubectl("get", "nodes", "-o", "wide").stdout
    assert [line.split()[:2] for line in out.splitlines()[1:]] == [["node-1", "Ready"], ["node-2", "Ready"]]
    nodes = c.kctl_json("get", "nodes")["items"]
    cidrs = {n["spec"].get("podCIDR") for n in nodes}
    assert len(cidrs) == 2 and None not in cidrs
    # Figures for the README (shown with pytest -s).
    figures: dict[str, Any] = dict(getattr(c, "figures", {}))
    images = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}"], capture_output=True, text=True
    ).stdout
    ours = ("kubelite/base:", "kubelite/control-plane:", "kubelite/node:")
    figures["images"] = [line for line in images.splitlines() if line.startswith(ours)]
    ids = c.run("ps", "-q").stdout.split()
    stats = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", *ids],
        capture_output=True,
        text=True,
    ).stdout
    figures["memory"] = sorted(line.replace(c.project + "_", "") for line in stats.splitlines())
    print("compose figures:", json.dumps(figures, indent=1))


@pytest.mark.timeout(420)
def test_workload_from_the_cluster_registry(compose_cluster: Compose) -> None:
    c = compose_cluster
    engine = docker.from_env()
    try:
        base = engine.images.get("kubelite/busybox:1")
        for tag in ("v1", "v2"):
            base.tag(WEB_IMAGE, tag)
            name = load_image(engine, f"{WEB_IMAGE}:{tag}", f"127.0.0.1:{c.registry_port}", IN_CLUSTER)
            assert name == f"{IN_CLUSTER}/{WEB_IMAGE}:{tag}"
    finally:
        for tag in ("v1", "v2"):
            try:
                engine.images.remove(f"{WEB_IMAGE}:{tag}", noprune=True)
            except docker.errors.APIError:
                pass
        engine.close()

    manifest = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": f"{IN_CLUSTER}/{WEB_IMAGE}:v1",
                                "command": ["sh", "-c", WEB_COMMAND],
                                "ports": [{"containerPort": 8080}],
                            }
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": 8080}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "client"},
            "spec": {
                "nodeName": "node-1",
                "containers": [
                    {"name": "client", "image": f"{IN_CLUSTER}/{WEB_IMAGE}:v1", "command": ["sleep", "3600"]}
                ],
            },
        },
    ]
    c.kctl("apply", "-f", "-", stdin=yaml.safe_dump_all(manifest))
    wait_until(lambda: len(_web_pods(c)) == 2, timeout=120, interval=1, what="2 web pods ready")
    wait_until(
        lambda: _ready(c.kctl_json("get", "pod", "client")),
        timeout=60,
        interval=1,
        what="client pod ready",
    )
    pods = _web_pods(c)
    on_node_2 = [p for p in pods if p["spec"]["nodeName"] == "node-2"]
    assert on_node_2, f"the scheduler spread no web pod to node-2: {[p['spec']['nodeName'] for p in pods]}"
    target = on_node_2[0]

    # Pod on node-1 -> pod on node-2, by pod IP and through the ClusterIP.
    got = _http_from_pod(c, "node-1", "client", target["status"]["podIP"], 8080)
    assert f"hello from {target['metadata']['name']}" in got
    svc = c.kctl_json("get", "svc", "web")
    cluster_ip, node_port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
    assert "hello from web-" in _http_from_pod(c, "node-1", "client", cluster_ip, 80)

    # The NodePort from the host, on each node container's address.
    for node in c.kctl_json("get", "nodes")["items"]:
        ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        assert "hello from web-" in httpx.get(f"http://{ip}:{node_port}/", timeout=5).text

    # Scale, roll out a new image, read logs.
    c.kctl("scale", "deployment/web", "--replicas=6")
    wait_until(lambda: len(_web_pods(c)) == 6, timeout=120, interval=1, what="6 web pods ready")
    # The manifest again, with the new image (and the replicas scale set: apply sets every field it names).
    manifest[0]["spec"]["replicas"] = 6
    manifest[0]["spec"]["template"]["spec"]["containers"][0]["image"] = f"{IN_CLUSTER}/{WEB_IMAGE}:v2"
    c.kctl("apply", "-f", "-", stdin=yaml.safe_dump(manifest[0]))
    c.kctl("rollout", "status", "deployment/web", "--timeout=180s", timeout=200)
    wait_until(
        lambda: (
            [p["spec"]["containers"][0]["image"] for p in _web_pods(c)]
            == [f"{IN_CLUSTER}/{WEB_IMAGE}:v2"] * 6
        ),
        timeout=60,
        interval=1,
        what="6 ready pods of the new image",
    )
    pod = _web_pods(c)[0]["metadata"]["name"]
    assert "serving" in c.kctl("logs", pod).stdout


def _pod_sh(compose: Compose, node: str, pod: str, script: str) -> str:
    cid = compose.node_exec(
        node, "docker", "ps", "-q",
        "--filter", f"label=io.kubelite.pod.name={pod}", "--filter", "label=io.kubelite.type=container",
    ).stdout.split()  # fmt: skip
    assert cid, f"no container of pod {pod} on {node}"
    return compose.node_exec(node, "docker", "exec", cid[0], "sh", "-c", script).stdout


@pytest.mark.timeout(180)
def test_cluster_dns_across_nodes(compose_cluster: Compose) -> None:
    """A pod on node-1 finds, by name, a Service whose only pod runs on node-2, and reaches it: the query goes
    through node-1's kube-proxy to the kube-dns container, the request through it to node-2."""
    c = compose_cluster
    wait_until(
        lambda: c.health().get("kube-dns") == "healthy", timeout=60, interval=1, what="kube-dns healthy"
    )
    dns_svc = c.kctl_json("get", "svc", "kube-dns", "-n", "kube-system")
    assert dns_svc["spec"]["clusterIP"] == "10.96.0.10"
    # kube-dns holds its own credential only (the ServiceAccount kube-system/kube-dns, 0600), and was refused nothing.
    files = c.node_exec(
        "kube-dns", "sh", "-c", "LC_ALL=C ls /pki; stat -c '%a' /pki/kube-dns.conf"
    ).stdout.split()
    assert files == ["ca.crt", "kube-dns.conf", "600"]
    assert (
        "system:serviceaccount:kube-system:kube-dns"
        in c.node_exec("kube-dns", "grep", "-h", "system:", "/pki/kube-dns.conf").stdout
    )
    manifest = [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "far", "labels": {"app": "far"}},
         "spec": {"nodeName": "node-2", "containers": [{"name": "web", "image": f"{IN_CLUSTER}/{WEB_IMAGE}:v1",
                                                         "command": ["sh", "-c", WEB_COMMAND],
                                                         "ports": [{"containerPort": 8080}]}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "far"},
         "spec": {"selector": {"app": "far"}, "ports": [{"port": 80, "targetPort": 8080}]}},
    ]  # fmt: skip
    c.kctl("apply", "-f", "-", stdin=yaml.safe_dump_all(manifest))
    wait_until(lambda: _ready(c.kctl_json("get", "pod", "far")), timeout=90, interval=1, what="far pod ready")
    ip = c.kctl_json("get", "svc", "far")["spec"]["clusterIP"]
    resolv = _pod_sh(c, "node-1", "client", "cat /etc/resolv.conf")
    assert "nameserver 10.96.0.10" in resolv and "search default.svc.cluster.local" in resolv, resolv
    looked_up = wait_until(
        lambda: ip in _pod_sh(c, "node-1", "client", "nslookup far.default.svc.cluster.local.") and 1,
        timeout=30, interval=1, what="far resolved from node-1",
    )  # fmt: skip
    assert looked_up
    assert ip in _pod_sh(c, "node-1", "client", "nslookup far")
    got = _pod_sh(c, "node-1", "client", "timeout 10 wget -q -O- http://far/")
    assert got.strip() == "hello from far", got
    assert forbidden_lines(c.run("logs", "--no-color", "kube-dns").stdout) == []


@pytest.mark.timeout(240)
def test_a_stopped_node_loses_its_pods_to_the_other(compose_cluster: Compose) -> None:
    c = compose_cluster
    assert any(p["spec"]["nodeName"] == "node-2" for p in _web_pods(c))
    c.run("stop", "-t", "5", "node-2")

    def replaced() -> bool:
        pods = _web_pods(c)
        return len(pods) == 6 and all(p["spec"]["nodeName"] == "node-1" for p in pods)

    wait_until(replaced, timeout=150, interval=2, what="6 ready web pods, all on node-1")
    node = c.kctl_json("get", "node", "node-2")
    ready = next(x for x in node["status"]["conditions"] if x["type"] == "Ready")
    assert ready["status"] != "True"


@pytest.mark.timeout(420)
def test_ha_profile_survives_losing_an_etcd_member_and_an_apiserver(compose_cluster: Compose) -> None:
    c = compose_cluster
    c.run("up", "-d", profiles=("ha",), timeout=600)
    ha_services = ("etcd-2", "etcd-3", "apiserver-2", "scheduler-2", "controller-manager-2")
    wait_until(
        lambda: all(c.health(("ha",)).get(s) == "healthy" for s in ha_services),
        timeout=180,
        interval=1,
        what="the ha profile's services healthy",
    )
    ns = f"ha-{uuid.uuid4().hex[:6]}"
    acked: list[str] = []
    acked_after_kill = 0
    killed = False
    with _client(c) as api:
        wait_until(
            lambda: api.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code in (201, 409),
            timeout=30,
            interval=0.5,
            what="namespace created",
        )
        deadline = time.monotonic() + 180
        i = 0
        while acked_after_kill < 100:
            assert time.monotonic() < deadline, (
                f"writes stalled: {len(acked)} acked, {acked_after_kill} after kill"
            )
            name = f"cm-{i}"
            body = {"metadata": {"name": name}, "data": {"i": str(i)}}
            try:
                status = api.post(f"/api/v1/namespaces/{ns}/configmaps", json=body).status_code
            except httpx.HTTPError:
                status = 0
            if status in (201, 409):  # 409: an earlier, unanswered attempt of ours went through
                acked.append(name)
                acked_after_kill += killed
                i += 1
            else:
                time.sleep(0.2)  # retry the same object
            if len(acked) == 30 and not killed:
                subprocess.run(
                    ["docker", "kill", c.container("etcd-1"), c.container("apiserver-1")],
                    check=True,
                    capture_output=True,
                )
                killed = True

        def all_present() -> bool:
            resp = api.get(f"/api/v1/namespaces/{ns}/configmaps")
            names = {item["metadata"]["name"] for item in resp.json()["items"]}
            missing = set(acked) - names
            assert not missing, f"acknowledged writes lost: {sorted(missing)[:10]}"
            return True

        wait_until(all_present, timeout=30, interval=1, what="every acknowledged write readable")
    assert len(acked) >= 130


@pytest.mark.timeout(240)
def test_metrics_server_and_kubectl_top(compose_cluster: Compose) -> None:
    """metrics-server runs as its own container with its own credential (system:metrics-server, 0600, the
    front-proxy CA but no key), the apiserver proxies metrics.k8s.io to it with its front-proxy certificate, and
    `kctl top nodes` shows both nodes from their kubelets' /metrics/resource."""
    c = compose_cluster
    wait_until(lambda: c.health().get("metrics-server") == "healthy", timeout=90, interval=1,
               what="metrics-server healthy")  # fmt: skip
    files = c.node_exec(
        "metrics-server",
        "sh",
        "-c",
        "LC_ALL=C ls /pki; stat -c '%a' /pki/metrics-server.conf /pki/metrics-server.key",
    ).stdout.split()
    assert files == ["ca.crt", "front-proxy-ca.crt", "metrics-server.conf", "metrics-server.crt",
                     "metrics-server.key", "600", "600"]  # fmt: skip
    assert (
        "system:metrics-server"
        in c.node_exec("metrics-server", "grep", "-h", "system:", "/pki/metrics-server.conf").stdout
    )

    def top() -> str:
        out = c.kctl("top", "nodes", check=False)
        return out.stdout if out.returncode == 0 and "node-1" in out.stdout and "node-2" in out.stdout else ""

    shown = wait_until(top, timeout=120, interval=2, what="kctl top nodes with both nodes")
    assert shown.splitlines()[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]


@pytest.mark.timeout(240)
def test_down_leaves_nothing_behind(compose_cluster: Compose) -> None:
    c = compose_cluster
    c.down()
    assert c.leftovers() == {"containers": [], "networks": [], "volumes": []}
