"""Validation of Services (spec and status) and Endpoints: every field kube-proxy turns into rules.

Addresses go through `validation.network`, the same functions kube-proxy calls again before it writes a rule.
"""

from __future__ import annotations

from typing import Any

from apimachinery.validation.common import (
    Errs,
    Obj,
    _dict,
    _enum,
    _in_range,
    _int_or_port_name,
    _items,
    _map,
    _port_number,
    duplicate,
    forbidden,
    invalid,
    required,
    validate_labels,
)
from apimachinery.validation.network import (
    cidr_errors,
    ip_errors,
    non_special_ip_errors,
    parse_ip,
)
from apimachinery.validation.pods import PROTOCOLS
from apimachinery.validation.syntax import _MSG_IP, is_dns1123_label, is_dns1123_subdomain, is_qualified_name

SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
IP_FAMILIES = ["IPv4", "IPv6"]
IP_FAMILY_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"]
LOAD_BALANCER_IP_MODES = ["Proxy", "VIP"]
MAX_AFFINITY_SECONDS = 86400
_EXTERNAL = ("NodePort", "LoadBalancer")


def _port_name(name: Any, path: str, needed: bool, seen: set[str], errs: Errs) -> None:
    """A Service or Endpoints port's name: required when `needed` (the list has several ports), else optional; a
    DNS-1123 label, unique among `seen` (which it joins)."""
    if not name:
        if needed:
            errs.append(required(path, ""))
        return
    errs.extend(invalid(path, name, m) for m in is_dns1123_label(str(name)))
    if str(name) in seen:
        errs.append(duplicate(path, name))
    seen.add(str(name))


def _app_protocol(port: Obj, path: str, errs: Errs) -> None:
    value = port.get("appProtocol")
    if value is not None:
        errs.extend(invalid(f"{path}.appProtocol", value, m) for m in is_qualified_name(str(value)))


def _validate_ports(spec: Obj, service_type: str, errs: Errs) -> None:
    ports = _items(spec, "ports", "spec.ports", errs)
    names: set[str] = set()
    keys: set[tuple[str, str]] = set()
    node_ports: set[tuple[str, str]] = set()
    for _, port_path, port in ports:
        _port_name(port.get("name"), f"{port_path}.name", len(ports) > 1, names, errs)
        _port_number(port.get("port"), f"{port_path}.port", errs)
        _enum(port, "protocol", f"{port_path}.protocol", PROTOCOLS, errs)
        _app_protocol(port, port_path, errs)
        if port.get("targetPort") not in (None, 0, ""):
            _int_or_port_name(port["targetPort"], f"{port_path}.targetPort", errs)
        node_port = port.get("nodePort")
        if node_port not in (None, 0):
            if service_type not in _EXTERNAL:
                errs.append(
                    forbidden(f"{port_path}.nodePort", f"may not be used when `type` is '{service_type}'")
                )
            else:
                _port_number(node_port, f"{port_path}.nodePort", errs)
                node_key = (str(node_port), str(port.get("protocol") or "TCP"))
                if node_key in node_ports:
                    errs.append(duplicate(f"{port_path}.nodePort", node_port))
                node_ports.add(node_key)
        key = (str(port.get("port")), str(port.get("protocol") or "TCP"))
        if key in keys:
            errs.append(duplicate(port_path, f"{key[0]}/{key[1]}"))
        keys.add(key)


def _validate_addresses(spec: Obj, service_type: str, errs: Errs) -> None:
    cluster_ip = spec.get("clusterIP") or ""
    if service_type == "ExternalName":
        if cluster_ip:
            errs.append(forbidden("spec.clusterIP", "may not be set for ExternalName services"))
    elif cluster_ip == "None" and service_type in _EXTERNAL:
        errs.append(
            invalid("spec.clusterIP", cluster_ip, f"may not be set to 'None' for {service_type} services")
        )
    elif cluster_ip not in ("", "None"):
        errs.extend(invalid("spec.clusterIP", cluster_ip, m) for m in ip_errors(cluster_ip))
    cluster_ips = spec.get("clusterIPs")
    if cluster_ips is not None and not isinstance(cluster_ips, list):
        errs.append(invalid("spec.clusterIPs", cluster_ips, "must be a list"))
    elif cluster_ips:
        if cluster_ip and cluster_ips[0] != cluster_ip:
            errs.append(invalid("spec.clusterIPs", cluster_ips, "first value must match `clusterIP`"))
        if len(cluster_ips) > 2:
            errs.append(invalid("spec.clusterIPs", cluster_ips, "may only hold up to 2 values"))
        for i, ip in enumerate(cluster_ips):
            if ip != "None":
                errs.extend(invalid(f"spec.clusterIPs[{i}]", ip, m) for m in ip_errors(ip))
    families = spec.get("ipFamilies")
    if families is not None and not isinstance(families, list):
        errs.append(invalid("spec.ipFamilies", families, "must be a list"))
    elif families:
        if len(families) > 2:
            errs.append(invalid("spec.ipFamilies", families, "may only hold up to 2 values"))
        for i, family in enumerate(families):
            if family not in IP_FAMILIES:
                errs.append(
                    invalid(f"spec.ipFamilies[{i}]", family, 'must be one of "IPv4" or "IPv6"')
                )  # pragma: no branch
    _enum(spec, "ipFamilyPolicy", "spec.ipFamilyPolicy", IP_FAMILY_POLICIES, errs)
    external_ips = spec.get("externalIPs")
    if external_ips is not None and not isinstance(external_ips, list):
        errs.append(invalid("spec.externalIPs", external_ips, "must be a list"))
    for i, ip in enumerate(external_ips if isinstance(external_ips, list) else []):
        errs.extend(invalid(f"spec.externalIPs[{i}]", ip, m) for m in non_special_ip_errors(ip))
    lb_ip = spec.get("loadBalancerIP")
    if lb_ip:
        errs.extend(invalid("spec.loadBalancerIP", lb_ip, m) for m in ip_errors(lb_ip))
    ranges = spec.get("loadBalancerSourceRanges")
    if ranges:
        if service_type != "LoadBalancer":
            errs.append(
                forbidden("spec.loadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'")
            )
        if not isinstance(ranges, list) or any(cidr_errors(r) for r in ranges):
            errs.append(
                invalid(
                    "spec.LoadBalancerSourceRanges",
                    str(ranges),
                    "must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24 ",
                )
            )


def _validate_traffic(spec: Obj, service_type: str, errs: Errs) -> None:
    _enum(spec, "sessionAffinity", "spec.sessionAffinity", ["ClientIP", "None"], errs)
    config = spec.get("sessionAffinityConfig")
    if spec.get("sessionAffinity") == "ClientIP":
        client_ip = _map(_map(spec, "sessionAffinityConfig", "spec.sessionAffinityConfig", errs), "clientIP",
                         "spec.sessionAffinityConfig.clientIP", errs)  # fmt: skip
        timeout = client_ip.get("timeoutSeconds")
        path = "spec.sessionAffinityConfig.clientIP.timeoutSeconds"
        if timeout is None:
            errs.append(required(path, "when session affinity type is ClientIP"))
        elif (
            isinstance(timeout, bool)
            or not isinstance(timeout, int)
            or not 0 < timeout <= MAX_AFFINITY_SECONDS
        ):
            errs.append(
                invalid(path, timeout, f"must be greater than 0 and less than {MAX_AFFINITY_SECONDS}")
            )
    elif config is not None:
        errs.append(forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"))
    _enum(spec, "externalTrafficPolicy", "spec.externalTrafficPolicy", ["Cluster", "Local"], errs)
    _enum(spec, "internalTrafficPolicy", "spec.internalTrafficPolicy", ["Cluster", "Local"], errs)
    health = spec.get("healthCheckNodePort")
    if health not in (None, 0):
        if service_type != "LoadBalancer" or spec.get("externalTrafficPolicy") != "Local":
            errs.append(
                invalid(
                    "spec.healthCheckNodePort",
                    health,
                    "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
                )
            )
        else:
            _in_range(health, "spec.healthCheckNodePort", errs, 0, 65535)
    allocate = spec.get("allocateLoadBalancerNodePorts")
    if allocate is not None:
        if not isinstance(allocate, bool):
            errs.append(invalid("spec.allocateLoadBalancerNodePorts", allocate, "must be a boolean"))
        elif service_type != "LoadBalancer":
            errs.append(
                forbidden(
                    "spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"
                )
            )
    if spec.get("publishNotReadyAddresses") not in (None, True, False):
        errs.append(
            invalid("spec.publishNotReadyAddresses", spec["publishNotReadyAddresses"], "must be a boolean")
        )
    lb_class = spec.get("loadBalancerClass")
    if lb_class is not None:
        if service_type != "LoadBalancer":
            errs.append(forbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'"))
        else:
            errs.extend(
                invalid("spec.loadBalancerClass", lb_class, m) for m in is_qualified_name(str(lb_class))
            )


def validate_load_balancer_status(status: Obj, path: str, errs: Errs) -> None:
    """status.loadBalancer: every ingress IP is a plain IP address, every hostname a DNS name that is not one."""
    for _, ing_path, ingress in _items(status, "ingress", f"{path}.ingress", errs):
        ip = ingress.get("ip")
        if ip:
            if ip_errors(ip):
                errs.append(invalid(f"{ing_path}.ip", ip, "must be a valid IP address"))
        hostname = ingress.get("hostname")
        if hostname:
            errs.extend(
                invalid(f"{ing_path}.hostname", hostname, m) for m in is_dns1123_subdomain(str(hostname))
            )
            if parse_ip(hostname) is not None:
                errs.append(
                    invalid(f"{ing_path}.hostname", hostname, "must be a DNS name, not an IP address")
                )
        mode = ingress.get("ipMode")
        if mode is not None:
            if not ip:
                errs.append(forbidden(f"{ing_path}.ipMode", "may not be specified when `ip` is not"))
            _enum(ingress, "ipMode", f"{ing_path}.ipMode", LOAD_BALANCER_IP_MODES, errs)
        for _, port_path, port in _items(ingress, "ports", f"{ing_path}.ports", errs):
            _port_number(port.get("port"), f"{port_path}.port", errs)
            _enum(port, "protocol", f"{port_path}.protocol", PROTOCOLS, errs)


def validate_service(service: Obj, errs: Errs) -> None:
    spec = _map(service, "spec", "spec", errs)
    service_type = spec.get("type") or "ClusterIP"
    _enum(spec, "type", "spec.type", SERVICE_TYPES, errs)
    if service_type == "ExternalName":
        external_name = spec.get("externalName")
        if not external_name:
            errs.append(required("spec.externalName", ""))
        else:
            name = str(external_name)
            errs.extend(
                invalid("spec.externalName", external_name, m)
                for m in is_dns1123_subdomain(name[:-1] if name.endswith(".") else name)
            )
    elif spec.get("clusterIP") != "None" and not spec.get("ports"):
        errs.append(required("spec.ports", ""))
    _validate_addresses(spec, service_type, errs)
    _validate_ports(spec, service_type, errs)
    validate_labels(spec.get("selector"), "spec.selector", errs)
    _validate_traffic(spec, service_type, errs)
    status = _map(service, "status", "status", errs)
    validate_load_balancer_status(
        _map(status, "loadBalancer", "status.loadBalancer", errs), "status.loadBalancer", errs
    )


def validate_service_update(new: Obj, old: Obj, errs: Errs) -> None:
    new_spec, old_spec = _dict(new.get("spec")), _dict(old.get("spec"))
    old_ip = old_spec.get("clusterIP") or ""
    if old_ip and new_spec.get("type") != "ExternalName" and (new_spec.get("clusterIP") or "") != old_ip:
        errs.append(invalid("spec.clusterIP", new_spec.get("clusterIP") or "", "field is immutable"))


def validate_endpoints(endpoints: Obj, errs: Errs) -> None:
    for _, subset_path, subset in _items(endpoints, "subsets", "subsets", errs):
        if not subset.get("addresses") and not subset.get("notReadyAddresses"):
            errs.append(required(subset_path, "must specify `addresses` or `notReadyAddresses`"))
        for key in ("addresses", "notReadyAddresses"):
            for _, addr_path, address in _items(subset, key, f"{subset_path}.{key}", errs):
                ip = address.get("ip")
                if not ip:
                    errs.append(required(f"{addr_path}.ip", ""))
                elif ip_errors(ip):
                    errs.append(invalid(f"{addr_path}.ip", ip, _MSG_IP))
                else:
                    errs.extend(invalid(f"{addr_path}.ip", ip, m) for m in non_special_ip_errors(ip))
                if address.get("hostname"):
                    hostname = str(address["hostname"])
                    errs.extend(
                        invalid(f"{addr_path}.hostname", hostname, m) for m in is_dns1123_label(hostname)
                    )
                if address.get("nodeName"):
                    node_name = str(address["nodeName"])
                    errs.extend(
                        invalid(f"{addr_path}.nodeName", node_name, m)
                        for m in is_dns1123_subdomain(node_name)
                    )
        ports = _items(subset, "ports", f"{subset_path}.ports", errs)
        names: set[str] = set()
        for _, port_path, port in ports:
            _port_name(port.get("name"), f"{port_path}.name", len(ports) > 1, names, errs)
            _port_number(port.get("port"), f"{port_path}.port", errs)
            _enum(port, "protocol", f"{port_path}.protocol", PROTOCOLS, errs)
            _app_protocol(port, port_path, errs)
