"""What `kctl up` decides from the machine's facts (cli/machine.py) and how it reads them (apimachinery/hostcheck)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from apimachinery import hostcheck
from cli.machine import Facts, assess

ALL_GOOD = Facts(
    iptables=True, cni_plugins=True, route_localnet=True, ip_forward=True, memory_limits=True, cpu_limits=True
)


def _with(**changes: object) -> Facts:
    return dataclasses.replace(ALL_GOOD, **changes)  # type: ignore[arg-type]


def test_a_capable_machine_runs_everything_and_says_nothing() -> None:
    plan = assess(ALL_GOOD)
    assert (plan.proxy_mode, plan.network, plan.degradations) == ("iptables", "cni", [])


def test_read_only_proc_sys_keeps_iptables_and_serves_localhost_node_ports_in_userspace() -> None:
    plan = assess(_with(route_localnet=False))
    assert (plan.proxy_mode, plan.network) == ("iptables", "cni")
    (d,) = plan.degradations
    assert d.what.startswith("/proc/sys is read-only here")
    assert "NodePorts on 127.0.0.1 are served by kube-proxy's userspace proxy" in d.still_works
    assert "--sysctl net.ipv4.conf.all.route_localnet=1" in d.for_the_rest
    text = d.text().splitlines()
    assert text[1].startswith("  still works: ") and text[2].startswith("  for the rest: ")


def test_no_iptables_means_userspace_mode_and_route_localnet_does_not_matter() -> None:
    plan = assess(_with(iptables=False, route_localnet=False))
    assert plan.proxy_mode == "userspace"
    (d,) = plan.degradations  # the userspace proxy listens on 127.0.0.1 itself: no second note
    assert d.what.startswith("iptables cannot be used here") and "apt-get install iptables" in d.for_the_rest


def test_no_cni_plugins_or_no_forwarding_means_the_docker_bridge() -> None:
    plan = assess(_with(cni_plugins=False))
    assert plan.network == "docker-bridge"
    assert "containernetworking-plugins" in plan.degradations[0].for_the_rest
    plan = assess(_with(ip_forward=False))
    assert plan.network == "docker-bridge"
    assert "net.ipv4.ip_forward is 0" in plan.degradations[0].what


def test_limits_docker_cannot_enforce_are_named() -> None:
    (d,) = assess(_with(memory_limits=False, cgroup_version="2")).degradations
    assert d.what == "Docker cannot enforce memory limits here (cgroup v2 without the memory controller)"
    (d,) = assess(_with(memory_limits=False, cpu_limits=False)).degradations
    assert "memory or CPU limits" in d.what and "memory and CPU limits are not enforced" in d.still_works


def test_every_shortfall_at_once_is_said_once_each() -> None:
    plan = assess(Facts(False, False, False, False, False, False))
    assert len(plan.degradations) == len({d.what for d in plan.degradations}) == 3


def test_sysctl_paths_are_checked_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert hostcheck.sysctl_path("net.ipv4.conf.cni-a.route_localnet") == Path(
        "/proc/sys/net/ipv4/conf/cni-a/route_localnet"
    )
    for bad in ("net/../../etc/passwd", "net.ipv4.ip_forward\n", "net..x", "x"):
        with pytest.raises(ValueError):
            hostcheck.sysctl_path(bad)
    # set_sysctl on a tree of our own: unchanged when equal, written when not, False when it cannot write
    monkeypatch.setattr(hostcheck, "PROC_SYS", tmp_path)
    knob = tmp_path / "net" / "ipv4" / "ip_forward"
    knob.parent.mkdir(parents=True)
    knob.write_text("0\n")
    assert hostcheck.set_sysctl("net.ipv4.ip_forward", "1") and knob.read_text() == "1"
    assert hostcheck.set_sysctl("net.ipv4.ip_forward", "1")
    assert not hostcheck.set_sysctl("net.ipv4.absent.x", "1")  # no such key: cannot be set
