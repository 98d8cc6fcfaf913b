"""A custom resource against its structural schema: pruning, defaulting and validation, in kube-apiserver's order
and wording.

* `prune` drops the fields the schema does not declare (and `null`s where the schema does not allow them), except
  under `x-kubernetes-preserve-unknown-fields`; `apiVersion`, `kind` and `metadata` of the object and of every
  `x-kubernetes-embedded-resource` stay.
* `default` fills in each declared `default` where the field is missing.
* `validate` checks the rest of OpenAPI v3 (types, `nullable`, `x-kubernetes-int-or-string`, required fields, enums,
  patterns, bounds, lengths, item counts) with the jsonschema library, and words each failure as kube-openapi and
  the apiextensions apiserver do, so kubectl prints the familiar
  `spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import orjson

from apimachinery import schemas
from apimachinery.validation.common import Cause, invalid, not_supported, required, show, too_long

Schema = dict[str, Any]

_KEEP = ("apiVersion", "kind", "metadata")


def _object_meta_fields() -> frozenset[str]:
    return frozenset((schemas.definition(schemas.OBJECT_META) or {}).get("properties") or ())


# ---- pruning and defaulting ----------------------------------------------------------------------------------


def prune(obj: dict[str, Any], schema: Schema | None) -> None:
    """Drop, in place, what the schema of a custom resource does not declare."""
    if schema is None:
        return
    _prune_value(obj, schema, root=True)
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        known = _object_meta_fields()
        for key in [k for k in metadata if k not in known]:
            del metadata[key]


def _into_list(value: Any, schema: Schema, visit: Callable[[Any, Schema], None]) -> bool:
    """For a list, `visit` each item with the schema's `items` and return True; False for anything else."""
    if not isinstance(value, list):
        return False
    items = schema.get("items")
    if isinstance(items, dict):
        for item in value:
            visit(item, items)
    return True


def _prune_value(value: Any, schema: Schema, *, root: bool = False) -> None:
    if _into_list(value, schema, _prune_value) or not isinstance(value, dict):
        return
    properties: dict[str, Schema] = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    keep = _KEEP if root or schema.get("x-kubernetes-embedded-resource") else ()
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    for key in list(value):
        child = properties.get(key)
        if child is None and isinstance(extra, dict):
            child = extra
        if child is not None:
            if value[key] is None and not child.get("nullable") and "default" not in child:
                del value[key]  # a null where null is not allowed: dropped, as kube-apiserver does
                continue
            _prune_value(value[key], child)
        elif key not in keep and not preserve and extra is not True:
            del value[key]


def default(obj: Any, schema: Schema | None) -> None:
    """Set, in place, every declared default whose field is missing (or null where null is not allowed)."""
    if schema is None:
        return
    if _into_list(obj, schema, default) or not isinstance(obj, dict):
        return
    for key, child in (schema.get("properties") or {}).items():
        if "default" in child and (key not in obj or (obj[key] is None and not child.get("nullable"))):
            obj[key] = copy.deepcopy(child["default"])
        if key in obj:
            default(obj[key], child)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        properties = schema.get("properties") or {}
        for key, item in obj.items():
            if key not in properties:
                default(item, extra)


# ---- validation ------------------------------------------------------------------------------------------------


def json_schema(schema: Schema) -> Schema:
    """An OpenAPI v3 schema as a draft-4 JSON Schema: nullable, int-or-string and preserve-unknown-fields made
    explicit, defaults and descriptions left out."""
    out: Schema = {}
    if schema.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    elif schema.get("type"):
        out["type"] = [schema["type"]]
    if "type" in out and schema.get("nullable"):
        out["type"].append("null")
    for key in (
        "enum",
        "required",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "multipleOf",
        "minProperties",
        "maxProperties",
    ):
        if key in schema:
            out[key] = schema[key]
    if isinstance(schema.get("properties"), dict):
        out["properties"] = {k: json_schema(v) for k, v in schema["properties"].items()}
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = json_schema(extra)
    if isinstance(schema.get("items"), dict):
        out["items"] = json_schema(schema["items"])
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            out[key] = [json_schema(s) for s in schema[key]]
    if isinstance(schema.get("not"), dict):
        out["not"] = json_schema(schema["not"])
    return out


@lru_cache(maxsize=256)
def _validator(schema_json: bytes) -> Any:
    import jsonschema  # only an apiserver with custom resources pays for the import

    def is_integer(_checker: Any, value: Any) -> bool:
        # JSON has one number type: 2.0 is an integer, as kube-openapi counts it.
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())

    checker = jsonschema.Draft4Validator.TYPE_CHECKER.redefine("integer", is_integer)
    cls = jsonschema.validators.extend(jsonschema.Draft4Validator, type_checker=checker)
    return cls(json_schema(orjson.loads(schema_json)))


def _path(parts: Any) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


_REQUIRED = re.compile(r"'(.+)' is a required property")


def validate(obj: dict[str, Any], schema: Schema | None) -> list[Cause]:
    """The causes of a 422 Invalid for `obj` against its CRD version's schema (empty when valid)."""
    if schema is None:
        return []
    validator = _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
    causes: list[Cause] = []
    try:
        errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    except (re.error, TypeError, ValueError) as exc:
        # A schema stored before its keywords were checked (the CRD is validated on write): refuse the object.
        return [invalid("", "", f"the schema of this resource cannot be evaluated: {exc}")]
    for error in errors:
        cause = _cause(error)
        if cause is not None and cause not in causes:
            causes.append(cause)
    return causes


def _cause(error: Any) -> Cause | None:
    path = _path(error.absolute_path)
    keyword, limit, value = error.validator, error.validator_value, error.instance
    body = f"{path} in body"
    if keyword == "type":
        types = limit if isinstance(limit, list) else [limit]
        kind = _json_type(value)
        detail = f'{body} must be of type {",".join(t for t in types if t != "null")}: "{kind}"'
        return {
            "reason": "FieldValueTypeInvalid",
            "message": f"Invalid value: {show(kind)}: {detail}",
            "field": path,
        }
    if keyword == "required":
        match = _REQUIRED.fullmatch(error.message)
        return required(_child(path, match.group(1) if match else ""))
    if keyword == "enum":
        return not_supported(
            path, value, [v if isinstance(v, str) else orjson.dumps(v).decode() for v in limit]
        )
    if keyword == "maxLength":
        return too_long(path, int(limit))
    if keyword in ("maxItems", "maxProperties"):
        return {
            "reason": "FieldValueTooMany",
            "message": f"Too many: {len(value)}: must have at most {int(limit)} items",
            "field": path,
        }
    schema = error.schema
    details = {
        "minimum": lambda: (
            f"{body} should be greater than {'' if schema.get('exclusiveMinimum') else 'or equal to '}"
            f"{_number(limit)}"
        ),
        "maximum": lambda: (
            f"{body} should be less than {'' if schema.get('exclusiveMaximum') else 'or equal to '}"
            f"{_number(limit)}"
        ),
        "minLength": lambda: f"{body} should be at least {limit} chars long",
        "pattern": lambda: f"{body} should match '{limit}'",
        "minItems": lambda: f"{body} should have at least {limit} items",
        "uniqueItems": lambda: f"{body} shouldn't contain duplicates",
        "multipleOf": lambda: f"{body} should be a multiple of {_number(limit)}",
        "minProperties": lambda: f"{body} should have at least {limit} properties",
    }
    detail = details[keyword]() if keyword in details else error.message
    if keyword in ("minItems", "uniqueItems", "minProperties"):
        value = ""  # kube-openapi reports these without the value
    return invalid(path, value, detail)
