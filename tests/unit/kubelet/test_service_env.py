"""Service environment variables: the `kubernetes` Service's and the service links of a pod's namespace."""

from __future__ import annotations

from typing import Any

from kubelet.service_env import service_env


def svc(name: str, ip: str, *ports: tuple[str, int, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "clusterIP": ip,
            "ports": [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports],
        },
    }


def test_a_service_link_names_its_variables_after_the_service() -> None:
    env = service_env(svc("d1-demo", "10.96.0.20", ("http", 80, "TCP"), ("dns", 53, "UDP")))
    assert env == {
        "D1_DEMO_SERVICE_HOST": "10.96.0.20",
        "D1_DEMO_SERVICE_PORT": "80",
        "D1_DEMO_SERVICE_PORT_HTTP": "80",
        "D1_DEMO_SERVICE_PORT_DNS": "53",
        "D1_DEMO_PORT": "tcp://10.96.0.20:80",
        "D1_DEMO_PORT_80_TCP": "tcp://10.96.0.20:80",
        "D1_DEMO_PORT_80_TCP_PROTO": "tcp",
        "D1_DEMO_PORT_80_TCP_PORT": "80",
        "D1_DEMO_PORT_80_TCP_ADDR": "10.96.0.20",
        "D1_DEMO_PORT_53_UDP": "udp://10.96.0.20:53",
        "D1_DEMO_PORT_53_UDP_PROTO": "udp",
        "D1_DEMO_PORT_53_UDP_PORT": "53",
        "D1_DEMO_PORT_53_UDP_ADDR": "10.96.0.20",
    }


def test_the_kubernetes_service_keeps_its_names() -> None:
    env = service_env(svc("kubernetes", "10.96.0.1", ("https", 443, "TCP")))
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"


def test_headless_and_portless_services_have_no_variables() -> None:
    assert service_env(svc("db", "None", ("pg", 5432, "TCP"))) == {}
    assert service_env(svc("db", "10.96.0.9")) == {}
