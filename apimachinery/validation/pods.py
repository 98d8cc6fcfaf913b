"""Validation of pods: the spec (containers, volumes, probes, resources, env, tolerations) and the update rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from apimachinery.validation.common import (
    INT64_MAX,
    INT64_MIN,
    Errs,
    Obj,
    _enum,
    _in_range,
    _int,
    _int_or_port_name,
    _items,
    _list,
    _map,
    _min,
    _port_number,
    duplicate,
    forbidden,
    invalid,
    not_found,
    not_supported,
    required,
    show,
    validate_labels,
)
from apimachinery.validation.configsources import (
    validate_config_volume,
    validate_env_from,
    validate_value_from,
)
from apimachinery.validation.pod_dns import validate_pod_dns
from apimachinery.validation.podextras import (
    validate_command,
    validate_container_security,
    validate_host_fields,
    validate_host_path,
    validate_mount,
    validate_pod_security,
    validate_port_host_ip,
)
from apimachinery.validation.quantity import _MSG_QUANTITY, parse_quantity
from apimachinery.validation.syntax import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_value,
    is_port_name,
    is_qualified_name,
)

# --- pods -----------------------------------------------------------------------------------------------------

RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
HOST_PATH_TYPES = [
    "",
    "DirectoryOrCreate",
    "Directory",
    "FileOrCreate",
    "File",
    "Socket",
    "CharDevice",
    "BlockDevice",
]
FIELD_REF_PATHS = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
]
_RE_HEADER_NAME = re.compile(r"[-A-Za-z0-9]+")
_MSG_HEADER_NAME = (
    "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', "
    "regex used for validation is '[-A-Za-z0-9]+')"
)
_UPDATABLE_POD_FIELDS = (
    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)


def _validate_volumes(spec: Obj, path: str, errs: Errs) -> set[str]:
    names: set[str] = set()
    for _, vol_path, volume in _items(spec, "volumes", f"{path}.volumes", errs):
        name = volume.get("name")
        if not name:
            errs.append(required(f"{vol_path}.name", ""))
        else:
            errs.extend(invalid(f"{vol_path}.name", name, m) for m in is_dns1123_label(str(name)))
            if str(name) in names:
                errs.append(duplicate(f"{vol_path}.name", name))
            names.add(str(name))
        sources = [k for k in volume if k != "name" and volume[k] is not None]
        if not sources:
            errs.append(required(vol_path, "must specify a volume type"))
        elif len(sources) > 1:
            errs.append(forbidden(f"{vol_path}.{sources[1]}", "may not specify more than 1 volume type"))
        host_path = _map(volume, "hostPath", f"{vol_path}.hostPath", errs)
        if "hostPath" in volume:
            validate_host_path(host_path, f"{vol_path}.hostPath", errs)
            _enum(host_path, "type", f"{vol_path}.hostPath.type", HOST_PATH_TYPES, errs)
        validate_config_volume(volume, vol_path, errs)
        empty_dir = _map(volume, "emptyDir", f"{vol_path}.emptyDir", errs)
        if empty_dir.get("sizeLimit") is not None:
            _quantity(empty_dir["sizeLimit"], f"{vol_path}.emptyDir.sizeLimit", errs)
    return names


def _quantity(value: Any, path: str, errs: Errs) -> float | None:
    try:
        amount = parse_quantity(value)
    except ValueError:
        errs.append(invalid(path, value, _MSG_QUANTITY))
        return None
    if amount < 0:
        errs.append(invalid(path, value, "must be greater than or equal to 0"))
    return amount


def _validate_resources(resources: Obj, path: str, errs: Errs) -> None:
    amounts: dict[str, dict[str, float | None]] = {}
    for kind in ("limits", "requests"):
        amounts[kind] = {}
        for name, value in _map(resources, kind, f"{path}.{kind}", errs).items():
            errs.extend(invalid(f"{path}.{kind}[{name}]", name, m) for m in is_qualified_name(str(name)))
            amounts[kind][name] = _quantity(value, f"{path}.{kind}[{name}]", errs)
    for name, request in amounts["requests"].items():
        limit = amounts["limits"].get(name)
        if request is not None and limit is not None and request > limit:
            errs.append(
                invalid(
                    f"{path}.requests[{name}]",
                    resources["requests"][name],
                    f"must be less than or equal to {name} limit of {resources['limits'][name]}",
                )
            )


def _validate_probe(probe: Obj, path: str, errs: Errs, *, liveness_like: bool) -> None:
    handlers = [k for k in ("exec", "httpGet", "tcpSocket", "grpc") if probe.get(k) is not None]
    if not handlers:
        errs.append(required(path, "must specify a handler type"))
    elif len(handlers) > 1:
        errs.append(forbidden(f"{path}.{handlers[1]}", "may not specify more than 1 handler type"))
    exec_action = _map(probe, "exec", f"{path}.exec", errs)
    if "exec" in probe and not exec_action.get("command"):
        errs.append(required(f"{path}.exec.command", ""))
    for key in ("httpGet", "tcpSocket"):
        action = _map(probe, key, f"{path}.{key}", errs)
        if key in probe:
            if action.get("port") in (None, ""):
                errs.append(required(f"{path}.{key}.port", ""))
            else:
                _int_or_port_name(action["port"], f"{path}.{key}.port", errs)
    http_get = _map(probe, "httpGet", f"{path}.httpGet", errs)
    _enum(http_get, "scheme", f"{path}.httpGet.scheme", ["HTTP", "HTTPS"], errs)
    for _, header_path, header in _items(http_get, "httpHeaders", f"{path}.httpGet.httpHeaders", errs):
        name = header.get("name")
        if not isinstance(name, str) or not _RE_HEADER_NAME.fullmatch(name):
            errs.append(invalid(f"{path}.httpGet.httpHeaders", name, _MSG_HEADER_NAME))
        if not isinstance(header.get("value", ""), str):
            errs.append(invalid(f"{header_path}.value", header.get("value"), "must be a string"))
    for key in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        _min(probe, key, f"{path}.{key}", errs)
    success = probe.get("successThreshold")
    if liveness_like and isinstance(success, int) and success != 1:
        errs.append(invalid(f"{path}.successThreshold", success, "must be 1"))


def _validate_env(container: Obj, path: str, errs: Errs) -> None:
    for _, env_path, env in _items(container, "env", f"{path}.env", errs):
        name = env.get("name")
        if not name:
            errs.append(required(f"{env_path}.name", ""))
        elif not isinstance(name, str) or any(c == "=" or not " " <= c <= "~" for c in name):
            errs.append(
                invalid(
                    f"{env_path}.name",
                    name,
                    "a valid environment variable name must consist only of printable ASCII characters other than '='",
                )
            )
        validate_value_from(env, env_path, FIELD_REF_PATHS, errs)
    validate_env_from(container, path, errs)


def _unique_name(item: Obj, path: str, check: Callable[[str], list[str]], seen: set[str], errs: Errs) -> None:
    """`item`'s name (when it has one): valid by `check`, and not one of `seen` (which it joins)."""
    name = item.get("name")
    if name:
        errs.extend(invalid(path, name, m) for m in check(str(name)))
        if str(name) in seen:
            errs.append(duplicate(path, name))
        seen.add(str(name))


def _validate_container(
    container: Obj, path: str, volumes: set[str], port_names: set[str], errs: Errs, *, init: bool
) -> None:
    if not container.get("name"):
        errs.append(required(f"{path}.name", ""))
    image = container.get("image")
    if not image:
        errs.append(required(f"{path}.image", ""))
    elif not isinstance(image, str) or image != image.strip():
        errs.append(invalid(f"{path}.image", image, "must not have leading or trailing whitespace"))
    _enum(container, "imagePullPolicy", f"{path}.imagePullPolicy", PULL_POLICIES, errs)
    _enum(
        container,
        "terminationMessagePolicy",
        f"{path}.terminationMessagePolicy",
        ["File", "FallbackToLogsOnError"],
        errs,
    )
    for _, port_path, port in _items(container, "ports", f"{path}.ports", errs):
        if port.get("containerPort") in (None, 0):
            errs.append(required(f"{port_path}.containerPort", ""))
        else:
            _port_number(port["containerPort"], f"{port_path}.containerPort", errs)
        if port.get("hostPort") not in (None, 0):
            _port_number(port["hostPort"], f"{port_path}.hostPort", errs)
        _enum(port, "protocol", f"{port_path}.protocol", PROTOCOLS, errs)
        validate_port_host_ip(port, port_path, errs)
        _unique_name(port, f"{port_path}.name", is_port_name, port_names, errs)
    _validate_env(container, path, errs)
    validate_command(container, path, errs)
    validate_container_security(container, path, errs)
    _validate_resources(_map(container, "resources", f"{path}.resources", errs), f"{path}.resources", errs)
    mount_paths: set[str] = set()
    for _, mount_path, mount in _items(container, "volumeMounts", f"{path}.volumeMounts", errs):
        name = mount.get("name")
        if not name:
            errs.append(required(f"{mount_path}.name", ""))
        elif str(name) not in volumes:
            errs.append(not_found(f"{mount_path}.name", name))
        target = mount.get("mountPath")
        if not target:
            errs.append(required(f"{mount_path}.mountPath", ""))
        elif str(target) in mount_paths:
            errs.append(invalid(f"{mount_path}.mountPath", target, "must be unique"))
        else:
            mount_paths.add(str(target))
        validate_mount(mount, mount_path, errs)
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        if container.get(key) is None:
            continue
        if init and container.get("restartPolicy") != "Always":
            errs.append(
                forbidden(f"{path}.{key}", "may not be set for init containers without restartPolicy=Always")
            )
            continue
        probe = _map(container, key, f"{path}.{key}", errs)
        _validate_probe(probe, f"{path}.{key}", errs, liveness_like=key != "readinessProbe")


def _validate_tolerations(spec: Obj, path: str, errs: Errs) -> None:
    for _, tol_path, tol in _items(spec, "tolerations", f"{path}.tolerations", errs):
        key, operator, value, effect = (
            tol.get("key") or "",
            tol.get("operator") or "",
            tol.get("value"),
            tol.get("effect"),
        )
        if key:
            errs.extend(invalid(f"{tol_path}.key", key, m) for m in is_qualified_name(str(key)))
        elif operator != "Exists":
            errs.append(
                invalid(
                    f"{tol_path}.operator",
                    operator,
                    'operator must be Exists when `key` is empty, which means "match all values and all keys"',
                )
            )
        if tol.get("tolerationSeconds") is not None:
            _in_range(tol["tolerationSeconds"], f"{tol_path}.tolerationSeconds", errs, INT64_MIN, INT64_MAX)
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(
                invalid(
                    f"{tol_path}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"
                )
            )
        if operator in ("Equal", ""):
            msgs = is_label_value(str(value or ""))
            if msgs:
                errs.append(invalid(f"{tol_path}.operator", value, ";".join(msgs)))
        elif operator == "Exists":
            if value:
                errs.append(
                    invalid(f"{tol_path}.operator", tol, "value must be empty when `operator` is 'Exists'")
                )
        else:
            errs.append(not_supported(f"{tol_path}.operator", operator, ["Equal", "Exists"]))
        if effect:
            _enum(tol, "effect", f"{tol_path}.effect", TAINT_EFFECTS, errs)


def validate_pod_spec(spec: Obj, path: str, errs: Errs) -> None:
    """A PodSpec at `path` ("spec" for pods, "spec.template.spec" for workloads)."""
    volumes = _validate_volumes(spec, path, errs)
    containers = _items(spec, "containers", f"{path}.containers", errs)
    if not spec.get("containers"):
        errs.append(required(f"{path}.containers", ""))
    init_containers = _items(spec, "initContainers", f"{path}.initContainers", errs)
    names: set[str] = set()
    port_names: set[str] = set()
    for init, items in ((True, init_containers), (False, containers)):
        for _, c_path, container in items:
            _unique_name(container, f"{c_path}.name", is_dns1123_label, names, errs)
            _validate_container(container, c_path, volumes, port_names, errs, init=init)
    _enum(spec, "restartPolicy", f"{path}.restartPolicy", RESTART_POLICIES, errs)
    _enum(spec, "dnsPolicy", f"{path}.dnsPolicy", DNS_POLICIES, errs)
    validate_host_fields(spec, path, errs)
    validate_pod_security(spec, path, errs)
    deadline = _int(spec, "activeDeadlineSeconds", f"{path}.activeDeadlineSeconds", errs)
    if deadline is not None and not 1 <= deadline <= 2**31 - 1:
        errs.append(
            invalid(f"{path}.activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive")
        )
    validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector", errs)
    node_name = spec.get("nodeName")
    if node_name:
        errs.extend(invalid(f"{path}.nodeName", node_name, m) for m in is_dns1123_subdomain(str(node_name)))
    _validate_tolerations(spec, path, errs)
    validate_pod_dns(spec, path, errs)


def _validate_pod(pod: Obj, errs: Errs) -> None:
    validate_pod_spec(_map(pod, "spec", "spec", errs), "spec", errs)


def _changed_paths(old: Any, new: Any, path: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            _changed_paths(old.get(key), new.get(key), f"{path}.{key}", out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _changed_paths(a, b, f"{path}[{i}]", out)
    elif old != new:
        out.append(f"  {path}: {show(old)} -> {show(new)}")


def _same_toleration(a: Obj, b: Obj) -> bool:
    return all(a.get(k) == b.get(k) for k in ("key", "operator", "value", "effect"))


def _validate_pod_update(new: Obj, old: Obj, errs: Errs) -> None:
    new_spec, old_spec = new.get("spec"), old.get("spec")
    if not isinstance(new_spec, dict) or not isinstance(old_spec, dict):
        return
    old_deadline, new_deadline = old_spec.get("activeDeadlineSeconds"), new_spec.get("activeDeadlineSeconds")
    if old_deadline is not None:
        if new_deadline is None:
            errs.append(
                invalid(
                    "spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"
                )
            )
        elif isinstance(new_deadline, int) and isinstance(old_deadline, int) and new_deadline > old_deadline:
            errs.append(
                invalid(
                    "spec.activeDeadlineSeconds", new_deadline, "must be less than or equal to previous value"
                )
            )
    old_tolerations = [t for t in _list(old_spec.get("tolerations")) if isinstance(t, dict)]
    new_tolerations = [t for t in _list(new_spec.get("tolerations")) if isinstance(t, dict)]
    if any(not any(_same_toleration(o, n) for n in new_tolerations) for o in old_tolerations):
        errs.append(
            forbidden(
                "spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"
            )
        )
    # Compare with the updatable fields copied over from the old spec: whatever still differs is forbidden.
    munged = dict(new_spec)
    for key in ("containers", "initContainers"):
        new_list, old_list = new_spec.get(key), old_spec.get(key)
        if isinstance(new_list, list) and isinstance(old_list, list) and len(new_list) == len(old_list):
            munged[key] = [
                {**n, "image": o.get("image")} if isinstance(n, dict) and isinstance(o, dict) else n
                for n, o in zip(new_list, old_list, strict=True)
            ]
    for key in ("activeDeadlineSeconds", "tolerations"):
        munged.pop(key, None)
        if key in old_spec:
            munged[key] = old_spec[key]
    old_grace, new_grace = (
        old_spec.get("terminationGracePeriodSeconds"),
        new_spec.get("terminationGracePeriodSeconds"),
    )
    if isinstance(old_grace, int) and old_grace < 0 and new_grace == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if munged != old_spec:
        changes: list[str] = []
        _changed_paths(old_spec, munged, "spec", changes)
        errs.append(
            forbidden(
                "spec",
                f"pod updates may not change fields other than {_UPDATABLE_POD_FIELDS}\n"
                + "\n".join(changes),
            )
        )
