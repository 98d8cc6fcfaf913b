"""Validation: what the API server rejects with 422 Invalid, with Kubernetes' field paths and messages.

`validate(obj, old=None)` returns a list of causes, empty when the object is valid:

    {"reason": "FieldValueInvalid", "message": 'Invalid value: "Bad_Pod": a lowercase RFC 1123 ...',
     "field": "metadata.name"}

Messages are what Kubernetes' `field.Error.ErrorBody()` prints, so kubectl shows the familiar
`* spec.containers[0].image: Required value`. `old` switches on the update rules (immutable fields). Validation
runs after defaulting, as in the API server; a defaulted field that is missing is not reported.

Also here: the name and label syntax checks (`is_dns1123_label`, ...) and `parse_quantity`, which other components
use to read resource amounts.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from apimachinery.resources import by_kind

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
    return re.compile(f"^{fmt}$")


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
_MSG_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def is_dns1123_label(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE_LABEL.match(value):
        if _RE_SUBDOMAIN.match(value):
            errs.append("must not contain dots")
        else:
            errs.append(_regex_error(_MSG_LABEL, _DNS1123_LABEL, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = [_max_len(253)] if len(value) > 253 else []
    if not _RE_SUBDOMAIN.match(value):
        errs.append(_regex_error(_MSG_SUBDOMAIN, _DNS1123_SUBDOMAIN, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE_1035.match(value):
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
    if not _RE_QUALIFIED.match(name):
        errs.append("name part " + _regex_error(_MSG_QUALIFIED, _QUALIFIED, "MyName", "my.name", "123-abc"))
    return errs


def is_label_value(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE_LABEL_VALUE.match(value):
        errs.append(_regex_error(_MSG_LABEL_VALUE, _LABEL_VALUE, "MyValue", "my_value", "12345"))
    return errs


def is_port_name(value: str) -> list[str]:
    """An IANA service name: at most 15 of [-a-z0-9], at least one letter, no leading/trailing/double hyphen."""
    errs = [_max_len(15)] if len(value) > 15 else []
    if not re.match(r"^[-a-z0-9]+$", value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return isinstance(value, str)


def is_cidr(value: Any) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except (ValueError, TypeError):
        return False
    return isinstance(value, str) and "/" in value


# --- quantities -----------------------------------------------------------------------------------------------

QUANTITY_FORMAT = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_MSG_QUANTITY = f"quantities must match the regular expression '{QUANTITY_FORMAT}'"
_RE_QUANTITY = re.compile(QUANTITY_FORMAT)
_RE_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")
_RE_EXPONENT = re.compile(r"^[eE][-+]?\d+$")
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
    match = _RE_QUANTITY.match(value)
    if not match or not _RE_NUMBER.match(match.group(1)):
        raise ValueError(f"invalid quantity: {value!r}")
    number, suffix = match.groups()
    if suffix in _SUFFIXES:
        scale = _SUFFIXES[suffix]
    elif _RE_EXPONENT.match(suffix):
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


def _min(parent: Obj, key: str, path: str, errs: Errs, low: int = 0) -> None:
    value = _int(parent, key, path, errs)
    if value is not None and value < low:
        errs.append(invalid(path, value, f"must be greater than or equal to {low}"))


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
    _min(meta, "generation", f"{path}.generation", errs)
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
_RE_FIELD_REF_KEYED = re.compile(r"^metadata\.(labels|annotations)\['[^']+'\]$")
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
            if not host_path.get("path"):
                errs.append(required(f"{vol_path}.hostPath.path", ""))
            _enum(host_path, "type", f"{vol_path}.hostPath.type", HOST_PATH_TYPES, errs)
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
        value_from = _map(env, "valueFrom", f"{env_path}.valueFrom", errs)
        if "valueFrom" in env and env.get("value"):
            errs.append(
                invalid(f"{env_path}.valueFrom", "", "may not be specified when `value` is not empty")
            )
        if "fieldRef" in value_from:
            field_ref = _map(value_from, "fieldRef", f"{env_path}.valueFrom.fieldRef", errs)
            field_path = field_ref.get("fieldPath")
            ref_path = f"{env_path}.valueFrom.fieldRef.fieldPath"
            if not field_path:
                errs.append(required(ref_path, ""))
            elif field_path not in FIELD_REF_PATHS and not _RE_FIELD_REF_KEYED.match(str(field_path)):
                errs.append(not_supported(ref_path, field_path, FIELD_REF_PATHS))


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
        name = port.get("name")
        if name:
            errs.extend(invalid(f"{port_path}.name", name, m) for m in is_port_name(str(name)))
            if str(name) in port_names:
                errs.append(duplicate(f"{port_path}.name", name))
            port_names.add(str(name))
    _validate_env(container, path, errs)
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
            name = container.get("name")
            if name:
                errs.extend(invalid(f"{c_path}.name", name, m) for m in is_dns1123_label(str(name)))
                if str(name) in names:
                    errs.append(duplicate(f"{c_path}.name", name))
                names.add(str(name))
            _validate_container(container, c_path, volumes, port_names, errs, init=init)
    _enum(spec, "restartPolicy", f"{path}.restartPolicy", RESTART_POLICIES, errs)
    _enum(spec, "dnsPolicy", f"{path}.dnsPolicy", DNS_POLICIES, errs)
    _min(spec, "terminationGracePeriodSeconds", f"{path}.terminationGracePeriodSeconds", errs, low=-(2**63))
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


# --- services, endpoints --------------------------------------------------------------------------------------

SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]


def _validate_service(service: Obj, errs: Errs) -> None:
    spec = _map(service, "spec", "spec", errs)
    service_type = spec.get("type") or "ClusterIP"
    _enum(spec, "type", "spec.type", SERVICE_TYPES, errs)
    cluster_ip = spec.get("clusterIP") or ""
    if service_type == "ExternalName":
        external_name = spec.get("externalName")
        if not external_name:
            errs.append(required("spec.externalName", ""))
        else:
            errs.extend(
                invalid("spec.externalName", external_name, m)
                for m in is_dns1123_subdomain(str(external_name))
            )
    elif cluster_ip != "None" and not spec.get("ports"):
        errs.append(required("spec.ports", ""))
    if cluster_ip == "None" and service_type in ("NodePort", "LoadBalancer"):
        errs.append(
            invalid("spec.clusterIP", cluster_ip, f"may not be set to 'None' for {service_type} services")
        )
    elif cluster_ip not in ("", "None") and not is_ip(cluster_ip):
        errs.append(invalid("spec.clusterIP", cluster_ip, _MSG_IP))
    ports = _items(spec, "ports", "spec.ports", errs)
    names: set[str] = set()
    keys: set[tuple[str, str]] = set()
    for _, port_path, port in ports:
        _port_name(port.get("name"), f"{port_path}.name", len(ports) > 1, names, errs)
        _port_number(port.get("port"), f"{port_path}.port", errs)
        _enum(port, "protocol", f"{port_path}.protocol", PROTOCOLS, errs)
        if port.get("targetPort") not in (None, 0, ""):
            _int_or_port_name(port["targetPort"], f"{port_path}.targetPort", errs)
        if port.get("nodePort") not in (None, 0):
            if service_type == "ClusterIP":
                errs.append(forbidden(f"{port_path}.nodePort", "may not be used when `type` is 'ClusterIP'"))
            else:
                _port_number(port["nodePort"], f"{port_path}.nodePort", errs)
        key = (str(port.get("port")), str(port.get("protocol") or "TCP"))
        if key in keys:
            errs.append(duplicate(port_path, f"{key[0]}/{key[1]}"))
        keys.add(key)
    validate_labels(spec.get("selector"), "spec.selector", errs)
    _enum(spec, "sessionAffinity", "spec.sessionAffinity", ["ClientIP", "None"], errs)
    _enum(spec, "externalTrafficPolicy", "spec.externalTrafficPolicy", ["Cluster", "Local"], errs)
    _enum(spec, "internalTrafficPolicy", "spec.internalTrafficPolicy", ["Cluster", "Local"], errs)
    external_ips = spec.get("externalIPs")
    for i, ip in enumerate(external_ips if isinstance(external_ips, list) else []):
        if not is_ip(ip):
            errs.append(invalid(f"spec.externalIPs[{i}]", ip, _MSG_IP))


def _port_name(name: Any, path: str, needed: bool, seen: set[str], errs: Errs) -> None:
    """A Service or Endpoints port's name: required when `needed` (the list has several ports), else optional; a
    DNS-1123 label, unique among `seen` (which it joins)."""
    if not name:
        if needed:
            errs.append(required(path, ""))
        return
    errs.extend(invalid(path, name, m) for m in is_dns1123_label(str(name)))
    if str(name) in seen:
        errs.append(duplicate(path, name))
    seen.add(str(name))


def _validate_service_update(new: Obj, old: Obj, errs: Errs) -> None:
    new_spec, old_spec = _dict(new.get("spec")), _dict(old.get("spec"))
    old_ip = old_spec.get("clusterIP") or ""
    if old_ip and new_spec.get("type") != "ExternalName" and (new_spec.get("clusterIP") or "") != old_ip:
        errs.append(invalid("spec.clusterIP", new_spec.get("clusterIP") or "", "field is immutable"))


def _validate_endpoints(endpoints: Obj, errs: Errs) -> None:
    for _, subset_path, subset in _items(endpoints, "subsets", "subsets", errs):
        if not subset.get("addresses") and not subset.get("notReadyAddresses"):
            errs.append(required(subset_path, "must specify `addresses` or `notReadyAddresses`"))
        for key in ("addresses", "notReadyAddresses"):
            for _, addr_path, address in _items(subset, key, f"{subset_path}.{key}", errs):
                if not address.get("ip"):
                    errs.append(required(f"{addr_path}.ip", ""))
                elif not is_ip(address["ip"]):
                    errs.append(invalid(f"{addr_path}.ip", address["ip"], _MSG_IP))
                if address.get("nodeName"):
                    node_name = str(address["nodeName"])
                    errs.extend(
                        invalid(f"{addr_path}.nodeName", node_name, m)
                        for m in is_dns1123_subdomain(node_name)
                    )
        ports = _items(subset, "ports", f"{subset_path}.ports", errs)
        names: set[str] = set()
        for _, port_path, port in ports:
            _port_name(port.get("name"), f"{port_path}.name", len(ports) > 1, names, errs)
            _port_number(port.get("port"), f"{port_path}.port", errs)
            _enum(port, "protocol", f"{port_path}.protocol", PROTOCOLS, errs)


# --- apps -----------------------------------------------------------------------------------------------------


def _validate_workload(obj: Obj, errs: Errs) -> None:
    """What Deployments and ReplicaSets share: replicas, selector, and a template the selector selects."""
    spec = _map(obj, "spec", "spec", errs)
    _min(spec, "replicas", "spec.replicas", errs)
    _min(spec, "minReadySeconds", "spec.minReadySeconds", errs)
    selector = spec.get("selector")
    if selector is None:
        errs.append(required("spec.selector", ""))
    elif not isinstance(selector, dict):
        errs.append(invalid("spec.selector", selector, "must be an object"))
        selector = None
    elif not selector.get("matchLabels") and not selector.get("matchExpressions"):
        errs.append(invalid("spec.selector", selector, "empty selector is invalid for deployment"))
        selector = None
    else:
        before = len(errs)
        validate_label_selector(selector, "spec.selector", errs)
        if len(errs) > before:
            selector = (
                None  # an invalid selector cannot be matched against the template (nor is it, upstream)
            )
    if spec.get("template") is None:
        errs.append(required("spec.template", ""))
        return
    template = _map(spec, "template", "spec.template", errs)
    meta = _map(template, "metadata", "spec.template.metadata", errs)
    labels = meta.get("labels")
    validate_labels(labels, "spec.template.metadata.labels", errs)
    validate_annotations(meta.get("annotations"), "spec.template.metadata.annotations", errs)
    if (
        selector is not None
        and isinstance(labels or {}, dict)
        and not selector_matches(selector, labels or {})
    ):
        errs.append(
            invalid(
                "spec.template.metadata.labels", labels or {}, "`selector` does not match template `labels`"
            )
        )
    pod_spec = _map(template, "spec", "spec.template.spec", errs)
    validate_pod_spec(pod_spec, "spec.template.spec", errs)
    restart = pod_spec.get("restartPolicy")
    if restart is not None and restart != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        errs.append(
            forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in ReplicaSet is not Supported",
            )
        )


def _int_or_percent(value: Any, path: str, errs: Errs) -> float | None:
    """An IntOrString like maxSurge: a non-negative int, or "N%" (returned as the percentage)."""
    if isinstance(value, str):
        if not _RE_PERCENT.match(value):
            msg = "a valid percent string must be a numeric string followed by an ending '%'"
            errs.append(invalid(path, value, _regex_error(msg, _PERCENT, "1%", "93%")))
            return None
        return float(value[:-1])
    if isinstance(value, bool) or not isinstance(value, int):
        errs.append(invalid(path, value, "must be an integer or percentage (e.g '5%')"))
        return None
    if value < 0:
        errs.append(invalid(path, value, "must be greater than or equal to 0"))
    return float(value)


def _validate_deployment(deployment: Obj, errs: Errs) -> None:
    _validate_workload(deployment, errs)
    spec = _map(deployment, "spec", "spec", errs)
    strategy = _map(spec, "strategy", "spec.strategy", errs)
    _enum(strategy, "type", "spec.strategy.type", ["Recreate", "RollingUpdate"], errs)
    if strategy.get("type") == "Recreate" and strategy.get("rollingUpdate") is not None:
        errs.append(
            forbidden(
                "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"
            )
        )
    rolling = _map(strategy, "rollingUpdate", "spec.strategy.rollingUpdate", errs)
    if rolling:
        path = "spec.strategy.rollingUpdate"
        surge = _int_or_percent(rolling.get("maxSurge", 0), f"{path}.maxSurge", errs)
        unavailable = _int_or_percent(rolling.get("maxUnavailable", 0), f"{path}.maxUnavailable", errs)
        if unavailable == 0 and surge == 0:
            errs.append(
                invalid(
                    f"{path}.maxUnavailable",
                    rolling.get("maxUnavailable", 0),
                    "may not be 0 when `maxSurge` is 0",
                )
            )
        if isinstance(rolling.get("maxUnavailable"), str) and unavailable is not None and unavailable > 100:
            errs.append(
                invalid(f"{path}.maxUnavailable", rolling["maxUnavailable"], "must not be greater than 100%")
            )
    _min(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", errs)
    deadline = _int(spec, "progressDeadlineSeconds", "spec.progressDeadlineSeconds", errs)
    min_ready = spec.get("minReadySeconds")
    min_ready = min_ready if isinstance(min_ready, int) else 0
    if deadline is not None and deadline <= min_ready:
        errs.append(invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"))


def _validate_selector_update(new: Obj, old: Obj, errs: Errs) -> None:
    new_selector = _dict(new.get("spec")).get("selector")
    if new_selector != _dict(old.get("spec")).get("selector"):
        errs.append(invalid("spec.selector", new_selector, "field is immutable"))


# --- nodes, namespaces, events, leases, bindings --------------------------------------------------------------


def _validate_node(node: Obj, errs: Errs) -> None:
    spec = _map(node, "spec", "spec", errs)
    cidrs = [("spec.podCIDR", spec.get("podCIDR"))]
    pod_cidrs = spec.get("podCIDRs")
    cidrs += [
        (f"spec.podCIDRs[{i}]", c) for i, c in enumerate(pod_cidrs if isinstance(pod_cidrs, list) else [])
    ]
    for path, cidr in cidrs:
        if cidr and not is_cidr(cidr):
            errs.append(invalid(path, cidr, "must be a valid CIDR"))
    seen: set[tuple[str, str]] = set()
    for _, taint_path, taint in _items(spec, "taints", "spec.taints", errs):
        key, effect = taint.get("key"), taint.get("effect")
        if not key:
            errs.append(required(f"{taint_path}.key", ""))
        else:
            errs.extend(invalid(f"{taint_path}.key", key, m) for m in is_qualified_name(str(key)))
        if taint.get("value"):
            errs.extend(
                invalid(f"{taint_path}.value", taint["value"], m) for m in is_label_value(str(taint["value"]))
            )
        if not effect:
            errs.append(required(f"{taint_path}.effect", ""))
        else:
            _enum(taint, "effect", f"{taint_path}.effect", TAINT_EFFECTS, errs)
        if (str(key), str(effect)) in seen:
            errs.append(duplicate(taint_path, taint, "taints must be unique by key and effect pair"))
        seen.add((str(key), str(effect)))
    status = _map(node, "status", "status", errs)
    for kind in ("capacity", "allocatable"):
        for name, value in _map(status, kind, f"status.{kind}", errs).items():
            _quantity(value, f"status.{kind}[{name}]", errs)


def _validate_namespace(namespace: Obj, errs: Errs) -> None:
    finalizers = _map(namespace, "spec", "spec", errs).get("finalizers")
    for i, finalizer in enumerate(finalizers if isinstance(finalizers, list) else []):
        errs.extend(invalid(f"spec.finalizers[{i}]", finalizer, m) for m in is_qualified_name(str(finalizer)))


def _validate_event(event: Obj, errs: Errs) -> None:
    involved = event.get("involvedObject")
    if not involved:
        errs.append(required("involvedObject", ""))
        return
    if not isinstance(involved, dict):
        errs.append(invalid("involvedObject", involved, "must be an object"))
        return
    namespace = _dict(event.get("metadata")).get("namespace") or ""
    involved_ns = involved.get("namespace") or ""
    # Events about cluster-scoped objects live in "default" (or nowhere); others in their object's namespace.
    if (not involved_ns and namespace not in ("", "default")) or (involved_ns and involved_ns != namespace):
        errs.append(invalid("involvedObject.namespace", involved_ns, "does not match event.namespace"))
    _enum(event, "type", "type", ["Normal", "Warning"], errs)
    _min(event, "count", "count", errs)


def _validate_lease(lease: Obj, errs: Errs) -> None:
    spec = _map(lease, "spec", "spec", errs)
    _min(spec, "leaseDurationSeconds", "spec.leaseDurationSeconds", errs, low=1)
    _min(spec, "leaseTransitions", "spec.leaseTransitions", errs)


def _validate_binding(binding: Obj, errs: Errs) -> None:
    if not _map(binding, "target", "target", errs).get("name"):
        errs.append(required("target.name", ""))


# --- entry point ----------------------------------------------------------------------------------------------

Check = Callable[[Obj, Errs], None]
UpdateCheck = Callable[[Obj, Obj, Errs], None]

# (group, kind) -> (name syntax, object checks, update checks)
_KINDS: dict[tuple[str, str], tuple[NameCheck, Check | None, UpdateCheck | None]] = {
    ("", "Pod"): (is_dns1123_subdomain, _validate_pod, _validate_pod_update),
    ("", "Namespace"): (is_dns1123_label, _validate_namespace, None),
    ("", "Service"): (is_dns1035_label, _validate_service, _validate_service_update),
    ("", "Node"): (is_dns1123_subdomain, _validate_node, None),
    ("", "Endpoints"): (is_dns1123_subdomain, _validate_endpoints, None),
    ("", "Event"): (is_dns1123_subdomain, _validate_event, None),
    ("", "Binding"): (is_dns1123_subdomain, _validate_binding, None),
    ("apps", "Deployment"): (is_dns1123_subdomain, _validate_deployment, _validate_selector_update),
    ("apps", "ReplicaSet"): (is_dns1123_subdomain, _validate_workload, _validate_selector_update),
    ("coordination.k8s.io", "Lease"): (is_dns1123_subdomain, _validate_lease, None),
}


def validate(obj: Obj, old: Obj | None = None) -> list[Cause]:
    """The causes that make `obj` invalid (empty list: valid). With `old`, the update rules apply too.

    Expects the object after defaulting and after the server has set the name from generateName.
    """
    if not isinstance(obj, dict):
        return [invalid("", obj, "must be an object")]
    api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
    name_check, check, update_check = _KINDS.get(
        (api_version.rpartition("/")[0], kind), (is_dns1123_subdomain, None, None)
    )
    info = by_kind(api_version, kind)
    errs: Errs = []
    try:
        meta = _map(obj, "metadata", "metadata", errs)
        validate_object_meta(meta, "metadata", name_check, info.namespaced if info else None, errs)
        if check is not None:
            check(obj, errs)
        if old is not None:
            validate_object_meta_update(meta, _dict(old.get("metadata")), "metadata", errs)
            if update_check is not None:
                update_check(obj, old, errs)
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        # The checks read client input defensively; should a shape still slip through, the client gets a 422
        # naming the problem rather than a 500.
        errs.append(invalid("", type(exc).__name__, f"malformed object: {exc}"))
    return errs
