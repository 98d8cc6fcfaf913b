"""A container's environment, as the kubelet makes it (makeEnvironmentVariables):

1. envFrom, in order: every key of the ConfigMap or Secret, with the prefix; a key that is not a valid variable
   name is skipped and reported (InvalidEnvironmentVariableNames); a missing object fails unless optional;
2. env, in order, each overriding what came before: a `value` with its `$(VAR)` references expanded against the
   variables so far and the service variables; or a `valueFrom` (configMapKeyRef, secretKeyRef, fieldRef,
   resourceFieldRef), not expanded; a missing key or object fails unless the reference is optional, then the
   variable is left out;
3. the service variables (KUBERNETES_SERVICE_HOST, ...) that the container did not set itself.

Values are read once, when the container is created: a later change of the ConfigMap does not reach a running
container (as in Kubernetes). ConfigError means the container is not created (CreateContainerConfigError).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kubelet.volumes.sources import ConfigError, ObjectCache, field_value, resource_value

Obj = dict[str, Any]
_VAR_REF = re.compile(r"\$\$|\$\(([^)]*)\)")


def valid_name(name: str) -> bool:
    """An env var name as the API accepts it: printable ASCII other than '='."""
    return bool(name) and all(c != "=" and " " <= c <= "~" for c in name)


def expand(text: str, *envs: dict[str, str]) -> str:
    """Replace $(NAME) with its value from the first env that has it; $$ is a literal $; an unknown reference
    stays as written (Kubernetes' expansion rules)."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        for env in envs:
            if m.group(1) in env:
                return env[m.group(1)]
        return m.group(0)

    return _VAR_REF.sub(sub, text)


POD_IP_FIELDS = ("status.podIP", "status.podIPs")


def uses_pod_ip(container: Obj) -> bool:
    """Whether the container's environment holds the pod IP (a fieldRef to status.podIP or status.podIPs)."""
    for var in container.get("env") or []:
        ref = ((var.get("valueFrom") or {}) if isinstance(var, dict) else {}).get("fieldRef") or {}
        if str(ref.get("fieldPath") or "") in POD_IP_FIELDS:
            return True
    return False


async def container_env(
    pod: Obj,
    container: Obj,
    objects: ObjectCache,
    *,
    service_env: dict[str, str],
    pod_ip: str,
    host_ip: str,
    allocatable: dict[str, str],
    warn: Callable[[str, str], None],
) -> dict[str, str]:
    """The environment of `container` (see the module doc); `warn(reason, message)` records an Event."""
    namespace = str(pod["metadata"].get("namespace") or "default")
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        source = source if isinstance(source, dict) else {}
        kind = "configMap" if source.get("configMapRef") is not None else "secret"
        ref = source.get("configMapRef") if kind == "configMap" else source.get("secretRef")
        if ref is None:
            continue
        name = str(ref.get("name") or "")
        data = await objects.data(kind, namespace, name, optional=ref.get("optional") is True)
        invalid = []
        for key, raw in (data or {}).items():
            prefixed = f"{source.get('prefix') or ''}{key}"
            if not valid_name(prefixed):
                invalid.append(prefixed)
                continue
            env[prefixed] = raw.decode(errors="replace")
        if invalid:
            what = "configMap" if kind == "configMap" else "secret"
            warn("InvalidEnvironmentVariableNames", f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom "
                 f"{what} {namespace}/{name} were skipped since they are considered invalid environment "
                 "variable names.")  # fmt: skip
    for item in container.get("env") or []:
        var: Obj = item if isinstance(item, dict) else {}
        var_name = var.get("name")
        if not isinstance(var_name, str) or not var_name:
            continue
        source = var.get("valueFrom")
        if var.get("value") or not source:
            env[var_name] = expand(str(var.get("value") or ""), env, service_env)
            continue
        value = await _value_from(pod, container, source, objects, namespace,
                                  pod_ip=pod_ip, host_ip=host_ip, allocatable=allocatable)  # fmt: skip
        if value is not None:
            env[var_name] = value
    return {**{k: v for k, v in service_env.items() if k not in env}, **env}


async def _value_from(
    pod: Obj, container: Obj, source: Obj, objects: ObjectCache, namespace: str, *,
    pod_ip: str, host_ip: str, allocatable: dict[str, str],
) -> str | None:  # fmt: skip
    """One valueFrom; None when an optional reference is missing (the variable is left out)."""
    if source.get("fieldRef") is not None:
        return field_value(pod, str((source["fieldRef"] or {}).get("fieldPath") or ""), pod_ip=pod_ip,
                           host_ip=host_ip)  # fmt: skip
    if source.get("resourceFieldRef") is not None:
        return resource_value(container, source["resourceFieldRef"] or {}, allocatable)
    for kind, field, label in (
        ("configMap", "configMapKeyRef", "ConfigMap"),
        ("secret", "secretKeyRef", "Secret"),
    ):
        ref = source.get(field)
        if ref is None:
            continue
        name, key, optional = str(ref.get("name") or ""), ref.get("key"), ref.get("optional") is True
        data = await objects.data(kind, namespace, name, optional=optional)
        if data is None:
            return None
        if key not in data:
            if optional:
                return None
            raise ConfigError(f"couldn't find key {key} in {label} {namespace}/{name}")
        return data[key].decode(errors="replace")
    raise ConfigError("valueFrom names no source")
