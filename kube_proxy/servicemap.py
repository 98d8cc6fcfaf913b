"""What kube-proxy proxies: Services with their EndpointSlices (or Endpoints) reduced to service ports and the
endpoints that get their traffic.

Pure functions, no I/O. A Service contributes one `ServicePort` per entry of `spec.ports`. Its endpoints come from
either source, as the kube-proxy was told:

* EndpointSlices (the default, as upstream): the slices labelled `kubernetes.io/service-name: <service>` of an IP
  address type; for the slice port of the same name and protocol, the first address of every endpoint whose
  `ready` condition is not false; when a port has no ready endpoint at all, the serving endpoints that are
  terminating (kube-proxy's fallback, so connections drain during a rollout).
* Endpoints: the ready addresses of the port with the same name and protocol in the object of the same name.

Services that proxy nothing are skipped, as kube-proxy skips them: headless (`clusterIP: None`), ExternalName, no
cluster IP yet, and those labelled `service.kubernetes.io/service-proxy-name` (another proxy owns them).

Every value that ends up in an iptables rule, an `ip` command or a listening socket is checked here a second time
(the API server checked it first) with the same functions from `apimachinery.validation`: names, IPv4 addresses,
port numbers. A bad value is skipped and reported as a `Rejection` (kube-proxy logs it and records an Event); the
rest of that object, and every other object, is still proxied, so one bad object cannot break the rules for all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from apimachinery.validation import host_ipv4, is_dns1035_label, is_dns1123_label, is_port, unicast_ipv4

Obj = dict[str, Any]

PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"
MAX_AFFINITY_SECONDS = 86400
DEFAULT_AFFINITY_SECONDS = 10800  # Kubernetes' default sessionAffinityConfig.clientIP.timeoutSeconds
PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service, with everything the data plane needs to capture its traffic."""

    namespace: str
    name: str
    port_name: str
    protocol: str
    cluster_ip: str
    port: int
    node_port: int = 0
    load_balancer_ips: tuple[str, ...] = ()
    external_ips: tuple[str, ...] = ()
    affinity_seconds: int = 0  # > 0: sessionAffinity ClientIP with this timeout

    @property
    def name_string(self) -> str:
        """ "ns/name:port" (":port" only for a named port), the string kube-proxy hashes and prints."""
        base = f"{self.namespace}/{self.name}"
        return f"{base}:{self.port_name}" if self.port_name else base

    @property
    def service_key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str
    port: int
    node_name: str = field(default="", compare=False)  # informational: two entries of one ip:port are one

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class Rejection:
    """A value of a Service or Endpoints object that kube-proxy refused to turn into a rule: the rest of the object
    (and every other object) is still programmed. The API refuses all of these; they can only come from storage
    written past it (or from an older server)."""

    obj: Obj = field(compare=False, hash=False)
    field: str
    value: str
    why: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        md = self.obj.get("metadata") or {}
        return (str(md.get("uid")), str(md.get("resourceVersion")), self.field, self.value)

    def message(self) -> str:
        return f"kube-proxy skipped {self.field} {self.value}: {self.why}"


Rejected = list[Rejection]


def _reject(rejected: Rejected | None, obj: Obj, path: str, value: Any, why: str) -> None:
    if rejected is not None:
        rejected.append(Rejection(obj, path, repr(value)[:100], why))


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def should_skip(svc: Obj) -> bool:
    spec = _dict(svc.get("spec"))
    labels = _dict(_dict(svc.get("metadata")).get("labels"))
    if PROXY_NAME_LABEL in labels:
        return True
    if spec.get("type") == "ExternalName":
        return True
    return spec.get("clusterIP") in (None, "", "None")


def _identity(obj: Obj, rejected: Rejected | None, name_check: Any) -> tuple[str, str] | None:
    """(namespace, name), when both are valid names; they end up in rule comments and chain hashes."""
    meta = _dict(obj.get("metadata"))
    namespace, name = meta.get("namespace") or "default", meta.get("name")
    if not isinstance(namespace, str) or is_dns1123_label(namespace):
        _reject(rejected, obj, "metadata.namespace", namespace, "not a valid namespace name")
        return None
    if not isinstance(name, str) or name_check(name):
        _reject(rejected, obj, "metadata.name", name, "not a valid name")
        return None
    return namespace, name


def _addresses(obj: Obj, path: str, values: list[Any], rejected: Rejected | None) -> tuple[str, ...]:
    """The IPv4 addresses among `values` (canonical form); each other entry is rejected on its own."""
    out = []
    for i, value in enumerate(values):
        ip = host_ipv4(value)
        if ip is None:
            _reject(rejected, obj, f"{path}[{i}]", value, "not an IPv4 address")
        else:
            out.append(ip)
    return tuple(out)


def service_ports(svc: Obj, rejected: Rejected | None = None) -> list[ServicePort]:
    """The proxied ports of `svc` (empty when it is skipped). Every value that reaches a rule is checked again
    here, with the API's own functions; what fails is left out and reported in `rejected`."""
    if should_skip(svc):
        return []
    identity = _identity(svc, rejected, is_dns1035_label)
    if identity is None:
        return []
    namespace, name = identity
    spec = _dict(svc.get("spec"))
    cluster_ip = host_ipv4(spec.get("clusterIP"))
    if cluster_ip is None:
        _reject(rejected, svc, "spec.clusterIP", spec.get("clusterIP"), "not an IPv4 address")
        return []
    ingress = _list(_dict(_dict(svc.get("status")).get("loadBalancer")).get("ingress"))
    lb_ips: tuple[str, ...] = ()
    if spec.get("type") == "LoadBalancer":
        values = [_dict(ing).get("ip") for ing in ingress]
        lb_ips = _addresses(svc, "status.loadBalancer.ingress[].ip", [v for v in values if v], rejected)
    external_ips = _addresses(svc, "spec.externalIPs", _list(spec.get("externalIPs")), rejected)
    affinity = 0
    if spec.get("sessionAffinity") == "ClientIP":
        cfg = _dict(_dict(spec.get("sessionAffinityConfig")).get("clientIP")).get("timeoutSeconds")
        in_range = isinstance(cfg, int) and not isinstance(cfg, bool) and 0 < cfg <= MAX_AFFINITY_SECONDS
        affinity = cfg if in_range and isinstance(cfg, int) else DEFAULT_AFFINITY_SECONDS
    external = spec.get("type") in ("NodePort", "LoadBalancer")
    out = []
    for i, p in enumerate(_list(spec.get("ports"))):
        p = _dict(p)
        protocol = str(p.get("protocol") or "TCP").upper()
        port_name = p.get("name") or ""
        if protocol not in PROTOCOLS or not p.get("port"):
            continue
        if not isinstance(port_name, str) or (port_name and is_dns1123_label(port_name)):
            _reject(rejected, svc, f"spec.ports[{i}].name", port_name, "not a valid port name")
            continue
        if not is_port(p.get("port")):
            _reject(rejected, svc, f"spec.ports[{i}].port", p.get("port"), "not a port number")
            continue
        node_port = p.get("nodePort") or 0
        if external and node_port and not is_port(node_port):
            _reject(rejected, svc, f"spec.ports[{i}].nodePort", node_port, "not a port number")
            node_port = 0
        out.append(
            ServicePort(
                namespace=namespace,
                name=name,
                port_name=port_name,
                protocol=protocol,
                cluster_ip=cluster_ip,
                port=p["port"],
                node_port=node_port if external else 0,
                load_balancer_ips=lb_ips,
                external_ips=external_ips,
                affinity_seconds=affinity,
            )
        )
    return out


def _ports_of(
    ports: Any,
    port_name: str,
    protocol: str,
    rejected: Rejected | None,
    obj: Obj,
    path: str,
    *,
    unset_ok: bool,
) -> Iterator[Obj]:
    """The entries of `ports` (at `path` in `obj`) for the service port `port_name`/`protocol` whose port number
    is valid; the others are reported in `rejected` (one without a port is skipped silently when `unset_ok`)."""
    for j, port in enumerate(_list(ports)):
        port = _dict(port)
        if str(port.get("name") or "") != port_name or str(port.get("protocol") or "TCP").upper() != protocol:
            continue
        if unset_ok and port.get("port") is None:
            continue
        if not is_port(port.get("port")):
            _reject(rejected, obj, f"{path}[{j}].port", port.get("port"), "not a port number")
            continue
        yield port


def _address(value: Any, rejected: Rejected | None, obj: Obj, path: str) -> str | None:
    """`value` as a unicast IPv4 address; None (reported in `rejected`) when it is not one."""
    ip = unicast_ipv4(value)
    if ip is None:
        _reject(rejected, obj, path, value, "not a unicast IPv4 address")
    return ip


def ready_endpoints(
    endpoints: Obj | None, port_name: str, protocol: str, rejected: Rejected | None = None
) -> list[Endpoint]:
    """The ready addresses of `endpoints` for the port named `port_name` ("" for the unnamed port), sorted and
    without duplicates. Not-ready addresses never get traffic; addresses and ports that are not valid are left
    out and reported in `rejected`."""
    found: set[Endpoint] = set()
    obj = endpoints or {}
    for s, subset in enumerate(_list(obj.get("subsets"))):
        subset = _dict(subset)
        ports = _ports_of(
            subset.get("ports"), port_name, protocol, rejected, obj, f"subsets[{s}].ports", unset_ok=False
        )
        for port in ports:
            for k, addr in enumerate(_list(subset.get("addresses"))):
                addr = _dict(addr)
                if not addr.get("ip"):
                    continue
                ip = _address(addr["ip"], rejected, obj, f"subsets[{s}].addresses[{k}].ip")
                if ip is None:
                    continue
                found.add(Endpoint(ip, port["port"], str(addr.get("nodeName") or "")))
    return sorted(found)


SERVICE_NAME_LABEL = "kubernetes.io/service-name"
IP_ADDRESS_TYPES = ("IPv4",)  # the address families the proxiers program


def slice_endpoints(
    slices: Iterable[Obj], port_name: str, protocol: str, rejected: Rejected | None = None
) -> list[Endpoint]:
    """The endpoints of one service port across a Service's EndpointSlices, sorted and without duplicates;
    addresses and ports that are not valid are left out and reported in `rejected`."""
    ready: set[Endpoint] = set()
    terminating: set[Endpoint] = set()
    for s in slices:
        if s.get("addressType") not in IP_ADDRESS_TYPES:
            continue
        for port in _ports_of(s.get("ports"), port_name, protocol, rejected, s, "ports", unset_ok=True):
            for k, ep in enumerate(_list(s.get("endpoints"))):
                ep = _dict(ep)
                addresses = _list(ep.get("addresses"))
                if not addresses:
                    continue
                ip = _address(addresses[0], rejected, s, f"endpoints[{k}].addresses[0]")
                if ip is None:
                    continue
                endpoint = Endpoint(ip, int(port["port"]), str(ep.get("nodeName") or ""))
                cond = _dict(ep.get("conditions"))
                is_ready = cond.get("ready") is not False  # unknown (null) counts as ready
                if is_ready:
                    ready.add(endpoint)
                elif cond.get("serving") is not False and cond.get("terminating") is True:
                    terminating.add(endpoint)
    return sorted(ready or terminating)


def slices_by_service(slices: Iterable[Obj]) -> dict[str, list[Obj]]:
    """EndpointSlices grouped by "namespace/service" (their kubernetes.io/service-name label)."""
    out: dict[str, list[Obj]] = {}
    for s in slices:
        md = s.get("metadata") or {}
        service = (md.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if service:
            out.setdefault(f"{md.get('namespace')}/{service}", []).append(s)
    return out


ProxyTable = list[tuple[ServicePort, list[Endpoint]]]


def build_table(
    services: Iterable[Obj], endpoints_by_key: dict[str, Obj], rejected: Rejected | None = None
) -> ProxyTable:
    """Every proxied service port with its ready endpoints from Endpoints objects, sorted by name. What cannot be
    proxied safely is left out and reported in `rejected` (deduplicated).

    `endpoints_by_key` maps "namespace/name" to the Endpoints object of that name."""
    return _table(
        services,
        lambda sp, found: ready_endpoints(
            endpoints_by_key.get(sp.service_key), sp.port_name, sp.protocol, found
        ),
        rejected,
    )


def build_table_from_slices(
    services: Iterable[Obj], slices: Iterable[Obj], rejected: Rejected | None = None
) -> ProxyTable:
    """Every proxied service port with its endpoints from EndpointSlices, sorted by name; what cannot be proxied
    safely is left out and reported in `rejected` (deduplicated)."""
    grouped = slices_by_service(slices)
    return _table(
        services,
        lambda sp, found: slice_endpoints(grouped.get(sp.service_key, []), sp.port_name, sp.protocol, found),
        rejected,
    )


def _table(
    services: Iterable[Obj],
    endpoints_of: Callable[[ServicePort, Rejected], list[Endpoint]],
    rejected: Rejected | None,
) -> ProxyTable:
    found: Rejected = []
    table: ProxyTable = [
        (sp, endpoints_of(sp, found)) for svc in services for sp in service_ports(svc, found)
    ]
    table.sort(key=lambda item: (item[0].namespace, item[0].name, item[0].port_name, item[0].protocol))
    if rejected is not None:
        seen: set[tuple[str, str, str, str]] = set()
        for r in found:
            if r.key not in seen:
                seen.add(r.key)
                rejected.append(r)
    return table
