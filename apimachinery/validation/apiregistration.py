"""Validation and defaults of apiregistration.k8s.io/v1 APIServices (kube-aggregator's `ValidateAPIService`).

An APIService names a group and version and, for an aggregated one, the Service that serves them. Its name must
be `<version>.<group>`; the service reference reaches the apiserver's proxy, so its names and port are checked
here and again where the proxy builds the address (apiserver/aggregator/resolve.py).
"""

from __future__ import annotations

import base64
import binascii

from apimachinery.validation.common import Errs, Obj, _map, forbidden, invalid, required
from apimachinery.validation.syntax import is_dns1035_label, is_dns1123_label, is_dns1123_subdomain

DEFAULT_SERVICE_PORT = 443


def default_api_service(obj: Obj) -> None:
    service = (obj.get("spec") or {}).get("service")
    if isinstance(service, dict):
        service.setdefault("port", DEFAULT_SERVICE_PORT)


def validate_api_service(obj: Obj, errs: Errs) -> None:
    spec = _map(obj, "spec", "spec", errs)
    name = str((obj.get("metadata") or {}).get("name") or "")
    group, version = spec.get("group"), spec.get("version")
    if not version:
        errs.append(required("spec.version", ""))
    else:
        errs.extend(invalid("spec.version", version, m) for m in is_dns1035_label(str(version)))
    if group:
        errs.extend(invalid("spec.group", group, m) for m in is_dns1123_subdomain(str(group)))
    if name != f"{version}.{group}":
        errs.append(invalid("metadata.name", name, f'must be "{version}.{group}"'))
    for key, top in (("groupPriorityMinimum", 20000), ("versionPriority", 1000)):
        value = spec.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= top:
            errs.append(invalid(f"spec.{key}", value, f"must be positive and less than {top + 1}"))
    _validate_service(spec, errs)
    ca_bundle = spec.get("caBundle")
    if ca_bundle:
        if spec.get("insecureSkipTLSVerify"):
            errs.append(invalid("spec.insecureSkipTLSVerify", True, "may not be true if caBundle is present"))
        try:
            base64.b64decode(str(ca_bundle), validate=True)
        except (binascii.Error, ValueError):
            errs.append(invalid("spec.caBundle", "<bytes>", "must be base64-encoded"))


def _validate_service(spec: Obj, errs: Errs) -> None:
    service = spec.get("service")
    if service is None:
        if spec.get("caBundle") or spec.get("insecureSkipTLSVerify"):
            errs.append(required("spec.service", "a local APIService has no TLS settings"))
        return
    if not isinstance(service, dict):
        errs.append(invalid("spec.service", service, "must be an object"))
        return
    for key, check in (("namespace", is_dns1123_label), ("name", is_dns1035_label)):
        value = service.get(key)
        if not value:
            errs.append(required(f"spec.service.{key}", ""))
        else:
            errs.extend(invalid(f"spec.service.{key}", value, m) for m in check(str(value)))
    port = service.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        errs.append(invalid("spec.service.port", port, "must be a valid port number (1-65535)"))


def validate_api_service_update(new: Obj, old: Obj, errs: Errs) -> None:
    """The name ties an APIService to its group and version, so they cannot change."""
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    for key in ("group", "version"):
        if spec.get(key) != old_spec.get(key):
            errs.append(forbidden(f"spec.{key}", "field is immutable"))


KINDS = {
    ("apiregistration.k8s.io", "APIService"): (
        is_dns1123_subdomain,
        validate_api_service,
        validate_api_service_update,
    ),
}
DEFAULTERS = {("apiregistration.k8s.io", "APIService"): default_api_service}
