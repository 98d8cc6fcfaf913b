"""describe text for NetworkPolicies, line for line as kubectl's describeNetworkPolicy prints them."""

from __future__ import annotations

from typing import Any

from apimachinery.labels import to_string as selector_string
from cli.describers import Doc, annotation_lines, described, label_lines, parse_time

Obj = dict[str, Any]
INDENT = "    "  # kubectl's initialIndent for the rule lines


def created_on(ts: str | None) -> str:
    """Go's time.Time String() of the creation time in local time, as kubectl prints `Created on`."""
    if not ts:
        return "0001-01-01 00:00:00 +0000 UTC"
    try:
        local = parse_time(ts).astimezone()
    except ValueError:
        return ts
    return local.strftime("%Y-%m-%d %H:%M:%S %z ") + (local.tzname() or "")


def _port_lines(d: Doc, ports: list[Obj]) -> None:
    if not ports:
        d.w(0, f"{INDENT}To Port: <any> (traffic allowed to all ports)\n")
        return
    for port in ports:
        protocol = port.get("protocol") or "TCP"
        number = port.get("port")
        shown = "<nil>" if number is None else str(number)
        if port.get("endPort") is None:
            d.w(0, f"{INDENT}To Port: {shown}/{protocol}\n")
        else:
            d.w(0, f"{INDENT}To Port Range: {shown}-{port['endPort']}/{protocol}\n")


def _peer_lines(d: Doc, title: str, peer: Obj) -> None:
    d.w(0, f"{INDENT}{title}:\n")
    pods, namespaces, block = peer.get("podSelector"), peer.get("namespaceSelector"), peer.get("ipBlock")
    if namespaces is not None:
        d.w(1, f"{INDENT}NamespaceSelector: {selector_string(namespaces)}\n")
    if pods is not None:
        d.w(1, f"{INDENT}PodSelector: {selector_string(pods)}\n")
    if pods is None and namespaces is None and block is not None:
        d.w(1, f"{INDENT}IPBlock:\n")
        d.w(2, f"{INDENT}CIDR: {block.get('cidr', '')}\n")
        d.w(2, f"{INDENT}Except: {', '.join(block.get('except') or [])}\n")


def _rules(d: Doc, rules: list[Obj], peers_key: str, title: str, direction: str, unrestricted: str) -> None:
    if not rules:
        d.w(0, f"{INDENT}<none> (Selected pods are isolated for {direction} connectivity)\n")
        return
    for i, rule in enumerate(rules):
        _port_lines(d, rule.get("ports") or [])
        peers = rule.get(peers_key) or []
        if not peers:
            d.w(0, f"{INDENT}{title}: <any> ({unrestricted})\n")
        for peer in peers:
            _peer_lines(d, title, peer)
        if i != len(rules) - 1:
            d.w(0, f"{INDENT}----------\n")


@described
def networkpolicy_text(d: Doc, policy: Obj) -> None:
    meta, spec = policy.get("metadata") or {}, policy.get("spec") or {}
    d.w(0, f"Name:\t{meta.get('name', '')}\n")
    d.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    d.w(0, f"Created on:\t{created_on(meta.get('creationTimestamp'))}\n")
    label_lines(d, 0, meta)
    annotation_lines(d, 0, meta)
    d.w(0, "Spec:\n")
    selector = spec.get("podSelector") or {}
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        d.w(
            1,
            "PodSelector: "
            + "  " * 2
            + "<none> (Allowing the specific traffic to all pods in this namespace)\n",
        )
    else:
        d.w(1, "PodSelector: " + "  " * 2 + selector_string(selector) + "\n")
    types = spec.get("policyTypes") or []
    if "Ingress" in types:
        d.w(1, "Allowing ingress traffic:\n")
        _rules(d, spec.get("ingress") or [], "from", "From", "ingress", "traffic not restricted by source")
    else:
        d.w(1, "Not affecting ingress traffic\n")
    if "Egress" in types:
        d.w(1, "Allowing egress traffic:\n")
        _rules(d, spec.get("egress") or [], "to", "To", "egress", "traffic not restricted by destination")
    else:
        d.w(1, "Not affecting egress traffic\n")
    d.w(1, f"Policy Types: {', '.join(types)}\n")
