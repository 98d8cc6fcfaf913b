"""What kube-apiserver refuses in a CustomResourceDefinition (422 Invalid), with its field paths and messages.

The checks that matter for serving it: names that fit together (`metadata.name` is `<plural>.<group>`), a scope,
exactly one storage version, a schema for every version whose root is an object and whose every node says its
type (a structural schema), subresource paths and printer columns that can be evaluated.
"""

from __future__ import annotations

from typing import Any

from apimachinery.validation.common import Cause, forbidden, invalid, not_supported, required
from apimachinery.validation.syntax import is_dns1035_label, is_dns1123_label, is_dns1123_subdomain
from apiserver.crd import structural

Obj = dict[str, Any]

_COLUMN_TYPES = ["integer", "number", "string", "boolean", "date"]
_SCHEMA_TYPES = ["array", "boolean", "integer", "number", "object", "string"]


def validate_crd(crd: Obj, old: Obj | None = None) -> list[Cause]:
    spec: Obj = crd["spec"] if isinstance(crd.get("spec"), dict) else {}
    errs: list[Cause] = []
    group = spec.get("group")
    names: Obj = spec["names"] if isinstance(spec.get("names"), dict) else {}
    name = (crd.get("metadata") or {}).get("name") or ""
    if not group:
        errs.append(required("spec.group"))
    elif not isinstance(group, str) or is_dns1123_subdomain(group) or "." not in group:
        errs.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    plural = names.get("plural")
    if group and plural and name != f"{plural}.{group}":
        errs.append(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    errs += _names(names)
    if spec.get("scope") not in ("Cluster", "Namespaced"):
        if not spec.get("scope"):
            errs.append(required("spec.scope"))
        else:
            errs.append(not_supported("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"]))
    errs += _versions(spec.get("versions"))
    if old is not None:
        old_spec = old.get("spec") or {}
        if old_spec.get("group") != group:
            errs.append(invalid("spec.group", group, "field is immutable"))
        if old_spec.get("scope") != spec.get("scope"):
            errs.append(invalid("spec.scope", spec.get("scope"), "field is immutable"))
    return errs


def _names(names: Obj) -> list[Cause]:
    errs: list[Cause] = []
    for field in ("plural", "singular", "listKind", "kind"):
        value = names.get(field)
        path = f"spec.names.{field}"
        if not value:
            if field in ("plural", "kind"):
                errs.append(required(path))
            continue
        if not isinstance(value, str):
            errs.append(invalid(path, value, "must be a string"))
        elif field in ("plural", "singular"):
            errs += [invalid(path, value, problem) for problem in is_dns1035_label(value)]
        elif problems := is_dns1035_label(value.lower()):
            errs.append(
                invalid(path, value, "may have mixed case, but should otherwise match: " + problems[0])
            )
    for i, short in enumerate(names.get("shortNames") or ()):
        for problem in is_dns1123_label(short) if isinstance(short, str) else ["must be a string"]:
            errs.append(invalid(f"spec.names.shortNames[{i}]", short, problem))
    return errs


def _versions(versions: Any) -> list[Cause]:
    if not isinstance(versions, list) or not versions:
        return [
            invalid(
                "spec.versions", versions or [], "must have exactly one version marked as storage version"
            )
        ]
    errs: list[Cause] = []
    storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
    if len(storage) != 1:
        errs.append(
            invalid(
                "spec.versions",
                [v.get("name") for v in versions if isinstance(v, dict)],
                "must have exactly one version marked as storage version",
            )
        )
    seen: set[str] = set()
    for i, version in enumerate(versions):
        path = f"spec.versions[{i}]"
        if not isinstance(version, dict):
            errs.append(invalid(path, version, "must be an object"))
            continue
        name = version.get("name")
        if not name:
            errs.append(required(f"{path}.name"))
        elif not isinstance(name, str) or is_dns1035_label(name):
            errs.append(invalid(f"{path}.name", name, "must be a DNS-1035 label"))
        elif name in seen:
            errs.append(invalid("spec.versions", name, "must appear only once"))
        else:
            seen.add(name)
        schema = (
            (version.get("schema") or {}).get("openAPIV3Schema")
            if isinstance(version.get("schema"), dict)
            else None
        )
        if schema is None:
            errs.append(required(f"{path}.schema.openAPIV3Schema", "schemas are required"))
        else:
            errs += _schema(schema, f"{path}.schema.openAPIV3Schema", root=True) or _keywords(
                schema, f"{path}.schema.openAPIV3Schema"
            )
        errs += _subresources(version.get("subresources"), f"{path}.subresources")
        for j, column in enumerate(version.get("additionalPrinterColumns") or ()):
            errs += _column(column, f"{path}.additionalPrinterColumns[{j}]")
    return errs


def _schema(schema: Any, path: str, *, root: bool = False) -> list[Cause]:
    """The structural rules: every node has a type (unless it preserves unknown fields or is int-or-string),
    the root is an object, properties and additionalProperties do not mix."""
    if not isinstance(schema, dict):
        return [invalid(path, schema, "must be an object")]
    errs: list[Cause] = []
    type_ = schema.get("type")
    free = schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("x-kubernetes-int-or-string")
    if type_ is None and not free:
        errs.append(required(f"{path}.type", "must not be empty for specified object fields"))
    elif type_ is not None and type_ not in _SCHEMA_TYPES:
        errs.append(not_supported(f"{path}.type", type_, _SCHEMA_TYPES))
    if root and type_ not in (None, "object"):
        errs.append(invalid(f"{path}.type", type_, "must be object at the root"))
    if isinstance(schema.get("properties"), dict) and isinstance(schema.get("additionalProperties"), dict):
        errs.append(
            forbidden(
                f"{path}.additionalProperties", "additionalProperties and properties are mutual exclusive"
            )
        )
    for key, child in (schema.get("properties") or {}).items():
        errs += _schema(child, f"{path}.properties[{key}]")
    if isinstance(schema.get("items"), dict):
        errs += _schema(schema["items"], f"{path}.items")
    elif type_ == "array":
        errs.append(required(f"{path}.items", "must be specified"))
    if isinstance(schema.get("additionalProperties"), dict):
        errs += _schema(schema["additionalProperties"], f"{path}.additionalProperties")
    return errs


def _keywords(schema: Obj, path: str) -> list[Cause]:
    """The validation keywords of a structural schema, checked against JSON Schema's own meta-schema (a bound
    that is not a number, a pattern that is not a regular expression, ...), so that no object of the CRD can meet
    a schema that cannot be evaluated."""
    import jsonschema  # as structural.py: only CRDs pay for the import

    try:
        jsonschema.Draft4Validator.check_schema(structural.json_schema(schema))
    except jsonschema.SchemaError as err:
        where = path
        parts = list(err.absolute_path)
        for i, part in enumerate(parts):
            keyed = isinstance(part, int) or (i and parts[i - 1] == "properties")
            where += f"[{part}]" if keyed else f".{part}"
        return [invalid(where, err.instance, err.message)]
    return []


def _subresources(subresources: Any, path: str) -> list[Cause]:
    if not isinstance(subresources, dict):
        return []
    scale = subresources.get("scale")
    if not isinstance(scale, dict):
        return []
    errs: list[Cause] = []
    spec_path = scale.get("specReplicasPath")
    status_path = scale.get("statusReplicasPath")
    if not isinstance(spec_path, str) or not spec_path.startswith(".spec."):
        errs.append(invalid(f"{path}.scale.specReplicasPath", spec_path, "should be a json path under .spec"))
    if not isinstance(status_path, str) or not status_path.startswith(".status."):
        errs.append(
            invalid(f"{path}.scale.statusReplicasPath", status_path, "should be a json path under .status")
        )
    selector = scale.get("labelSelectorPath")
    if selector and not (isinstance(selector, str) and selector.startswith((".spec.", ".status."))):
        errs.append(
            invalid(
                f"{path}.scale.labelSelectorPath",
                selector,
                "should be a json path under either .spec or .status",
            )
        )
    return errs


def _column(column: Any, path: str) -> list[Cause]:
    if not isinstance(column, dict):
        return [invalid(path, column, "must be an object")]
    errs: list[Cause] = []
    if not column.get("name"):
        errs.append(required(f"{path}.name"))
    if column.get("type") not in _COLUMN_TYPES:
        errs.append(not_supported(f"{path}.type", column.get("type"), _COLUMN_TYPES))
    if not column.get("jsonPath"):
        errs.append(required(f"{path}.jsonPath"))
    return errs
