"""Validation building blocks: causes as Kubernetes renders them, typed readers that turn malformed input into
causes, and object metadata, label and selector rules. Name/label/IP syntax is in `syntax`, quantities in
`quantity`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from apimachinery.validation.syntax import (
    _PERCENT,
    _RE_PERCENT,
    _regex_error,
    is_dns1123_label,
    is_label_value,
    is_port_name,
    is_qualified_name,
)

Obj = dict[str, Any]
Cause = dict[str, str]
Errs = list[Cause]


# --- causes, as field.Error renders them ----------------------------------------------------------------------


def show(value: Any) -> str:
    """A value the way Go's field errors print it (%q for strings, %#v for maps and string lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
        inner = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
        return f"map[string]string{{{inner}}}"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(json.dumps(v) for v in value) + "}"
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def _cause(reason: str, field: str, message: str) -> Cause:
    return {"reason": reason, "message": message, "field": field}


def _with(text: str, detail: str) -> str:
    return f"{text}: {detail}" if detail else text


def required(field: str, detail: str = "") -> Cause:
    return _cause("FieldValueRequired", field, _with("Required value", detail))


def invalid(field: str, value: Any, detail: str = "") -> Cause:
    return _cause("FieldValueInvalid", field, _with(f"Invalid value: {show(value)}", detail))


def not_supported(field: str, value: Any, supported: list[str]) -> Cause:
    detail = "supported values: " + ", ".join(json.dumps(v) for v in supported)
    return _cause("FieldValueNotSupported", field, f"Unsupported value: {show(value)}: {detail}")


def forbidden(field: str, detail: str) -> Cause:
    return _cause("FieldValueForbidden", field, _with("Forbidden", detail))


def duplicate(field: str, value: Any, detail: str = "") -> Cause:
    return _cause("FieldValueDuplicate", field, _with(f"Duplicate value: {show(value)}", detail))


def not_found(field: str, value: Any) -> Cause:
    return _cause("FieldValueNotFound", field, f"Not found: {show(value)}")


def too_long(field: str, max_length: int) -> Cause:
    return _cause("FieldValueTooLong", field, f"Too long: must have at most {max_length} bytes")


# --- small typed readers: malformed input becomes a cause, never an exception ----------------------------------


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _map(parent: Obj, key: str, path: str, errs: Errs) -> Obj:
    return _as_map(parent.get(key), path, errs)


def _as_map(value: Any, path: str, errs: Errs) -> Obj:
    """`value` as an object: {} for None, and (with an Invalid cause) for anything else that is not one."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        errs.append(invalid(path, value, "must be an object"))
        return {}
    return value


def _items(parent: Obj, key: str, path: str, errs: Errs) -> list[tuple[int, str, Obj]]:
    """(index, path, item) for each object in the list `parent[key]`."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        errs.append(invalid(path, value, "must be a list"))
        return []
    out = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            out.append((i, f"{path}[{i}]", item))
        else:
            errs.append(invalid(f"{path}[{i}]", item, "must be an object"))
    return out


def _int(parent: Obj, key: str, path: str, errs: Errs) -> int | None:
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errs.append(invalid(path, value, "must be an integer"))
        return None
    return value


INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def _min(parent: Obj, key: str, path: str, errs: Errs, low: int = 0, high: int = INT32_MAX) -> int | None:
    """An integer field of at least `low` (Kubernetes' "must be greater than or equal to" message) that fits its
    Go type (`high`: int32 unless told otherwise). Returns the value when it is fine."""
    value = _int(parent, key, path, errs)
    if value is None:
        return None
    if value < low:
        errs.append(invalid(path, value, f"must be greater than or equal to {low}"))
        return None
    if value > high:
        errs.append(invalid(path, value, f"must be less than or equal to {high}"))
        return None
    return value


def int_or_percent(
    value: Any, path: str, errs: Errs, *, at_most_100: bool = False, show_regex: bool = True
) -> float | None:
    """An IntOrString like maxSurge: a non-negative integer, or "N%" (at most 100% with `at_most_100`); the number
    or the percentage, None when it is neither. `show_regex`: the percent message names the regex, as upstream
    (the DaemonSet's does not, yet)."""
    if isinstance(value, str):
        if not _RE_PERCENT.fullmatch(value):
            msg = "a valid percent string must be a numeric string followed by an ending '%'"
            errs.append(invalid(path, value, _regex_error(msg, _PERCENT, "1%", "93%") if show_regex else msg))
            return None
        percent = float(value[:-1])
        if at_most_100 and percent > 100:
            errs.append(invalid(path, value, "must not be greater than 100%"))
        return percent
    if isinstance(value, bool) or not isinstance(value, int):
        errs.append(invalid(path, value, "must be an integer or percentage (e.g '5%')"))
        return None
    if value < 0:
        errs.append(invalid(path, value, "must be greater than or equal to 0"))
    return float(value)


def check_int(value: Any, path: str, errs: Errs, low: int = 0, high: int = INT32_MAX) -> int | None:
    """`value` as an integer field at `path` (int32 unless told otherwise, at least `low`); None and a cause when
    it is not one."""
    return _min({"v": value}, "v", path, errs, low, high)


def _in_range(value: Any, path: str, errs: Errs, low: int, high: int) -> bool:
    """Kubernetes' IsInRange wording for an integer that must lie in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        errs.append(invalid(path, value, "must be an integer"))
        return False
    if not low <= value <= high:
        errs.append(invalid(path, value, f"must be between {low} and {high}, inclusive"))
        return False
    return True


def local_descending_path_errors(value: str) -> list[str]:
    """Kubernetes' validateLocalDescendingPath (subPath, projected paths): relative, no `..` element."""
    errs = []
    if value.startswith("/"):
        errs.append("must be a relative path")
    if ".." in value.split("/"):
        errs.append("must not contain '..'")
    return errs


def required_enum(parent: Obj, key: str, path: str, allowed: list[str], errs: Errs, detail: str = "") -> Any:
    """A field that must be one of `allowed`: its value, or None and a cause (required when it is empty)."""
    value = parent.get(key)
    if not value:
        errs.append(required(path, detail))
        return None
    if value not in allowed:
        errs.append(not_supported(path, value, allowed))
        return None
    return value


def required_string(parent: Obj, key: str, path: str, errs: Errs, detail: str = "") -> str | None:
    """`parent[key]` when it is a non-empty string; otherwise a Required or Invalid cause, and None."""
    value = parent.get(key)
    if not value:
        errs.append(required(path, detail))
    elif not isinstance(value, str):
        errs.append(invalid(path, value, "must be a string"))
    else:
        return value
    return None


def _enum(parent: Obj, key: str, path: str, allowed: list[str], errs: Errs) -> None:
    value = parent.get(key)
    if value is not None and value not in allowed:
        errs.append(not_supported(path, value, allowed))


def _port_number(value: Any, path: str, errs: Errs) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        errs.append(invalid(path, value, "must be between 1 and 65535, inclusive"))


def _int_or_port_name(value: Any, path: str, errs: Errs) -> None:
    if isinstance(value, str):
        errs.extend(invalid(path, value, m) for m in is_port_name(value))
    else:
        _port_number(value, path, errs)


# --- metadata, labels, selectors ------------------------------------------------------------------------------

NameCheck = Callable[[str], list[str]]


def validate_labels(labels: Any, path: str, errs: Errs) -> None:
    for key, value in _as_map(labels, path, errs).items():
        errs.extend(invalid(path, key, m) for m in is_qualified_name(key))
        if not isinstance(value, str):
            errs.append(invalid(path, value, "must be a string"))
        else:
            errs.extend(invalid(path, value, m) for m in is_label_value(value))


def validate_annotations(annotations: Any, path: str, errs: Errs) -> None:
    total = 0
    for key, value in _as_map(annotations, path, errs).items():
        errs.extend(invalid(path, key, m) for m in is_qualified_name(key.lower()))
        if not isinstance(value, str):
            errs.append(invalid(path, value, "must be a string"))
        total += len(key) + len(str(value))
    if total > 256 * 1024:
        errs.append(too_long(path, 256 * 1024))


def validate_object_meta(
    meta: Obj, path: str, name_check: NameCheck, namespaced: bool | None, errs: Errs
) -> None:
    """Name (or generateName), namespace vs scope, labels, annotations, owner references, finalizers."""
    generate_name = meta.get("generateName")
    if generate_name and not isinstance(generate_name, str):
        errs.append(invalid(f"{path}.generateName", generate_name, "must be a string"))
    elif generate_name:
        # A trailing '-' is fine in a prefix: random characters follow it.
        masked = generate_name[:-1] + "a" if generate_name.endswith("-") else generate_name
        errs.extend(invalid(f"{path}.generateName", generate_name, m) for m in name_check(masked))
    name = required_string(meta, "name", f"{path}.name", errs, "name or generateName is required")
    if name is not None:
        errs.extend(invalid(f"{path}.name", name, m) for m in name_check(name))
    namespace = meta.get("namespace")
    if namespaced is True:
        if not namespace:
            errs.append(required(f"{path}.namespace", ""))
        else:
            errs.extend(invalid(f"{path}.namespace", namespace, m) for m in is_dns1123_label(str(namespace)))
    elif namespaced is False and namespace:
        errs.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    _min(meta, "generation", f"{path}.generation", errs, high=INT64_MAX)
    validate_labels(meta.get("labels"), f"{path}.labels", errs)
    validate_annotations(meta.get("annotations"), f"{path}.annotations", errs)
    controllers = 0
    for _, ref_path, ref in _items(meta, "ownerReferences", f"{path}.ownerReferences", errs):
        for key, what in (("apiVersion", "version"), ("kind", "kind"), ("name", "name"), ("uid", "uid")):
            if not ref.get(key):
                errs.append(required(f"{ref_path}.{key}", f"{what} must not be empty"))
        controllers += ref.get("controller") is True
    if controllers > 1:
        errs.append(
            invalid(
                f"{path}.ownerReferences",
                meta["ownerReferences"],
                "Only one reference can have Controller set to true",
            )
        )
    finalizers = meta.get("finalizers")
    if finalizers is not None and not isinstance(finalizers, list):
        errs.append(invalid(f"{path}.finalizers", finalizers, "must be a list"))
    elif finalizers:
        for finalizer in finalizers:
            errs.extend(
                invalid(f"{path}.finalizers", finalizer, m) for m in is_qualified_name(str(finalizer))
            )


def validate_object_meta_update(new: Obj, old: Obj, path: str, errs: Errs) -> None:
    for key in ("name", "namespace"):
        if (new.get(key) or "") != (old.get(key) or ""):
            errs.append(invalid(f"{path}.{key}", new.get(key) or "", "field is immutable"))
    # A client may leave uid out of an update (the server keeps the stored one); it may not change it.
    if new.get("uid") and old.get("uid") and new["uid"] != old["uid"]:
        errs.append(invalid(f"{path}.uid", new["uid"], "field is immutable"))


def validate_label_selector(selector: Obj, path: str, errs: Errs) -> None:
    validate_labels(selector.get("matchLabels"), f"{path}.matchLabels", errs)
    for _, req_path, req in _items(selector, "matchExpressions", f"{path}.matchExpressions", errs):
        operator, values = req.get("operator"), req.get("values") or []
        if operator in ("In", "NotIn"):
            if not values:
                errs.append(
                    required(f"{req_path}.values", "must be specified when `operator` is 'In' or 'NotIn'")
                )
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                errs.append(
                    forbidden(
                        f"{req_path}.values",
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            errs.append(invalid(f"{req_path}.operator", operator, "not a valid selector operator"))
        errs.extend(
            invalid(f"{req_path}.key", req.get("key"), m)
            for m in is_qualified_name(str(req.get("key") or ""))
        )
        for j, value in enumerate(values if isinstance(values, list) else []):
            errs.extend(invalid(f"{req_path}.values[{j}]", value, m) for m in is_label_value(str(value)))


def selector_matches(selector: Obj, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector (matchLabels + matchExpressions) selects `labels`."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for req in selector.get("matchExpressions") or []:
        key, operator, values = req.get("key"), req.get("operator"), req.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True
