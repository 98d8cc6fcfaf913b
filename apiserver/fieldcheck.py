"""fieldValidation: the fields of a request body that its kind's schema does not declare, and what to do with them.

As kube-apiserver decodes a write (handlers/rest.go, create.go, update.go, patch.go): the query parameter
`fieldValidation` is `Strict` (an unknown field is 400 BadRequest, "strict decoding error: unknown field ..."),
`Warn` (the default when absent: each unknown field becomes a `Warning: 299 - "unknown field \"spec.x\""` header)
or `Ignore`; under Warn and Ignore the unknown fields are dropped, as Go's decoder drops what a type lacks. Any
other value is 422 Invalid. Create and update check the body; the three patch types check the patched object;
server-side apply refuses unknown fields in the configuration whatever the directive ("field not declared in
schema"), as structured-merge-diff does.

One walker serves both kinds of schema: the published definitions of the built-in kinds (apimachinery.schemas,
followed through `$ref`) and the structural schemas of custom resources (which declare
`x-kubernetes-preserve-unknown-fields` and `x-kubernetes-embedded-resource` where anything goes).
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors, schemas
from apiserver import warning

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


STRICT, WARN, IGNORE = "Strict", "Warn", "Ignore"
DIRECTIVES = (IGNORE, STRICT, WARN)

# One unknown field: its path as kube-apiserver prints it, and where it is (the map holding it, its key).
Found = list[tuple[str, dict[str, Any], str]]


def directive(value: str | None, options_kind: str) -> str:
    """The fieldValidation of a write: Warn when absent; 422 for a value that is none of the three."""
    if not value:
        return WARN
    if value not in DIRECTIVES:
        supported = ", ".join(f'"{d}"' for d in DIRECTIVES)
        raise errors.invalid(
            options_kind,
            "",
            [
                {
                    "reason": "FieldValueNotSupported",
                    "message": f"Unsupported value: {errors.go_quote(value)}: supported values: {supported}",
                    "field": "fieldValidation",
                }
            ],
            "meta.k8s.io",
        )
    return value


def unknown_fields(obj: Any, schema: Schema | None) -> list[str]:
    """Paths of the fields of `obj` that `schema` does not declare (`spec.containers[0].foo`), in document order.

    Free-form fields (no properties declared) and map values of unknown shape are not checked."""
    return [path for path, _, _ in _find(obj, schema)]


def _find(obj: Any, schema: Schema | None) -> Found:
    found: Found = []
    if schema is not None:
        _walk(obj, schema, None, found)
    return found


def enforce(obj: Any, schema: Schema | None, how: str) -> None:
    """Apply a directive to a decoded (or patched) object, in place: Strict raises 400 naming every unknown field,
    Warn adds one warning per field, and under Warn and Ignore the unknown fields are removed."""
    found = _find(obj, schema)
    if not found:
        return
    if how == STRICT:
        raise errors.bad_request(
            "strict decoding error: " + ", ".join(f'unknown field "{path}"' for path, _, _ in found)
        )
    if how == WARN:
        warning.add(*(f'unknown field "{path}"' for path, _, _ in found))
    for _, parent, key in reversed(found):
        parent.pop(key, None)


def refuse_in_apply(config: Any, schema: Schema | None, what: str) -> None:
    """Server-side apply types its configuration against the schema; a field the schema lacks fails it
    (`failed to create typed patch object (ns/name; apps/v1, Kind=Deployment): .spec.x: field not declared in
    schema`). kube-apiserver answers that with 500; kubelite with 400, since it is the client's input."""
    found = _find(config, schema)
    if not found:
        return
    lines = [f".{path}: field not declared in schema" for path, _, _ in found]
    detail = lines[0] if len(lines) == 1 else "errors:\n  " + "\n  ".join(lines)
    raise errors.bad_request(f"failed to create typed patch object ({what}): {detail}")


def _resolve(schema: Schema) -> Schema:
    name = schemas.ref_of(schema)
    if name is None:
        return schema
    return schemas.definition(name) or {}


# Where the walk is: (parent, segment) pairs up to the root (None), a segment a field name or a list index. The
# dotted path is only written out for a field the walk reports (most objects have none).
_At = tuple[Any, str | int] | None


def _path(at: _At) -> str:
    segments: list[str | int] = []
    while at is not None:
        at, segment = at
        segments.append(segment)
    out = ""
    for segment in reversed(segments):
        if isinstance(segment, int):
            out += f"[{segment}]"
        else:
            out = f"{out}.{segment}" if out else segment
    return out


def _walk(value: Any, schema: Schema, at: _At, found: Found) -> None:
    if "$ref" in schema or "allOf" in schema:
        schema = _resolve(schema)
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                if isinstance(item, dict | list):
                    _walk(item, items, (at, i), found)
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
                if isinstance(item, dict | list):
                    _walk(item, extra, (at, key), found)
        return
    for key, item in value.items():
        if key in properties:
            if isinstance(item, dict | list):
                _walk(item, properties[key], (at, key), found)
        elif isinstance(extra, dict):
            if isinstance(item, dict | list):
                _walk(item, extra, (at, key), found)
        elif extra is not True:
            found.append((_path((at, key)), value, key))
