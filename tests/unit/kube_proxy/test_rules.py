"""The rules builder: a pure function from the proxy table to iptables-restore input."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from kube_proxy import rules
from kube_proxy.servicemap import Endpoint, ServicePort

WEB = ServicePort("ns1", "web", "", "TCP", "10.96.0.20", 80)
EPS = [Endpoint("10.244.1.2", 8080), Endpoint("10.244.2.2", 8080), Endpoint("10.244.2.3", 8080)]
OPTS = rules.Options(cluster_cidr="10.244.0.0/16")


def nat_rules(r: rules.Rules, chain: str) -> list[str]:
    return [line for line in r.nat if line.startswith(f"-A {chain} ")]


def test_chain_names_hash_like_kube_proxy() -> None:
    # Names seen on every Kubernetes node (iptables-save of kube-proxy's rules for these well-known services).
    assert rules.svc_chain(ServicePort("default", "kubernetes", "https", "TCP", "10.96.0.1", 443)) == (
        "KUBE-SVC-NPX46M4PTMTKRN6Y"
    )
    assert rules.svc_chain(ServicePort("kube-system", "kube-dns", "dns", "UDP", "10.96.0.10", 53)) == (
        "KUBE-SVC-TCOU7JCQXEZGVUNU"
    )
    assert rules.svc_chain(ServicePort("kube-system", "kube-dns", "dns-tcp", "TCP", "10.96.0.10", 53)) == (
        "KUBE-SVC-ERIFXISQEP7F7OF4"
    )
    sep = rules.sep_chain(WEB, EPS[0])
    assert re.fullmatch(r"KUBE-SEP-[A-Z2-7]{16}", sep) and len(sep) <= 28
    assert rules.sep_chain(WEB, EPS[1]) != sep


def test_cluster_ip_spreads_with_decreasing_probabilities() -> None:
    r = rules.build([(WEB, EPS)], OPTS)
    svc = rules.svc_chain(WEB)
    assert (
        f'-A KUBE-SERVICES -m comment --comment "ns1/web cluster IP" -m tcp -p tcp -d 10.96.0.20/32 --dport 80 -j {svc}'
        in r.nat
    )
    jumps = [line for line in nat_rules(r, svc) if "KUBE-SEP-" in line]
    probabilities = [m.group(1) if (m := re.search(r"--probability (\S+)", j)) else None for j in jumps]
    assert probabilities == ["0.3333333333", "0.5000000000", None]
    assert [j.split()[-1] for j in jumps] == [rules.sep_chain(WEB, ep) for ep in EPS]
    # Off-cluster sources are masqueraded; pods are not.
    assert any(
        "! -s 10.244.0.0/16" in line and line.endswith("-j KUBE-MARK-MASQ") for line in nat_rules(r, svc)
    )


def test_endpoint_chain_masquerades_hairpin_then_dnats() -> None:
    r = rules.build([(WEB, EPS[:1])], OPTS)
    sep = rules.sep_chain(WEB, EPS[0])
    lines = nat_rules(r, sep)
    assert lines[0].endswith("-s 10.244.1.2/32 -j KUBE-MARK-MASQ")
    assert lines[1].endswith("-m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080")
    # A single endpoint needs no statistic match.
    assert "statistic" not in "".join(nat_rules(r, rules.svc_chain(WEB)))


def test_node_port_and_load_balancer_go_through_the_external_chain() -> None:
    sp = ServicePort(
        "ns1", "lb", "http", "TCP", "10.96.0.30", 80, node_port=30080, load_balancer_ips=("10.250.0.7",)
    )
    r = rules.build([(sp, EPS)], OPTS)
    ext, svc = rules.ext_chain(sp), rules.svc_chain(sp)
    assert any(
        line.endswith(f"-m tcp -p tcp --dport 30080 -j {ext}") for line in nat_rules(r, "KUBE-NODEPORTS")
    )
    assert any(f"-d 10.250.0.7/32 --dport 80 -j {ext}" in line for line in nat_rules(r, "KUBE-SERVICES"))
    assert nat_rules(r, ext) == [
        f'-A {ext} -m comment --comment "masquerade traffic for ns1/lb:http external destinations" -j KUBE-MARK-MASQ',
        f"-A {ext} -j {svc}",
    ]
    # KUBE-NODEPORTS is reached last, for every local address including 127.0.0.1.
    last = nat_rules(r, "KUBE-SERVICES")[-1]
    assert last.endswith("-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")
    no_localhost = rules.build([(sp, EPS)], rules.Options(localhost_nodeports=False))
    assert nat_rules(no_localhost, "KUBE-SERVICES")[-1].endswith("! -d 127.0.0.0/8 -j KUBE-NODEPORTS")
    assert not any("KUBE-FIREWALL" in line for line in no_localhost.filter if line.startswith("-A"))


def test_session_affinity_uses_recent() -> None:
    sp = ServicePort("ns1", "sticky", "", "TCP", "10.96.0.40", 80, affinity_seconds=600)
    r = rules.build([(sp, EPS[:2])], OPTS)
    svc = rules.svc_chain(sp)
    seps = [rules.sep_chain(sp, ep) for ep in EPS[:2]]
    lines = nat_rules(r, svc)
    checks = [line for line in lines if "--rcheck" in line]
    assert [c.split()[-1] for c in checks] == seps
    assert all("--seconds 600 --reap" in c for c in checks)
    # The affinity checks come before the random choice.
    assert lines.index(checks[-1]) < next(i for i, line in enumerate(lines) if "statistic" in line)
    for sep in seps:
        assert any(f"-m recent --name {sep} --set" in line and "DNAT" in line for line in nat_rules(r, sep))


def test_service_without_endpoints_is_rejected_in_filter_and_has_no_nat_chains() -> None:
    sp = ServicePort(
        "ns1", "empty", "", "TCP", "10.96.0.50", 80, node_port=30090, load_balancer_ips=("10.250.0.9",)
    )
    r = rules.build([(sp, [])], OPTS)
    rejects = [line for line in r.filter if line.endswith("-j REJECT")]
    assert len(rejects) == 3
    assert any("-d 10.96.0.50/32 --dport 80" in x and x.startswith("-A KUBE-SERVICES ") for x in rejects)
    assert any("--dst-type LOCAL" in x and "--dport 30090" in x for x in rejects)
    assert r.nat_chains == set()
    assert not any("ns1/empty" in line for line in r.nat)


def test_stale_service_chains_are_deleted_and_others_left_alone() -> None:
    old = {"KUBE-SVC-AAAAAAAAAAAAAAAA", "KUBE-SEP-BBBBBBBBBBBBBBBB", "DOCKER", "KUBELITE-POSTROUTING"}
    r = rules.build([(WEB, EPS)], OPTS, old | {rules.svc_chain(WEB)})
    assert r.deleted_chains == {"KUBE-SVC-AAAAAAAAAAAAAAAA", "KUBE-SEP-BBBBBBBBBBBBBBBB"}
    assert r.nat[-3:] == ["-X KUBE-SEP-BBBBBBBBBBBBBBBB", "-X KUBE-SVC-AAAAAAAAAAAAAAAA", "COMMIT"]
    assert ":KUBE-SEP-BBBBBBBBBBBBBBBB - [0:0]" in r.nat  # declared (flushed) before it is deleted
    assert not any("DOCKER" in line or "KUBELITE" in line for line in r.nat)


def test_only_our_chains_are_declared() -> None:
    r = rules.build([(WEB, EPS)], OPTS)
    declared = [line.split()[0][1:] for line in r.filter + r.nat if line.startswith(":")]
    assert all(name.startswith("KUBE-") for name in declared)
    assert r.rule_count["nat"] == sum(1 for line in r.nat if line.startswith("-A "))
    text = r.text()
    assert text.startswith("*filter\n") and text.count("COMMIT\n") == 2


def test_empty_table_still_writes_the_fixed_chains() -> None:
    r = rules.build([], OPTS)
    assert nat_rules(r, "KUBE-MARK-MASQ") == ["-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000"]
    assert len(nat_rules(r, "KUBE-POSTROUTING")) == 3
    assert len(nat_rules(r, "KUBE-SERVICES")) == 1


@pytest.mark.skipif(not shutil.which("iptables-restore"), reason="iptables-restore not installed")
def test_output_is_accepted_by_iptables_restore() -> None:
    sp = ServicePort(
        "ns1",
        "lb",
        "http",
        "TCP",
        "10.96.0.30",
        80,
        node_port=30080,
        load_balancer_ips=("10.250.0.7",),
        affinity_seconds=60,
    )
    r = rules.build(
        [(WEB, EPS), (sp, EPS[:2]), (ServicePort("ns1", "e", "", "UDP", "10.96.0.9", 53), [])],
        OPTS,
        {"KUBE-SEP-CCCCCCCCCCCCCCCC"},
    )
    proc = subprocess.run(
        ["iptables-restore", "--test", "--noflush"], input=r.text(), capture_output=True, text=True
    )
    if proc.returncode != 0 and "Permission denied" in proc.stderr:
        pytest.skip("iptables-restore --test needs root")
    assert proc.returncode == 0, proc.stderr


def test_cleanup_text_declares_then_deletes() -> None:
    text = rules.cleanup_text({"KUBE-SERVICES", "KUBE-SVC-X"}, {"KUBE-FORWARD"})
    assert text.splitlines() == [
        "*filter",
        ":KUBE-FORWARD - [0:0]",
        "-X KUBE-FORWARD",
        "COMMIT",
        "*nat",
        ":KUBE-SERVICES - [0:0]",
        ":KUBE-SVC-X - [0:0]",
        "-X KUBE-SERVICES",
        "-X KUBE-SVC-X",
        "COMMIT",
    ]


def test_a_table_with_unsafe_values_writes_no_rule_for_them() -> None:
    """The last check, where the restore input is written: a table not built by servicemap still cannot inject."""
    good = ServicePort("ns", "web", "", "TCP", "10.96.0.10", 80)
    evil = ServicePort(
        "ns", "evil", "", "TCP", "10.96.0.11", 80, external_ips=("1.2.3.4\n-A KUBE-SERVICES -j ACCEPT",)
    )
    assert rules.safe_to_write(good, [Endpoint("10.244.0.2", 8080)])
    assert not rules.safe_to_write(evil, [])
    assert not rules.safe_to_write(good, [Endpoint("10.244.0.2\nx", 8080)])
    text = rules.build(
        [(evil, [Endpoint("10.244.0.3", 80)]), (good, [Endpoint("10.244.0.2", 8080)])], OPTS
    ).text()
    assert "evil" not in text and "ns/web" in text
    assert all(line.isprintable() for line in text.splitlines())
