"""The cluster zone's answers, from informer stores filled with the objects the apiserver would send."""

from __future__ import annotations

from typing import Any

import dns.name
import dns.rcode
import dns.rdatatype as rt
import pytest

from apimachinery.informer import Store, key_of
from kube_dns import names
from kube_dns.records import Zone, add_indexers
from tests.factories import Obj


def svc(
    name: str, ns: str = "shop", ip: str | None = "10.96.5.5", ports: list[Obj] | None = None, **spec: Any
) -> Obj:
    body: Obj = {
        "ports": ports if ports is not None else [{"name": "http", "port": 80, "protocol": "TCP"}],
        **spec,
    }
    if ip is not None:
        body["clusterIP"] = ip
        body["clusterIPs"] = [ip] if ip != "None" else ["None"]
    return {"metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}"}, "spec": body}


def eps(
    service: str, ns: str = "shop", endpoints: list[Obj] | None = None, ports: list[Obj] | None = None
) -> Obj:
    return {
        "metadata": {
            "name": f"{service}-abc",
            "namespace": ns,
            "labels": {"kubernetes.io/service-name": service},
        },
        "addressType": "IPv4",
        "endpoints": endpoints or [],
        "ports": ports if ports is not None else [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }


def ep(ip: str, ready: bool = True, hostname: str | None = None) -> Obj:
    out: Obj = {"addresses": [ip], "conditions": {"ready": ready}}
    if hostname:
        out["hostname"] = hostname
    return out


def pod(name: str, ip: str, ns: str = "shop") -> Obj:
    return {"metadata": {"name": name, "namespace": ns}, "status": {"podIP": ip, "podIPs": [{"ip": ip}]}}


def make_zone(services: list[Obj] = (), slices: list[Obj] = (), pods: list[Obj] = ()) -> Zone:  # type: ignore[assignment]
    stores = Store(), Store(), Store()
    add_indexers(*stores)
    for store, objs in zip(stores, (services, slices, pods), strict=True):
        for obj in objs:
            store._put(key_of(obj), obj)
    return Zone(*stores, dns_ip="10.96.0.10", cluster_ranges=["10.96.0.0/12", "10.244.0.0/16"])


def ask(zone: Zone, name: str, qtype: int = rt.A) -> tuple[str, list[str], list[str], list[str]]:
    answer = zone.lookup(dns.name.from_text(name), qtype)
    assert answer is not None, f"{name} was not answered locally"
    text = [str(rd) for rrset in answer.answer for rd in rrset]
    return (
        dns.rcode.to_text(answer.rcode),
        sorted(text),
        [rrset.to_text() for rrset in answer.authority],
        sorted(str(rd) for rrset in answer.additional for rd in rrset),
    )


def test_cluster_ip_service_a_record_with_ttl_5():
    zone = make_zone([svc("api")])
    answer = zone.lookup(dns.name.from_text("api.shop.svc.cluster.local."), rt.A)
    assert answer is not None and answer.answer[0].ttl == 5
    assert ask(zone, "api.shop.svc.cluster.local.")[:2] == ("NOERROR", ["10.96.5.5"])
    assert ask(zone, "API.Shop.SVC.cluster.local.")[:2] == ("NOERROR", ["10.96.5.5"])  # case does not matter


def test_aaaa_of_an_ipv4_service_is_nodata_with_the_soa():
    rcode, answer, authority, _ = ask(make_zone([svc("api")]), "api.shop.svc.cluster.local.", rt.AAAA)
    assert (rcode, answer) == ("NOERROR", [])
    assert authority and "SOA ns.dns.cluster.local. hostmaster.cluster.local." in authority[0]
    assert authority[0].split()[1] == "5" and authority[0].endswith("7200 1800 86400 5")


def test_unknown_names_are_nxdomain_with_soa():
    zone = make_zone([svc("api")])
    for name in ("nope.shop.svc.cluster.local.", "api.shop.svc.cluster.local.shop.svc.cluster.local.",
                 "x.y.cluster.local.", "api.other.svc.cluster.local."):  # fmt: skip
        rcode, answer, authority, _ = ask(zone, name)
        assert (rcode, answer) == ("NXDOMAIN", []), name
        assert "SOA" in authority[0]


def test_headless_service_answers_ready_endpoints_only():
    zone = make_zone(
        [svc("db", ip="None")],
        [eps("db", endpoints=[ep("10.244.1.5"), ep("10.244.0.7"), ep("10.244.0.9", ready=False)])],
    )
    assert ask(zone, "db.shop.svc.cluster.local.")[:2] == ("NOERROR", ["10.244.0.7", "10.244.1.5"])


def test_headless_with_publish_not_ready_addresses_answers_every_endpoint():
    zone = make_zone(
        [svc("db", ip="None", publishNotReadyAddresses=True)],
        [eps("db", endpoints=[ep("10.244.0.7"), ep("10.244.0.9", ready=False)])],
    )
    assert ask(zone, "db.shop.svc.cluster.local.")[1] == ["10.244.0.7", "10.244.0.9"]


def test_headless_without_endpoints_is_nodata():
    assert ask(make_zone([svc("db", ip="None")]), "db.shop.svc.cluster.local.")[:2] == ("NOERROR", [])


def test_statefulset_hostnames_and_dashed_endpoint_names():
    zone = make_zone(
        [svc("db", ip="None")],
        [eps("db", endpoints=[ep("10.244.0.7", hostname="db-0"), ep("10.244.1.5")])],
    )
    assert ask(zone, "db-0.db.shop.svc.cluster.local.")[1] == ["10.244.0.7"]
    assert ask(zone, "10-244-1-5.db.shop.svc.cluster.local.")[1] == ["10.244.1.5"]
    assert ask(zone, "db-1.db.shop.svc.cluster.local.")[0] == "NXDOMAIN"


def test_srv_of_a_named_port_of_a_cluster_ip_service():
    zone = make_zone([svc("api", ports=[{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 81}])])
    rcode, answer, _, extra = ask(zone, "_http._tcp.api.shop.svc.cluster.local.", rt.SRV)
    assert (rcode, answer) == ("NOERROR", ["0 100 80 api.shop.svc.cluster.local."])
    assert extra == ["10.96.5.5"]
    assert ask(zone, "_http._udp.api.shop.svc.cluster.local.", rt.SRV)[0] == "NXDOMAIN"
    assert ask(zone, "_grpc._tcp.api.shop.svc.cluster.local.", rt.SRV)[0] == "NXDOMAIN"
    assert ask(zone, "_http._tcp.api.shop.svc.cluster.local.", rt.A)[:2] == ("NOERROR", [])
    assert ask(zone, "_tcp.api.shop.svc.cluster.local.", rt.SRV)[:2] == ("NOERROR", [])


def test_srv_of_a_headless_service_names_each_endpoint():
    zone = make_zone(
        [svc("db", ip="None", ports=[{"name": "pg", "port": 5432, "protocol": "TCP"}])],
        [eps("db", endpoints=[ep("10.244.0.7", hostname="db-0"), ep("10.244.1.5", hostname="db-1")],
             ports=[{"name": "pg", "port": 5432, "protocol": "TCP"}])],
    )  # fmt: skip
    _rcode, answer, _, extra = ask(zone, "_pg._tcp.db.shop.svc.cluster.local.", rt.SRV)
    assert answer == [
        "0 50 5432 db-0.db.shop.svc.cluster.local.",
        "0 50 5432 db-1.db.shop.svc.cluster.local.",
    ]
    assert extra == ["10.244.0.7", "10.244.1.5"]


def test_external_name_is_a_cname():
    zone = make_zone([svc("ext", ip=None, type="ExternalName", externalName="db.example.org")])
    assert ask(zone, "ext.shop.svc.cluster.local.")[:2] == ("NOERROR", ["db.example.org."])
    assert ask(zone, "ext.shop.svc.cluster.local.", rt.CNAME)[1] == ["db.example.org."]


def test_external_name_inside_the_zone_is_followed():
    zone = make_zone(
        [svc("ext", ip=None, type="ExternalName", externalName="api.shop.svc.cluster.local"), svc("api")]
    )
    assert ask(zone, "ext.shop.svc.cluster.local.")[1] == ["10.96.5.5", "api.shop.svc.cluster.local."]


def test_pod_records_are_verified_against_pods_of_the_namespace():
    zone = make_zone(pods=[pod("web", "10.244.0.5")])
    assert ask(zone, "10-244-0-5.shop.pod.cluster.local.")[1] == ["10.244.0.5"]
    assert ask(zone, "10-244-0-5.other.pod.cluster.local.")[0] == "NXDOMAIN"
    assert ask(zone, "10-244-0-6.shop.pod.cluster.local.")[0] == "NXDOMAIN"
    assert ask(zone, "not-an-ip.shop.pod.cluster.local.")[0] == "NXDOMAIN"


def test_ptr_for_services_endpoints_and_pods():
    zone = make_zone(
        [svc("api"), svc("db", ip="None")],
        [eps("db", endpoints=[ep("10.244.0.7", hostname="db-0")])],
        [pod("web", "10.244.0.5"), pod("db-0", "10.244.0.7")],
    )
    assert ask(zone, "5.5.96.10.in-addr.arpa.", rt.PTR)[1] == ["api.shop.svc.cluster.local."]
    assert ask(zone, "7.0.244.10.in-addr.arpa.", rt.PTR)[1] == ["db-0.db.shop.svc.cluster.local."]
    assert ask(zone, "5.0.244.10.in-addr.arpa.", rt.PTR)[1] == ["10-244-0-5.shop.pod.cluster.local."]
    assert ask(zone, "9.9.96.10.in-addr.arpa.", rt.PTR)[0] == "NXDOMAIN"  # in the service range, unknown


def test_names_outside_are_not_answered_locally():
    zone = make_zone([svc("api")])
    for name, qtype in (("example.org.", rt.A), ("api.shop.svc.other.", rt.A), ("1.0.0.192.in-addr.arpa.", rt.PTR),
                        ("0.192.in-addr.arpa.", rt.PTR)):  # fmt: skip
        assert zone.lookup(dns.name.from_text(name), qtype) is None, name


def test_apex_interior_and_version_names():
    zone = make_zone([svc("api")])
    assert ask(zone, "cluster.local.", rt.SOA)[1][0].startswith(
        "ns.dns.cluster.local. hostmaster.cluster.local."
    )
    assert ask(zone, "cluster.local.", rt.NS)[1] == ["ns.dns.cluster.local."]
    assert ask(zone, "ns.dns.cluster.local.")[1] == ["10.96.0.10"]
    assert ask(zone, "dns-version.cluster.local.", rt.TXT)[1] == ['"1.1.0"']
    for name in ("svc.cluster.local.", "shop.svc.cluster.local.", "pod.cluster.local.", "cluster.local."):
        assert ask(zone, name)[:2] == ("NOERROR", []), name
    assert ask(zone, "empty.svc.cluster.local.")[0] == "NXDOMAIN"


@pytest.mark.parametrize(
    ("label", "ip"),
    [
        ("10-244-0-5", "10.244.0.5"),
        ("fd00--5", "fd00::5"),
        ("10-244-0", None),
        ("300-1-1-1", None),
        ("x", None),
    ],
)
def test_dashed_ip(label, ip):
    assert names.dashed_ip(label) == ip
