"""Validation: what the API server rejects with 422 Invalid, with Kubernetes' field paths and messages.

`validate(obj, old=None)` returns a list of causes, empty when the object is valid:

    {"reason": "FieldValueInvalid", "message": 'Invalid value: "Bad_Pod": a lowercase RFC 1123 ...',
     "field": "metadata.name"}

Messages are what Kubernetes' `field.Error.ErrorBody()` prints, so kubectl shows the familiar
`* spec.containers[0].image: Required value`. `old` switches on the update rules (immutable fields). Validation
runs after defaulting, as in the API server; a defaulted field that is missing is not reported.

Also here: the name and label syntax checks (`is_dns1123_label`, ...), `parse_quantity`, which other components
use to read resource amounts, and the address checks of `validation.network` (`parse_ip`, `host_ipv4`, ...), which
kube-proxy, the kubelet and the log proxy call again where a value becomes a command, a route or a URL.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apimachinery.validation.common import (
        NameCheck,
        check_int,
        duplicate,
        forbidden,
        invalid,
        local_descending_path_errors,
        not_found,
        not_supported,
        required,
        selector_matches,
        show,
        too_long,
        validate_annotations,
        validate_label_selector,
        validate_labels,
        validate_object_meta,
        validate_object_meta_update,
    )
    from apimachinery.validation.network import (
        cidr_errors,
        host_ipv4,
        host_ipv4_network,
        ip_errors,
        is_port,
        non_special_ip_errors,
        parse_cidr,
        parse_ip,
        unicast_ipv4,
    )
    from apimachinery.validation.nodes import pod_cidr_outside
    from apimachinery.validation.objects import (
        Check,
        UpdateCheck,
        validate,
    )
    from apimachinery.validation.pods import (
        DNS_POLICIES,
        FIELD_REF_PATHS,
        HOST_PATH_TYPES,
        PROTOCOLS,
        PULL_POLICIES,
        RESTART_POLICIES,
        TAINT_EFFECTS,
        validate_pod_spec,
    )
    from apimachinery.validation.quantity import QUANTITY_FORMAT, parse_quantity
    from apimachinery.validation.services import SERVICE_TYPES
    from apimachinery.validation.syntax import (
        is_cidr,
        is_dns1035_label,
        is_dns1123_label,
        is_dns1123_subdomain,
        is_ip,
        is_label_value,
        is_port_name,
        is_qualified_name,
    )

# Each name is imported from its module on first use (PEP 562): a component that checks a label or an address
# loads those checks, not every kind's validation (bench/idle_memory.py).
_HOME = {
    "NameCheck": "common",
    "check_int": "common",
    "duplicate": "common",
    "forbidden": "common",
    "invalid": "common",
    "local_descending_path_errors": "common",
    "not_found": "common",
    "not_supported": "common",
    "required": "common",
    "selector_matches": "common",
    "show": "common",
    "too_long": "common",
    "validate_annotations": "common",
    "validate_label_selector": "common",
    "validate_labels": "common",
    "validate_object_meta": "common",
    "validate_object_meta_update": "common",
    "cidr_errors": "network",
    "host_ipv4": "network",
    "host_ipv4_network": "network",
    "ip_errors": "network",
    "is_port": "network",
    "non_special_ip_errors": "network",
    "parse_cidr": "network",
    "parse_ip": "network",
    "unicast_ipv4": "network",
    "pod_cidr_outside": "nodes",
    "Check": "objects",
    "UpdateCheck": "objects",
    "validate": "objects",
    "DNS_POLICIES": "pods",
    "FIELD_REF_PATHS": "pods",
    "HOST_PATH_TYPES": "pods",
    "PROTOCOLS": "pods",
    "PULL_POLICIES": "pods",
    "RESTART_POLICIES": "pods",
    "TAINT_EFFECTS": "pods",
    "validate_pod_spec": "pods",
    "QUANTITY_FORMAT": "quantity",
    "parse_quantity": "quantity",
    "SERVICE_TYPES": "services",
    "is_cidr": "syntax",
    "is_dns1035_label": "syntax",
    "is_dns1123_label": "syntax",
    "is_dns1123_subdomain": "syntax",
    "is_ip": "syntax",
    "is_label_value": "syntax",
    "is_port_name": "syntax",
    "is_qualified_name": "syntax",
}


def __getattr__(name: str) -> Any:
    try:
        module = _HOME[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DNS_POLICIES",
    "FIELD_REF_PATHS",
    "HOST_PATH_TYPES",
    "PROTOCOLS",
    "PULL_POLICIES",
    "QUANTITY_FORMAT",
    "RESTART_POLICIES",
    "SERVICE_TYPES",
    "TAINT_EFFECTS",
    "Check",
    "NameCheck",
    "UpdateCheck",
    "check_int",
    "cidr_errors",
    "duplicate",
    "forbidden",
    "host_ipv4",
    "host_ipv4_network",
    "invalid",
    "ip_errors",
    "is_cidr",
    "is_dns1035_label",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "is_ip",
    "is_label_value",
    "is_port",
    "is_port_name",
    "is_qualified_name",
    "local_descending_path_errors",
    "non_special_ip_errors",
    "not_found",
    "not_supported",
    "parse_cidr",
    "parse_ip",
    "parse_quantity",
    "pod_cidr_outside",
    "required",
    "selector_matches",
    "show",
    "too_long",
    "unicast_ipv4",
    "validate",
    "validate_annotations",
    "validate_label_selector",
    "validate_labels",
    "validate_object_meta",
    "validate_object_meta_update",
    "validate_pod_spec",
]
