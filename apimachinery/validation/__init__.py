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
