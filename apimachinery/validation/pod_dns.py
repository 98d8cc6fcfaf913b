"""Validation of a pod's naming and DNS fields (hostname, subdomain, dnsPolicy None, dnsConfig, hostAliases), with
Kubernetes' rules and messages. These values end up as lines of the pod's /etc/hosts and /etc/resolv.conf, which the
kubelet checks again where it writes them.

One departure: resolver option names and values may hold only letters, digits, `_ . -` (and the value follows a
`:`), so that no option can carry whitespace or a newline into resolv.conf; Kubernetes leaves them unchecked.
"""

from __future__ import annotations

import re

from apimachinery.dnsconfig import MAX_NAMESERVERS, MAX_SEARCH_CHARS, MAX_SEARCH_PATHS
from apimachinery.validation.common import (
    Errs,
    Obj,
    _items,
    _list,
    invalid,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_ip,
    required,
)

_OPTION_PART = re.compile(r"[A-Za-z0-9_.-]+")


def validate_pod_dns(spec: Obj, path: str, errs: Errs) -> None:
    for key in ("hostname", "subdomain"):
        value = spec.get(key)
        if value:
            errs.extend(invalid(f"{path}.{key}", value, m) for m in is_dns1123_label(str(value)))
    config = spec.get("dnsConfig")
    if spec.get("dnsPolicy") == "None":
        if not isinstance(config, dict):
            errs.append(required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None"))
        elif not _list(config.get("nameservers")):
            errs.append(
                required(
                    f"{path}.dnsConfig.nameservers",
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                )
            )
    if isinstance(config, dict):
        _validate_dns_config(config, f"{path}.dnsConfig", errs)
    for _, alias_path, alias in _items(spec, "hostAliases", f"{path}.hostAliases", errs):
        ip = alias.get("ip")
        if not is_ip(ip):
            errs.append(invalid(f"{alias_path}.ip", ip, "must be a valid IP address"))
        for j, name in enumerate(_list(alias.get("hostnames"))):
            errs.extend(
                invalid(f"{alias_path}.hostnames[{j}]", name, m) for m in is_dns1123_subdomain(str(name))
            )


def _validate_dns_config(config: Obj, path: str, errs: Errs) -> None:
    nameservers = _list(config.get("nameservers"))
    if len(nameservers) > MAX_NAMESERVERS:
        errs.append(
            invalid(
                f"{path}.nameservers", nameservers, f"must not have more than {MAX_NAMESERVERS} nameservers"
            )
        )
    for i, ns in enumerate(nameservers):
        if not is_ip(ns):
            errs.append(invalid(f"{path}.nameservers[{i}]", ns, "must be a valid IP address"))
    searches = _list(config.get("searches"))
    if len(searches) > MAX_SEARCH_PATHS:
        errs.append(
            invalid(f"{path}.searches", searches, f"must not have more than {MAX_SEARCH_PATHS} search paths")
        )
    if len(" ".join(str(s) for s in searches)) > MAX_SEARCH_CHARS:
        errs.append(
            invalid(
                f"{path}.searches",
                searches,
                f"must not have more than {MAX_SEARCH_CHARS} characters (including spaces) in the search list",
            )
        )
    for i, search in enumerate(searches):
        text = str(search)
        # A search path may be written fully qualified (a trailing dot), as Kubernetes allows.
        errs.extend(
            invalid(f"{path}.searches[{i}]", search, m) for m in is_dns1123_subdomain(text.removesuffix("."))
        )
    for i, option in enumerate(_list(config.get("options"))):
        option = option if isinstance(option, dict) else {}
        name, value = option.get("name"), option.get("value")
        if not name:
            errs.append(required(f"{path}.options[{i}].name", "Option.Name must not be empty"))
        elif not _OPTION_PART.fullmatch(str(name)):
            errs.append(
                invalid(f"{path}.options[{i}].name", name, "must consist of letters, digits, '_', '.' or '-'")
            )
        if value is not None and value != "" and not _OPTION_PART.fullmatch(str(value)):
            errs.append(
                invalid(
                    f"{path}.options[{i}].value", value, "must consist of letters, digits, '_', '.' or '-'"
                )
            )
