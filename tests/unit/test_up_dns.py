"""`kctl up`'s component list: kube-dns on the pod bridge's address, and what the kubelet tells pods to ask."""

from __future__ import annotations

from pathlib import Path

from cli.up import DEFAULT_PORTS, Preflight, components


def _argv(comps: list[dict], name: str) -> list[str]:
    return next(c["argv"] for c in comps if c["name"] == name)


def _flag(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_kube_dns_runs_on_the_bridge_address_and_pods_ask_the_service():
    comps = components(Path("/tmp/state"), DEFAULT_PORTS, "vm", "10.244.3.0/24", Preflight(), None)
    names = [c["name"] for c in comps]
    assert names.index("kube-dns") < names.index("kubelet")  # DNS is up before the first pod starts
    dns = _argv(comps, "kube-dns")
    assert _flag(dns, "--bind-address") == "10.244.3.1"
    assert _flag(dns, "--metrics-port") == "9153"
    kubelet = _argv(comps, "kubelet")
    assert _flag(kubelet, "--cluster-dns") == "10.96.0.10"
    assert _flag(kubelet, "--cluster-domain") == "cluster.local"


def test_in_userspace_mode_pods_ask_the_dns_server_directly():
    # Userspace kube-proxy proxies TCP only; resolvers ask over UDP.
    comps = components(Path("/tmp/state"), DEFAULT_PORTS, "vm", "10.244.3.0/24", Preflight("userspace"), None)
    assert _flag(_argv(comps, "kubelet"), "--cluster-dns") == "10.244.3.1"
