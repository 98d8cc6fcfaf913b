"""fieldValidation=Strict: the fields of a request body that its kind's schema does not declare.

One walker serves both kinds of schema: the published definitions of the built-in kinds (apimachinery.schemas,
followed through `$ref`) and the structural schemas of custom resources (which declare
`x-kubernetes-preserve-unknown-fields` and `x-kubernetes-embedded-resource` where anything goes).
"""

from __future__ import annotations

from typing import Any

from apimachinery import schemas

Schema = dict[str, Any]

# Fields every embedded object may have beside what its schema declares.
EMBEDDED = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {"$ref": schemas.REF_PREFIX + schemas.OBJECT_META},
}


def kind_schema(group: str, version: str, kind: str) -> Schema | None:
    """The published schema of a built-in kind, or None."""
    name = schemas.for_kind(group, version, kind)
    return schemas.definition(name) if name else None


def unknown_fields(obj: Any, schema: Schema | None) -> list[str]:
    """Paths of the fields of `obj` that `schema` does not declare (`spec.containers[0].foo`), in document order.

    Free-form fields (no properties declared) and map values of unknown shape are not checked."""
    found: list[str] = []
    if schema is not None:
        _walk(obj, schema, "", found)
    return found


def _resolve(schema: Schema) -> Schema:
    name = schemas.ref_of(schema)
    if name is None:
        return schema
    return schemas.definition(name) or {}


def _walk(value: Any, schema: Schema, path: str, found: list[str]) -> None:
    schema = _resolve(schema)
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _walk(item, items, f"{path}[{i}]", found)
        return
    if not isinstance(value, dict):
        return
    properties: dict[str, Schema] = schema.get("properties") or {}
    if schema.get("x-kubernetes-embedded-resource"):
        properties = {**EMBEDDED, **properties}
    extra = schema.get("additionalProperties")
    if not properties:
        if isinstance(extra, dict):
            for key, item in value.items():
                _walk(item, extra, f"{path}.{key}" if path else key, found)
        return
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if key in properties:
            _walk(item, properties[key], child, found)
        elif isinstance(extra, dict):
            _walk(item, extra, child, found)
        elif extra is not True:
            found.append(child)
