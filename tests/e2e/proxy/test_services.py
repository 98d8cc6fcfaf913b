"""Services end to end: real pods on two kubelets, the real endpoints controller, one real kube-proxy.

Every request goes to loopback, to a local address of this machine, to a pod, or to a service address that the
guard routes keep on this machine. The tests share one Deployment "web" of 3 busybox httpd pods that answer
with their own name, one Service for it and a client pod on node b; they run in file order (scale-down last).
"""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest

from tests.e2e.proxy.helpers import Cluster, bridge_address, get_script, host_get, httpd_pod_spec
from tests.integration.proxy.helpers import KubeProxyProc, iptables_save, our_lines, service_lines
from tests.polling import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.timeout(300)]

REPLICAS = 3


class Web:
    def __init__(self, cluster: Cluster) -> None:
        self.c = cluster
        self.ns = cluster.namespace()
        cluster.deployment(self.ns, "web", REPLICAS)
        self.svc = cluster.service(self.ns, "web", {"app": "web"})
        self.ip = self.svc["spec"]["clusterIP"]
        wait_until(
            lambda: len(cluster.ready_pods(self.ns, "app=web")) == REPLICAS, 90, 0.2, what="3 ready web pods"
        )
        self.names = {p["metadata"]["name"] for p in cluster.ready_pods(self.ns, "app=web")}
        ips = {p["status"]["podIP"] for p in cluster.ready_pods(self.ns, "app=web")}
        wait_until(lambda: cluster.endpoint_ips(self.ns, "web") == ips, 30, 0.2, what="endpoints of web")
        self.client = cluster.client_pod(self.ns, cluster.b.name)

    def nodes(self) -> set[str]:
        return {p["spec"]["nodeName"] for p in self.c.ready_pods(self.ns, "app=web")}


@pytest.fixture(scope="module")
def web(cluster: Cluster) -> Web:
    return Web(cluster)


def _names(responses: list[str]) -> Counter[str]:
    return Counter(responses)


def test_cluster_ip_from_a_pod_on_the_other_node_spreads_over_all_pods(cluster: Cluster, web: Web) -> None:
    assert cluster.a.name in web.nodes(), "the scheduler should have put web pods on node a as well"
    wait_until(
        lambda: cluster.fetch_many(web.client, f"http://{web.ip}/", 1)[0] in web.names,
        20,
        0.2,
        what="the cluster IP answering",
    )
    got = _names(cluster.fetch_many(web.client, f"http://{web.ip}/", 60))
    assert "FAIL" not in got, got
    assert set(got) == web.names, got
    # The host itself reaches the cluster IP too (nat OUTPUT).
    assert host_get(f"http://{web.ip}/") in web.names


def test_node_port_from_the_host_on_localhost_and_a_node_address(cluster: Cluster, web: Web) -> None:
    svc = cluster.service(web.ns, "web-np", {"app": "web"}, type="NodePort")
    port = svc["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    wait_until(
        lambda: host_get(f"http://127.0.0.1:{port}/") in web.names, 20, 0.2, what="node port on 127.0.0.1"
    )
    seen = {host_get(f"http://127.0.0.1:{port}/") for _ in range(30)}
    assert seen <= web.names and len(seen) >= 2, seen
    node_addr = bridge_address(cluster.a)
    assert host_get(f"http://{node_addr}:{port}/") in web.names


def test_load_balancer_ip_from_the_host(cluster: Cluster, web: Web) -> None:
    svc = cluster.service(web.ns, "web-lb", {"app": "web"}, type="LoadBalancer")
    lb_ip = svc["status"]["loadBalancer"]["ingress"][0]["ip"]
    assert lb_ip.startswith("10.250.0."), lb_ip
    wait_until(lambda: host_get(f"http://{lb_ip}/") in web.names, 20, 0.2, what="load-balancer IP")
    assert _names(cluster.fetch_many(web.client, f"http://{lb_ip}/", 5)).keys() <= web.names


def test_session_affinity_client_ip_sticks_to_one_pod(cluster: Cluster, web: Web) -> None:
    svc = cluster.service(web.ns, "web-sticky", {"app": "web"}, sessionAffinity="ClientIP")
    url = f"http://{svc['spec']['clusterIP']}/"
    wait_until(
        lambda: cluster.fetch_many(web.client, url, 1)[0] in web.names,
        20,
        0.2,
        what="sticky service answering",
    )
    got = _names(cluster.fetch_many(web.client, url, 20))
    assert len(got) == 1 and set(got) <= web.names, got


def test_hairpin_a_pod_reaches_itself_through_its_service(cluster: Cluster, web: Web) -> None:
    spec = httpd_pod_spec({"app": "solo"})
    spec["metadata"]["name"] = "solo"
    spec["spec"]["nodeName"] = cluster.a.name
    cluster.create(f"/api/v1/namespaces/{web.ns}/pods", spec)
    svc = cluster.service(web.ns, "solo", {"app": "solo"})
    wait_until(lambda: cluster.ready_pods(web.ns, "app=solo"), 40, 0.2, what="solo ready")
    pod = cluster.ready_pods(web.ns, "app=solo")[0]
    url = f"http://{svc['spec']['clusterIP']}/"
    wait_until(
        lambda: cluster.fetch_many(pod, url, 1) == ["solo"],
        20,
        0.2,
        what="solo reaching itself via its service",
    )
    assert cluster.fetch_many(pod, url, 5) == ["solo"] * 5


def test_headless_service_gets_no_rules(cluster: Cluster, web: Web) -> None:
    headless = cluster.service(web.ns, "web-headless", {"app": "web"}, clusterIP="None")
    assert headless["spec"]["clusterIP"] == "None"
    wait_until(
        lambda: len(cluster.endpoint_ips(web.ns, "web-headless")) == REPLICAS,
        20,
        0.2,
        what="headless endpoints",
    )
    # A service created after it has rules: kube-proxy has synced since the headless one existed.
    cluster.service(web.ns, "after-headless", {"app": "web"})
    wait_until(lambda: service_lines(web.ns, "after-headless"), 20, 0.2, what="rules of the later service")
    assert service_lines(web.ns, "web-headless") == []


def test_deleting_a_service_removes_every_rule_it_made(cluster: Cluster, web: Web) -> None:
    cluster.service(web.ns, "doomed", {"app": "web"}, type="LoadBalancer")
    lines = wait_until(lambda: service_lines(web.ns, "doomed"), 20, 0.2, what="rules of doomed")
    chains = {
        tok
        for line in lines
        for tok in line.split()
        if tok.startswith(("KUBE-SVC-", "KUBE-SEP-", "KUBE-EXT-"))
    }
    assert any(c.startswith("KUBE-SEP-") for c in chains) and any(c.startswith("KUBE-EXT-") for c in chains)
    r = cluster.api.delete(f"/api/v1/namespaces/{web.ns}/services/doomed")
    assert r.status_code == 200, r.text

    def gone() -> bool:
        text = iptables_save()
        return not service_lines(web.ns, "doomed", text) and not any(c in text for c in chains)

    wait_until(gone, 20, 0.2, what="every rule and chain of doomed removed")
    assert service_lines(web.ns, "web")  # the others are untouched


def test_userspace_mode(cluster: Cluster, web: Web) -> None:
    cluster.proxy.stop()
    assert our_lines() == []  # SIGTERM removed every rule
    userspace = KubeProxyProc(cluster.proxy.apiserver, mode="userspace")
    try:
        userspace.start()
        assert our_lines() == []  # userspace mode writes no rules
        got = _names(cluster.fetch_many(web.client, f"http://{web.ip}/", 30))
        assert got == Counter({name: 30 // REPLICAS for name in web.names}), got  # round robin: an even split
        np = cluster.get(f"/api/v1/namespaces/{web.ns}/services/web-np")
        assert np is not None
        assert host_get(f"http://127.0.0.1:{np['spec']['ports'][0]['nodePort']}/") in web.names
        assert 'kubeproxy_sync_proxy_rules_iptables_total{table="listeners"}' in userspace.metrics()
    finally:
        userspace.stop()
        userspace.discard_log()
        cluster.proxy.start()


def test_kube_proxy_killed_and_restarted_restores_the_rules(cluster: Cluster, web: Web) -> None:
    wait_until(
        lambda: service_lines(web.ns, "web"),
        20,
        0.2,
        what="web rules (after the restart by the previous test)",
    )
    before = {line for line in our_lines() if line.startswith(("-A KUBE-SVC-", "-A KUBE-SEP-"))}
    cluster.proxy.kill()  # SIGKILL: nothing cleaned up
    assert service_lines(web.ns, "web"), "rules should survive a crash"
    subprocess.run(["iptables", "-w", "-t", "nat", "-F", "KUBE-SERVICES"], check=True)  # and then get lost
    late = cluster.service(web.ns, "while-down", {"app": "web"})
    cluster.proxy.start()
    wait_until(
        lambda: service_lines(web.ns, "web") and service_lines(web.ns, "while-down"),
        20,
        0.2,
        what="rules restored",
    )
    after = {line for line in our_lines() if line.startswith(("-A KUBE-SVC-", "-A KUBE-SEP-"))}
    assert before <= after
    assert host_get(f"http://{late['spec']['clusterIP']}/") in web.names
    assert host_get(f"http://{web.ip}/") in web.names


def test_scale_down_takes_pods_out_of_rotation_without_failed_requests(cluster: Cluster, web: Web) -> None:
    cid = web.client["status"]["containerStatuses"][0]["containerID"].removeprefix("docker://")
    loop = (
        "end=$(( $(date +%s) + 11 )); while [ $(date +%s) -lt $end ]; do "
        f"{get_script(f'http://{web.ip}/')}; done"
    )
    traffic = subprocess.Popen(["docker", "exec", cid, "sh", "-c", loop], stdout=subprocess.PIPE, text=True)
    try:
        cluster.scale(web.ns, "web", 1)
        wait_until(
            lambda: len(cluster.endpoint_ips(web.ns, "web")) == 1, 30, 0.2, what="endpoints down to one pod"
        )
        out, _ = traffic.communicate(timeout=60)
    finally:
        if traffic.poll() is None:
            traffic.kill()
    responses = out.split()
    assert len(responses) > 50, responses[:10]
    assert "FAIL" not in responses, Counter(responses)
    survivor = {p["metadata"]["name"] for p in cluster.ready_pods(web.ns, "app=web")}
    assert len(survivor) == 1
    assert set(responses[-20:]) == survivor, Counter(responses[-20:])
    assert set(responses) <= web.names
