"""Service traffic between two user-defined Docker networks (plain containers standing in for pods).

Docker's FORWARD rules send traffic that crosses from one of its bridges to another into DOCKER-ISOLATION-*,
which drops it. A connection to a service address that kube-proxy DNATs to a container on another Docker network
is exactly that, so kube-proxy accepts DNAT'd connections in DOCKER-USER (Docker runs that chain first and
leaves it alone). The test shows the request working, still working when kube-proxy's own FORWARD jump is gone
(as when Docker re-inserts its jumps above it), and failing once the DOCKER-USER rule is gone as well.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest

from kube_proxy import rules
from tests.e2e.proxy.helpers import get_script
from tests.harness import ApiServer, docker_ok
from tests.images import BUSYBOX_IMAGE, ensure_images
from tests.integration.proxy.helpers import KubeProxyProc, need_iptables, service_lines
from tests.polling import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.timeout(180)]


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def networks() -> Iterator[tuple[str, str]]:
    if not docker_ok():
        pytest.skip("Docker engine not available")
    ensure_images()
    tag = uuid.uuid4().hex[:6]
    nets = (f"kubelite-px-a-{tag}", f"kubelite-px-b-{tag}")
    containers = (f"kubelite-px-cli-{tag}", f"kubelite-px-srv-{tag}")
    try:
        for net in nets:
            docker("network", "create", net)
        docker("run", "-d", "--name", containers[0], "--network", nets[0], BUSYBOX_IMAGE, "sleep", "3600")
        docker("run", "-d", "--name", containers[1], "--network", nets[1], BUSYBOX_IMAGE, "sh", "-c",
               "mkdir -p /www && echo srv > /www/index.html && exec httpd -f -p 8080 -h /www")  # fmt: skip
        yield containers
    finally:
        subprocess.run(["docker", "rm", "-f", *containers], capture_output=True)
        for net in nets:
            subprocess.run(["docker", "network", "rm", net], capture_output=True)


def test_service_between_docker_networks_needs_the_docker_user_rule(
    apiserver: ApiServer, networks: tuple[str, str]
) -> None:
    need_iptables()
    cli, srv = networks
    srv_ip = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", srv)
    # No repair during the test; the Endpoints written below are what it reads.
    proxy = KubeProxyProc(apiserver, extra=["--sync-period", "600", "--endpoints-source", "endpoints"])
    ns = f"dn-{uuid.uuid4().hex[:6]}"
    try:
        proxy.start()
        with apiserver.client(timeout=10) as api:
            assert api.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code == 201
            svc = api.post(
                f"/api/v1/namespaces/{ns}/services",
                json={"metadata": {"name": "srv"}, "spec": {"ports": [{"port": 80, "targetPort": 8080}]}},
            )
            assert svc.status_code == 201, svc.text
            ep = {
                "metadata": {"name": "srv"},
                "subsets": [{"addresses": [{"ip": srv_ip}], "ports": [{"port": 8080}]}],
            }
            assert api.post(f"/api/v1/namespaces/{ns}/endpoints", json=ep).status_code == 201
        ip = svc.json()["spec"]["clusterIP"]
        wait_until(lambda: any("DNAT" in x for x in service_lines(ns, "srv")), 15, what="rules for srv")

        def fetch() -> str:
            return docker("exec", cli, "sh", "-c", get_script(f"http://{ip}/"))

        wait_until(lambda: fetch() == "srv", 30, what="srv through the service")
        forward = rules.Jump("filter", "FORWARD", "KUBE-FORWARD", (), "kubernetes forwarding rules")
        subprocess.run(["iptables", "-w", "-D", "FORWARD", *forward.args()], check=True)
        assert fetch() == "srv"  # DOCKER-USER alone lets it through
        subprocess.run(["iptables", "-w", "-D", "DOCKER-USER", *rules.DOCKER_USER_JUMP.args()], check=True)
        assert fetch() == "FAIL"  # and without it Docker's isolation drops the DNAT'd connection
    finally:
        proxy.cleanup()
