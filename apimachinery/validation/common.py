"""Validation building blocks: causes as Kubernetes renders them, name/label/IP syntax, quantities, typed
readers that turn malformed input into causes, and object metadata, label and selector rules."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from apimachinery.validation.network import MSG_IP, parse_cidr, parse_ip

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


# --- syntax checks (each returns the list of problems, empty when fine) ----------------------------------------


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    shown = "".join(f"{' or ' if i else ''}'{e}', " for i, e in enumerate(examples))
    return f"{msg} ({'e.g. ' + shown if examples else ''}regex used for validation is '{fmt}')"


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + "(\\." + _DNS1123_LABEL + ")*"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _QUALIFIED + ")?"
_PERCENT = "[0-9]+%"


def _full(fmt: str) -> re.Pattern[str]:
    """A pattern for `fullmatch` only: `$` would also match before a trailing newline."""
    return re.compile(fmt)


_RE_LABEL, _RE_SUBDOMAIN, _RE_1035 = _full(_DNS1123_LABEL), _full(_DNS1123_SUBDOMAIN), _full(_DNS1035_LABEL)
_RE_QUALIFIED, _RE_LABEL_VALUE, _RE_PERCENT = _full(_QUALIFIED), _full(_LABEL_VALUE), _full(_PERCENT)
_MSG_LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_MSG_SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_MSG_1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character"
)
_MSG_QUALIFIED = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
_MSG_LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_MSG_IP = MSG_IP


def is_dns1123_label(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE_LABEL.fullmatch(value):
        if _RE_SUBDOMAIN.fullmatch(value):
            errs.append("must not contain dots")
        else:
            errs.append(_regex_error(_MSG_LABEL, _DNS1123_LABEL, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = [_max_len(253)] if len(value) > 253 else []
    if not _RE_SUBDOMAIN.fullmatch(value):
        errs.append(_regex_error(_MSG_SUBDOMAIN, _DNS1123_SUBDOMAIN, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE_1035.fullmatch(value):
        errs.append(_regex_error(_MSG_1035, _DNS1035_LABEL, "my-name", "abc-123"))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """A label key, annotation key or finalizer: `name` or `dns.prefix/name`."""
    parts = value.split("/")
    errs: list[str] = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + _regex_error(_MSG_QUALIFIED, _QUALIFIED, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len(63))
    if not _RE_QUALIFIED.fullmatch(name):
        errs.append("name part " + _regex_error(_MSG_QUALIFIED, _QUALIFIED, "MyName", "my.name", "123-abc"))
    return errs


def is_label_value(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE_LABEL_VALUE.fullmatch(value):
        errs.append(_regex_error(_MSG_LABEL_VALUE, _LABEL_VALUE, "MyValue", "my_value", "12345"))
    return errs


def is_port_name(value: str) -> list[str]:
    """An IANA service name: at most 15 of [-a-z0-9], at least one letter, no leading/trailing/double hyphen."""
    errs = [_max_len(15)] if len(value) > 15 else []
    if not re.fullmatch(r"[-a-z0-9]+", value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_ip(value: Any) -> bool:
    return parse_ip(value) is not None


def is_cidr(value: Any) -> bool:
    return parse_cidr(value) is not None


# --- quantities -----------------------------------------------------------------------------------------------

QUANTITY_FORMAT = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_MSG_QUANTITY = f"quantities must match the regular expression '{QUANTITY_FORMAT}'"
_RE_QUANTITY = re.compile(QUANTITY_FORMAT[1:-1])  # used with fullmatch
_RE_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
_RE_EXPONENT = re.compile(r"[eE][-+]?\d+")
_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    **{s: Decimal(1024) ** (i + 1) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
}


def parse_quantity(value: str | int | float) -> float:
    """A Kubernetes quantity as a number: "100m" -> 0.1, "128Mi" -> 134217728, "1G" -> 1e9, "1e3" -> 1000.

    Bare numbers (as YAML gives them) are taken as they are. Raises ValueError on anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid quantity: {value!r}")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"invalid quantity: {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"invalid quantity: {value!r}")
    match = _RE_QUANTITY.fullmatch(value)
    if not match or not _RE_NUMBER.fullmatch(match.group(1)):
        raise ValueError(f"invalid quantity: {value!r}")
    number, suffix = match.groups()
    if suffix in _SUFFIXES:
        scale = _SUFFIXES[suffix]
    elif _RE_EXPONENT.fullmatch(suffix):
        scale = Decimal(10) ** int(suffix[1:])
    else:
        raise ValueError(f"invalid quantity: {value!r}")
    try:
        return float(Decimal(number) * scale)
    except (InvalidOperation, OverflowError) as exc:
        raise ValueError(f"invalid quantity: {value!r}") from exc


# --- small typed readers: malformed input becomes a cause, never an exception ----------------------------------


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _map(parent: Obj, key: str, path: str, errs: Errs) -> Obj:
    value = parent.get(key)
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
    if labels is None:
        return
    if not isinstance(labels, dict):
        errs.append(invalid(path, labels, "must be an object"))
        return
    for key, value in labels.items():
        errs.extend(invalid(path, key, m) for m in is_qualified_name(key))
        if not isinstance(value, str):
            errs.append(invalid(path, value, "must be a string"))
        else:
            errs.extend(invalid(path, value, m) for m in is_label_value(value))


def validate_annotations(annotations: Any, path: str, errs: Errs) -> None:
    if annotations is None:
        return
    if not isinstance(annotations, dict):
        errs.append(invalid(path, annotations, "must be an object"))
        return
    total = 0
    for key, value in annotations.items():
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
    name = meta.get("name")
    if not name:
        errs.append(required(f"{path}.name", "name or generateName is required"))
    elif not isinstance(name, str):
        errs.append(invalid(f"{path}.name", name, "must be a string"))
    else:
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
