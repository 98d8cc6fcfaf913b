"""Pod fields that reach the node: security contexts, host namespaces, volume mounts and their sub-paths, command
lines, DNS settings and host aliases. Shape and range checks with Kubernetes' messages; what is *allowed* (a
privileged container, a hostPath volume) is Pod Security admission's business, not validation's."""

from __future__ import annotations

import re
from typing import Any

from apimachinery.validation.common import (
    INT32_MAX,
    INT64_MAX,
    INT64_MIN,
    Errs,
    Obj,
    _enum,
    _in_range,
    _int,
    _items,
    _map,
    invalid,
    local_descending_path_errors,
    not_supported,
    required,
    required_enum,
)
from apimachinery.validation.network import ip_errors
from apimachinery.validation.syntax import is_dns1123_label, is_dns1123_subdomain

SECCOMP_TYPES = ["Localhost", "RuntimeDefault", "Unconfined"]
PROC_MOUNT_TYPES = ["Default", "Unmasked"]
_SYSCTL = re.compile(r"([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?")
_MSG_SYSCTL = (
    "must have at most 253 characters and match regex "
    r"^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$"
)
_MSG_ID = "must be between 0 and 2147483647, inclusive"


FS_GROUP_CHANGE_POLICIES = ["OnRootMismatch", "Always"]


def _typed(parent: Obj, key: str, path: str, errs: Errs, kind: type, noun: str) -> Any:
    """`parent[key]` when it is absent or a `kind`; else None and a cause ("must be <noun>")."""
    value = parent.get(key)
    if value is not None and not isinstance(value, kind):
        errs.append(invalid(path, value, f"must be {noun}"))
        return None
    return value


def _bool(parent: Obj, key: str, path: str, errs: Errs) -> bool | None:
    return _typed(parent, key, path, errs, bool, "a boolean")  # type: ignore[no-any-return]


def _string(parent: Obj, key: str, path: str, errs: Errs) -> str | None:
    return _typed(parent, key, path, errs, str, "a string")  # type: ignore[no-any-return]


def _strings(parent: Obj, key: str, path: str, errs: Errs) -> list[str]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errs.append(invalid(path, value, "must be a list of strings"))
        return []
    return value


def _id(parent: Obj, key: str, path: str, errs: Errs) -> None:
    """runAsUser, runAsGroup, fsGroup: Kubernetes' IsValidUserID / IsValidGroupID range."""
    value = _int(parent, key, path, errs)
    if value is not None and not 0 <= value <= INT32_MAX:
        errs.append(invalid(path, value, _MSG_ID))


def _seccomp(sc: Obj, path: str, errs: Errs) -> None:
    profile = _map(sc, "seccompProfile", f"{path}.seccompProfile", errs)
    if "seccompProfile" not in sc:
        return
    kind = profile.get("type")
    detail = "type is required when seccompProfile is set"
    required_enum(profile, "type", f"{path}.seccompProfile.type", SECCOMP_TYPES, errs, detail)
    local = _string(profile, "localhostProfile", f"{path}.seccompProfile.localhostProfile", errs)
    if kind == "Localhost":
        if not local:
            errs.append(
                required(
                    f"{path}.seccompProfile.localhostProfile",
                    "must be set when seccomp type is Localhost",
                )
            )
        else:
            errs.extend(
                invalid(f"{path}.seccompProfile.localhostProfile", local, m)
                for m in local_descending_path_errors(local)
            )
    elif local is not None:
        errs.append(
            invalid(
                f"{path}.seccompProfile.localhostProfile",
                profile,
                "can only be set when seccomp type is Localhost",
            )
        )


def validate_container_security(container: Obj, path: str, errs: Errs) -> None:
    sc = _map(container, "securityContext", f"{path}.securityContext", errs)
    path = f"{path}.securityContext"
    privileged = _bool(sc, "privileged", f"{path}.privileged", errs)
    escalation = _bool(sc, "allowPrivilegeEscalation", f"{path}.allowPrivilegeEscalation", errs)
    for key in ("readOnlyRootFilesystem", "runAsNonRoot"):
        _bool(sc, key, f"{path}.{key}", errs)
    _id(sc, "runAsUser", f"{path}.runAsUser", errs)
    _id(sc, "runAsGroup", f"{path}.runAsGroup", errs)
    caps = _map(sc, "capabilities", f"{path}.capabilities", errs)
    for key in ("add", "drop"):
        _strings(caps, key, f"{path}.capabilities.{key}", errs)
    _enum(sc, "procMount", f"{path}.procMount", PROC_MOUNT_TYPES, errs)
    _seccomp(sc, path, errs)
    _selinux(sc, path, errs)
    if privileged and escalation is False:
        errs.append(
            invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true")
        )
    if sc.get("runAsNonRoot") is True and sc.get("runAsUser") == 0:
        errs.append(invalid(f"{path}.runAsNonRoot", True, "cannot be set when `runAsUser` is 0"))


def _selinux(sc: Obj, path: str, errs: Errs) -> None:
    options = _map(sc, "seLinuxOptions", f"{path}.seLinuxOptions", errs)
    for key in ("user", "role", "type", "level"):
        _string(options, key, f"{path}.seLinuxOptions.{key}", errs)


def validate_pod_security(spec: Obj, path: str, errs: Errs) -> None:
    for key in ("hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace", "hostUsers"):
        _bool(spec, key, f"{path}.{key}", errs)
    sc = _map(spec, "securityContext", f"{path}.securityContext", errs)
    sc_path = f"{path}.securityContext"
    _bool(sc, "runAsNonRoot", f"{sc_path}.runAsNonRoot", errs)
    for key in ("runAsUser", "runAsGroup", "fsGroup"):
        _id(sc, key, f"{sc_path}.{key}", errs)
    policy = sc.get("fsGroupChangePolicy")
    if policy is not None and policy not in FS_GROUP_CHANGE_POLICIES:
        errs.append(not_supported(f"{sc_path}.fsGroupChangePolicy", policy, FS_GROUP_CHANGE_POLICIES))
    groups = sc.get("supplementalGroups")
    for i, group in enumerate(groups if isinstance(groups, list) else []):
        if isinstance(group, bool) or not isinstance(group, int) or not 0 <= group <= INT32_MAX:
            errs.append(invalid(f"{sc_path}.supplementalGroups[{i}]", group, _MSG_ID))
    _seccomp(sc, sc_path, errs)
    _selinux(sc, sc_path, errs)
    names: set[str] = set()
    for _, sysctl_path, sysctl in _items(sc, "sysctls", f"{sc_path}.sysctls", errs):
        name = sysctl.get("name")
        if not name:
            errs.append(required(f"{sysctl_path}.name", ""))
        elif not isinstance(name, str) or len(name) > 253 or not _SYSCTL.fullmatch(name):
            errs.append(invalid(f"{sysctl_path}.name", name, _MSG_SYSCTL))
        elif name in names:
            errs.append(invalid(f"{sysctl_path}.name", name, "must be unique"))
        else:
            names.add(name)
        _string(sysctl, "value", f"{sysctl_path}.value", errs)


def validate_host_fields(spec: Obj, path: str, errs: Errs) -> None:
    """hostname, subdomain, DNS settings, host aliases, the service account and the grace period."""
    for key in ("hostname", "subdomain"):
        value = spec.get(key)
        if value:
            errs.extend(invalid(f"{path}.{key}", value, m) for m in is_dns1123_label(str(value)))
    account = spec.get("serviceAccountName")
    if account:
        errs.extend(
            invalid(f"{path}.serviceAccountName", account, m) for m in is_dns1123_subdomain(str(account))
        )
    grace = _int(spec, "terminationGracePeriodSeconds", f"{path}.terminationGracePeriodSeconds", errs)
    if grace is not None:
        _in_range(grace, f"{path}.terminationGracePeriodSeconds", errs, INT64_MIN, INT64_MAX)
    dns = _map(spec, "dnsConfig", f"{path}.dnsConfig", errs)
    servers = _strings(dns, "nameservers", f"{path}.dnsConfig.nameservers", errs)
    if len(servers) > 3:
        errs.append(
            invalid(f"{path}.dnsConfig.nameservers", servers, "must not have more than 3 nameservers")
        )
    for i, server in enumerate(servers):
        errs.extend(invalid(f"{path}.dnsConfig.nameservers[{i}]", server, m) for m in ip_errors(server))
    searches = _strings(dns, "searches", f"{path}.dnsConfig.searches", errs)
    for i, search in enumerate(searches):
        domain = search[:-1] if search.endswith(".") else search
        errs.extend(
            invalid(f"{path}.dnsConfig.searches[{i}]", search, m) for m in is_dns1123_subdomain(domain)
        )
    for _, alias_path, alias in _items(spec, "hostAliases", f"{path}.hostAliases", errs):
        ip = alias.get("ip")
        if not ip:
            errs.append(required(f"{alias_path}.ip", ""))
        else:
            errs.extend(invalid(f"{alias_path}.ip", ip, m) for m in ip_errors(ip))
        for j, hostname in enumerate(_strings(alias, "hostnames", f"{alias_path}.hostnames", errs)):
            errs.extend(
                invalid(f"{alias_path}.hostnames[{j}]", hostname, m) for m in is_dns1123_subdomain(hostname)
            )


def validate_command(container: Obj, path: str, errs: Errs) -> None:
    for key in ("command", "args"):
        _strings(container, key, f"{path}.{key}", errs)
    _string(container, "workingDir", f"{path}.workingDir", errs)
    for key in ("stdin", "tty", "stdinOnce"):
        _bool(container, key, f"{path}.{key}", errs)


def validate_mount(mount: Obj, path: str, errs: Errs) -> None:
    """One volumeMount's sub-path, as Kubernetes checks it: the `.subPath` field errors are reported on the list
    (`...volumeMounts.subPath`), the quirk upstream has always had."""
    parent = path.rsplit("[", 1)[0]
    _bool(mount, "readOnly", f"{path}.readOnly", errs)
    target = mount.get("mountPath")
    if target is not None and not isinstance(target, str):
        errs.append(invalid(f"{path}.mountPath", target, "must be a string"))
    sub_path = _string(mount, "subPath", f"{path}.subPath", errs)
    if sub_path:
        errs.extend(invalid(f"{parent}.subPath", sub_path, m) for m in local_descending_path_errors(sub_path))
    expr = _string(mount, "subPathExpr", f"{path}.subPathExpr", errs)
    if expr:
        if sub_path:
            errs.append(
                invalid(f"{path}.subPathExpr", expr, "subPathExpr and subPath are mutually exclusive")
            )
        errs.extend(invalid(f"{parent}.subPathExpr", expr, m) for m in local_descending_path_errors(expr))


def validate_host_path(host_path: Obj, path: str, errs: Errs) -> None:
    value = host_path.get("path")
    if not value:
        errs.append(required(f"{path}.path", ""))
    elif not isinstance(value, str):
        errs.append(invalid(f"{path}.path", value, "must be a string"))
    elif ".." in value.split("/"):
        errs.append(invalid(f"{path}.path", value, "must not contain '..'"))


def validate_port_host_ip(port: Obj, path: str, errs: Errs) -> None:
    host_ip = port.get("hostIP")
    if host_ip:
        errs.extend(invalid(f"{path}.hostIP", host_ip, m) for m in ip_errors(host_ip))
