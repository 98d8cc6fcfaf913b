"""Validation of what brings configuration into pods, with Kubernetes' paths and messages: the configMap, secret,
downwardAPI and projected volume sources (items, paths, modes), env valueFrom and envFrom, and the keys of
ConfigMaps and Secrets themselves (a key becomes a file name in a volume without items).

Item paths reach the node's filesystem: they must be relative, without a `..` element, and not start with `..`
(the kubelet's own names); the kubelet checks them again where it writes (kubelet/volumes/atomic.py).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from apimachinery.validation.common import (
    Errs,
    Obj,
    _items,
    _map,
    forbidden,
    invalid,
    local_descending_path_errors,
    not_supported,
    required,
    required_enum,
)
from apimachinery.validation.syntax import _regex_error, is_dns1123_subdomain, is_qualified_name

MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive"
VOLUME_FIELD_PATHS = ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
                      "metadata.uid"]  # fmt: skip
RESOURCE_FIELDS = ["limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu",
                   "requests.ephemeral-storage", "requests.memory"]  # fmt: skip
_CPU_DIVISORS = {"1m": "1m", "1": "1"}
_MEMORY_DIVISORS = ["1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"]
_CONFIG_KEY = "[-._a-zA-Z0-9]+"
_RE_CONFIG_KEY = re.compile(_CONFIG_KEY)
_RE_KEYED = re.compile(r"metadata\.(labels|annotations)\['(.*)'\]")
MAX_DATA = 1024 * 1024


def is_config_map_key(value: str) -> list[str]:
    errs = ["must be no more than 253 characters"] if len(value) > 253 else []
    if not _RE_CONFIG_KEY.fullmatch(value):
        errs.append(_regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                                 _CONFIG_KEY, "key.name", "KEY_NAME", "key-name"))  # fmt: skip
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def local_non_reserved_path(value: Any, path: str, errs: Errs) -> None:
    """Kubernetes' ValidateLocalNonReservedPath: relative, no `..` element, not starting with `..`."""
    if not isinstance(value, str):
        errs.append(invalid(path, value, "must be a string"))
        return
    errs.extend(invalid(path, value, m) for m in local_descending_path_errors(value))
    if "\0" in value:
        errs.append(invalid(path, value, "must not contain a NUL character"))
    if value.startswith("..") and not value.startswith("../"):
        errs.append(invalid(path, value, "must not start with '..'"))


def _mode(parent: Obj, key: str, path: str, errs: Errs) -> None:
    value = parent.get(key)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0o777
    ):
        errs.append(invalid(path, value, MODE_ERROR))


def _key_to_paths(source: Obj, path: str, errs: Errs) -> list[str]:
    """validateKeyToPath for each item; returns the item paths."""
    paths = []
    for _, item_path, item in _items(source, "items", f"{path}.items", errs):
        if not item.get("key"):
            errs.append(required(f"{item_path}.key", ""))
        if not item.get("path"):
            errs.append(required(f"{item_path}.path", ""))
        else:
            local_non_reserved_path(item["path"], f"{item_path}.path", errs)
            paths.append(str(item["path"]))
        _mode(item, "mode", f"{item_path}.mode", errs)
    return paths


def _field_selector(ref: Obj, path: str, allowed: list[str], errs: Errs) -> None:
    field_path = ref.get("fieldPath")
    if not field_path:
        errs.append(required(f"{path}.fieldPath", ""))
        return
    match = _RE_KEYED.fullmatch(str(field_path))
    if match:
        errs.extend(invalid(path, match.group(2), m) for m in is_qualified_name(match.group(2)))
    elif field_path not in allowed:
        errs.append(not_supported(f"{path}.fieldPath", field_path, allowed))


def resource_selector(ref: Obj, path: str, errs: Errs, *, volume: bool) -> None:
    if volume and not ref.get("containerName"):
        errs.append(required(f"{path}.containerName", ""))
    resource = required_enum(ref, "resource", f"{path}.resource", RESOURCE_FIELDS, errs)
    if resource is None:
        return
    divisor = ref.get("divisor")
    if divisor is None:
        return
    if str(resource).endswith(".cpu") and str(divisor) not in _CPU_DIVISORS:
        errs.append(invalid(f"{path}.divisor", divisor,
                            "only divisor's values 1m and 1 are supported with the cpu resource"))  # fmt: skip
    elif not str(resource).endswith(".cpu") and str(divisor) not in _MEMORY_DIVISORS:
        kind = "memory" if str(resource).endswith(".memory") else "local ephemeral storage"
        errs.append(invalid(f"{path}.divisor", divisor, "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, "
                            f"1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the {kind} resource"))  # fmt: skip


def _downward_files(source: Obj, path: str, errs: Errs) -> list[str]:
    """validateDownwardAPIVolumeFile for each item (Kubernetes reports these without the item's index)."""
    paths = []
    for _, _, item in _items(source, "items", f"{path}.items", errs):
        if not item.get("path"):
            errs.append(required(f"{path}.path", ""))
        else:
            local_non_reserved_path(item["path"], f"{path}.path", errs)
            paths.append(str(item["path"]))
        if item.get("fieldRef") is not None:
            _field_selector(_map(item, "fieldRef", f"{path}.fieldRef", errs), f"{path}.fieldRef",
                            VOLUME_FIELD_PATHS, errs)  # fmt: skip
            if item.get("resourceFieldRef") is not None:
                errs.append(
                    invalid(
                        path, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"
                    )
                )
        elif item.get("resourceFieldRef") is not None:
            ref = _map(item, "resourceFieldRef", f"{path}.resourceFieldRef", errs)
            resource_selector(ref, f"{path}.resourceFieldRef", errs, volume=True)
        else:
            errs.append(required(path, "one of fieldRef and resourceFieldRef is required"))
        _mode(item, "mode", f"{path}.mode", errs)
    return paths


def validate_config_volume(volume: Obj, path: str, errs: Errs) -> None:
    """The configMap, secret, downwardAPI or projected source of one volume (nothing when it has none)."""
    for kind, name_key in (("configMap", "name"), ("secret", "secretName")):
        if volume.get(kind) is not None:
            source = _map(volume, kind, f"{path}.{kind}", errs)
            if not source.get(name_key):
                errs.append(required(f"{path}.{kind}.{name_key}", ""))
            _mode(source, "defaultMode", f"{path}.{kind}.defaultMode", errs)
            _key_to_paths(source, f"{path}.{kind}", errs)
    if volume.get("downwardAPI") is not None:
        source = _map(volume, "downwardAPI", f"{path}.downwardAPI", errs)
        _mode(source, "defaultMode", f"{path}.downwardAPI.defaultMode", errs)
        _downward_files(source, f"{path}.downwardAPI", errs)
    if volume.get("projected") is not None:
        source = _map(volume, "projected", f"{path}.projected", errs)
        _mode(source, "defaultMode", f"{path}.projected.defaultMode", errs)
        _projection_sources(source, f"{path}.projected", errs)


def _projection_sources(projected: Obj, path: str, errs: Errs) -> None:
    seen: set[str] = set()

    def unique(paths: list[str], shown: Any) -> None:
        for p in paths:
            if p in seen:
                errs.append(invalid(path, shown, "conflicting duplicate paths"))
            seen.add(p)

    for _, src_path, source in _items(projected, "sources", f"{path}.sources", errs):
        kinds = [k for k in ("secret", "downwardAPI", "configMap", "serviceAccountToken", "clusterTrustBundle")
                 if source.get(k) is not None]  # fmt: skip
        for kind in ("secret", "configMap"):
            if source.get(kind) is not None:
                ref = _map(source, kind, f"{src_path}.{kind}", errs)
                if not ref.get("name"):
                    errs.append(required(f"{src_path}.{kind}.name", ""))
                unique(_key_to_paths(ref, f"{src_path}.{kind}", errs), ref.get("name"))
        if source.get("downwardAPI") is not None:
            for p in _downward_files(_map(source, "downwardAPI", f"{src_path}.downwardAPI", errs),
                                     f"{src_path}.downwardAPI", errs):  # fmt: skip
                unique([p], p)
        if source.get("serviceAccountToken") is not None:
            token = _map(source, "serviceAccountToken", f"{src_path}.serviceAccountToken", errs)
            seconds = token.get("expirationSeconds")
            tpath = f"{src_path}.serviceAccountToken"
            if isinstance(seconds, int) and seconds < 600:
                errs.append(
                    invalid(
                        f"{tpath}.expirationSeconds",
                        seconds,
                        "may not specify a duration less than 10 minutes",
                    )
                )
            elif isinstance(seconds, int) and seconds > 2**32:
                errs.append(
                    invalid(
                        f"{tpath}.expirationSeconds",
                        seconds,
                        "may not specify a duration larger than 2^32 seconds",
                    )
                )
            if not token.get("path"):
                errs.append(required(f"{path}.path", ""))
            else:
                local_non_reserved_path(token["path"], f"{tpath}.path", errs)
                unique([str(token["path"])], token["path"])
        if source.get("clusterTrustBundle") is not None:
            errs.append(forbidden(f"{src_path}.clusterTrustBundle", "not supported by this cluster"))
        if len(kinds) > 1:
            errs.append(forbidden(src_path, "may not specify more than 1 volume type per source"))


def _name_and_key(ref: Obj, path: str, errs: Errs) -> None:
    """validateConfigMapKeySelector / validateSecretKeySelector."""
    errs.extend(
        invalid(f"{path}.name", ref.get("name", ""), m)
        for m in is_dns1123_subdomain(str(ref.get("name") or ""))
    )
    key = ref.get("key")
    if not key:
        errs.append(required(f"{path}.key", ""))
    else:
        errs.extend(invalid(f"{path}.key", key, m) for m in is_config_map_key(str(key)))


def validate_value_from(env: Obj, path: str, field_paths: list[str], errs: Errs) -> None:
    """One env var's valueFrom: exactly one source, and no `value` beside it (validateEnvVarValueFrom)."""
    if env.get("valueFrom") is None:
        return
    value_from = _map(env, "valueFrom", f"{path}.valueFrom", errs)
    vpath = f"{path}.valueFrom"
    count = 0
    if value_from.get("fieldRef") is not None:
        count += 1
        _field_selector(_map(value_from, "fieldRef", f"{vpath}.fieldRef", errs), f"{vpath}.fieldRef", field_paths,
                        errs)  # fmt: skip
    if value_from.get("resourceFieldRef") is not None:
        count += 1
        ref = _map(value_from, "resourceFieldRef", f"{vpath}.resourceFieldRef", errs)
        resource_selector(ref, f"{vpath}.resourceFieldRef", errs, volume=False)
    for kind in ("configMapKeyRef", "secretKeyRef"):
        if value_from.get(kind) is not None:
            count += 1
            _name_and_key(_map(value_from, kind, f"{vpath}.{kind}", errs), f"{vpath}.{kind}", errs)
    if count == 0:
        errs.append(invalid(vpath, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or "
                            "`secretKeyRef`"))  # fmt: skip
    elif env.get("value"):
        errs.append(invalid(vpath, "", "may not be specified when `value` is not empty"))
    elif count > 1:
        errs.append(invalid(vpath, "", "may not have more than one field specified at a time"))


def validate_env_from(container: Obj, path: str, errs: Errs) -> None:
    for _, item_path, source in _items(container, "envFrom", f"{path}.envFrom", errs):
        prefix = source.get("prefix")
        if prefix and (not isinstance(prefix, str) or any(c == "=" or not " " <= c <= "~" for c in prefix)):
            errs.append(invalid(f"{item_path}.prefix", prefix, "a valid environment variable name must consist "
                                "only of printable ASCII characters other than '='"))  # fmt: skip
        kinds = [k for k in ("configMapRef", "secretRef") if source.get(k) is not None]
        for kind in kinds:
            ref = _map(source, kind, f"{item_path}.{kind}", errs)
            if not ref.get("name"):
                errs.append(required(f"{item_path}.{kind}.name", ""))
            else:
                errs.extend(invalid(f"{item_path}.{kind}.name", ref["name"], m)
                            for m in is_dns1123_subdomain(str(ref["name"])))  # fmt: skip
        if not kinds:
            errs.append(invalid(f"{path}.envFrom", "", "must specify one of: `configMapRef` or `secretRef`"))
        elif len(kinds) > 1:
            errs.append(forbidden(item_path, "may not have more than one field specified at a time"))


# --- ConfigMaps and Secrets -----------------------------------------------------------------------------------


def validate_config_map(obj: Obj, errs: Errs) -> None:
    size = 0
    data = _map(obj, "data", "data", errs)
    binary = _map(obj, "binaryData", "binaryData", errs)
    for key, value in data.items():
        errs.extend(invalid(f"data[{key}]", key, m) for m in is_config_map_key(str(key)))
        if key in binary:
            errs.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
        if not isinstance(value, str):
            errs.append(invalid(f"data[{key}]", value, "must be a string"))
        size += len(str(value).encode())
    for key, value in binary.items():
        errs.extend(invalid(f"binaryData[{key}]", key, m) for m in is_config_map_key(str(key)))
        size += len(str(value)) * 3 // 4
    if size > MAX_DATA:
        errs.append({"reason": "FieldValueTooLong", "field": "",
                     "message": f"Too long: must have at most {MAX_DATA} bytes"})  # fmt: skip


def validate_secret(obj: Obj, errs: Errs) -> None:
    size = 0
    for key, value in _map(obj, "data", "data", errs).items():
        errs.extend(invalid(f"data[{key}]", key, m) for m in is_config_map_key(str(key)))
        try:
            size += len(base64.b64decode(str(value or ""), validate=True))
        except (binascii.Error, ValueError):
            errs.append(invalid(f"data[{key}]", "<secret contents redacted>", "must be base64-encoded"))
    for key in _map(obj, "stringData", "stringData", errs):
        errs.extend(invalid(f"stringData[{key}]", key, m) for m in is_config_map_key(str(key)))
    if size > MAX_DATA:
        errs.append({"reason": "FieldValueTooLong", "field": "data",
                     "message": f"Too long: must have at most {MAX_DATA} bytes"})  # fmt: skip


def validate_immutable_data(new: Obj, old: Obj, errs: Errs) -> None:
    """An `immutable` ConfigMap or Secret keeps its data (and stays immutable)."""
    if old.get("immutable") is not True:
        return
    if new.get("immutable") is not True:
        errs.append(forbidden("immutable", "field is immutable when `immutable` is set"))
    for key in ("data", "binaryData"):
        if (new.get(key) or {}) != (old.get(key) or {}):
            errs.append(forbidden(key, "field is immutable when `immutable` is set"))


CONFIG_KINDS = {
    ("", "ConfigMap"): (is_dns1123_subdomain, validate_config_map, validate_immutable_data),
    ("", "Secret"): (is_dns1123_subdomain, validate_secret, validate_immutable_data),
}
