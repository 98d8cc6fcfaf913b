"""Validation of a pod's DNS settings beyond what `podextras.validate_host_fields` checks (hostname, subdomain,
nameservers, search names, host aliases): dnsPolicy None needs dnsConfig with a nameserver, the search list's limits,
and the resolver options. These values end up as lines of the pod's /etc/resolv.conf, which the kubelet checks again
where it writes it.

One departure: resolver option names and values may hold only letters, digits, `_ . -` (and the value follows a
`:`), so that no option can carry whitespace or a newline into resolv.conf; Kubernetes leaves them unchecked.
"""

from __future__ import annotations

import re

from apimachinery.dnsconfig import MAX_SEARCH_CHARS, MAX_SEARCH_PATHS
from apimachinery.validation.common import Errs, Obj, _list, invalid, required

_OPTION_PART = re.compile(r"[A-Za-z0-9_.-]+")


def validate_pod_dns(spec: Obj, path: str, errs: Errs) -> None:
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


def _validate_dns_config(config: Obj, path: str, errs: Errs) -> None:
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
