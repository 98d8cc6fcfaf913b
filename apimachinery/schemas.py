"""Kubernetes' published schemas of the built-in types (v1.32): the one source of their type information.

The data is the OpenAPI definitions that Kubernetes v1.32.0 publishes, as PyPI `kubernetes-validate` ships them
(`kubernetes-json-schema/v1.32.0-local/_definitions.json`: 638 definitions with their descriptions and the
`x-kubernetes-*` extensions: group-version-kind, patch strategy and merge key, list type and map keys). That file
is JSON Schema flavoured, so it is brought back here, once, to the form kube-openapi writes:

* `"type": ["string", "null"]` (how JSON Schema says "optional") becomes `"type": "string"`;
* `$ref: #/$defs/<name>` becomes `#/definitions/<name>` (Swagger 2.0's form; OpenAPI v3 writers rewrite it);
* IntOrString and Quantity (a `oneOf` of their JSON types there) become the strings kube-openapi declares
  (`format: int-or-string` for the former);
* the `enum` the conversion added to `apiVersion` and `kind` of every kind is dropped.

What derives from it: the OpenAPI v3 documents (apiserver.openapi), the strategic merge metadata
(apimachinery.patchmeta), fieldValidation=Strict (apimachinery.fieldcheck) and the field types of protobuf
decoding (apiserver.protobuf_schema). A kind's definition is found by its group, version and kind, as the
`x-kubernetes-group-version-kind` extension declares them.

The file is read on first use, not on import: kctl must start quickly, and most processes never need it.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

import orjson

KUBERNETES_VERSION = "v1.32.0"
PACKAGE = "kubernetes_validate"
DATA_PATH = ("kubernetes-json-schema", f"{KUBERNETES_VERSION}-local", "_definitions.json")
REF_PREFIX = "#/definitions/"

Schema = dict[str, Any]

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"

# Definitions whose shape kube-openapi declares by hand (their Go types marshal themselves).
_OWN_SHAPES: dict[str, Schema] = {
    INT_OR_STRING: {
        "description": "An integer or a string: a port number or name, a count or a percentage.",
        "type": "string",
        "format": "int-or-string",
    },
    QUANTITY: {
        "description": "A fixed-point amount with an optional suffix: 100m, 1.5, 128Mi, 1e3.",
        "type": "string",
    },
}


class SchemaDataMissing(RuntimeError):
    """The published schemas are not installed (the `kubernetes-validate` package)."""


def data_file() -> Path:
    """Where the published definitions are; SchemaDataMissing if the package is not installed."""
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without importing it (and its jsonschema)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location).joinpath(*DATA_PATH)
        if path.is_file():
            return path
    raise SchemaDataMissing(
        f"the Kubernetes {KUBERNETES_VERSION} schemas are missing: install the project's dependencies "
        f"(pip install -e .), which include {PACKAGE.replace('_', '-')}"
    )


@cache
def definitions() -> dict[str, Schema]:
    """Every published definition by its full name (`io.k8s.api.core.v1.Pod`), normalized; read once.

    The dicts are shared: callers must not change them (copy first)."""
    raw = orjson.loads(data_file().read_bytes())["$defs"]
    out: dict[str, Schema] = {}
    for name, schema in raw.items():
        out[name] = dict(_OWN_SHAPES[name]) if name in _OWN_SHAPES else _normalize(schema)
        if "x-kubernetes-group-version-kind" in schema:
            for field in ("apiVersion", "kind"):
                out[name].get("properties", {}).get(field, {}).pop("enum", None)
    return out


def _normalize(value: Any) -> Any:
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: Schema = {}
    for key, item in value.items():
        if key == "$ref" and isinstance(item, str):
            out[key] = REF_PREFIX + item.rpartition("/")[2]
        elif key == "type" and isinstance(item, list):
            out[key] = next((t for t in item if t != "null"), "object")
        elif key == "properties" and isinstance(item, dict):
            out[key] = {name: _normalize(prop) for name, prop in item.items()}
        else:
            out[key] = _normalize(item)
    return out


def definition(name: str) -> Schema | None:
    return definitions().get(name)


def ref_of(schema: Schema | None) -> str | None:
    """The definition a schema points to, directly or through `allOf: [{$ref}]`, or None."""
    if not schema:
        return None
    ref = schema.get("$ref")
    if ref is None and len(schema.get("allOf") or ()) == 1:
        ref = schema["allOf"][0].get("$ref")
    return ref.removeprefix(REF_PREFIX).removeprefix("#/components/schemas/") if ref else None


def gvks_of(schema: Schema) -> list[tuple[str, str, str]]:
    return [
        (g["group"], g["version"], g["kind"]) for g in schema.get("x-kubernetes-group-version-kind") or ()
    ]


@cache
def _by_gvk() -> dict[tuple[str, str, str], str]:
    index: dict[tuple[str, str, str], str] = {}
    for name, schema in definitions().items():
        gvks = gvks_of(schema)
        if len(gvks) == 1:  # DeleteOptions and WatchEvent name every group version: not a kind of their own
            index[gvks[0]] = name
    return index


def for_kind(group: str, version: str, kind: str) -> str | None:
    """The name of the definition of a kind (`apps`, `v1`, `Deployment` -> `io.k8s.api.apps.v1.Deployment`)."""
    return _by_gvk().get((group, version, kind))


@cache
def _by_short_name() -> dict[str, str]:
    """Short name -> full name, for the short names that name one definition only."""
    seen: dict[str, list[str]] = {}
    for name in definitions():
        seen.setdefault(name.rpartition(".")[2], []).append(name)
    return {short: names[0] for short, names in seen.items() if len(names) == 1}


# Where a short name is ambiguous, the package that wins: the core and meta types every kind uses come first.
_PREFERRED = ("io.k8s.api.core.v1.", "io.k8s.apimachinery.pkg.apis.meta.v1.", "io.k8s.api.apps.v1.")


@cache
def _served_packages() -> frozenset[str]:
    """The packages (`io.k8s.api.rbac.v1.`) of the kinds the resource table declares."""
    from apimachinery.resources import RESOURCES

    names = (for_kind(info.group, info.version, info.kind) for info in RESOURCES)
    return frozenset(name.rpartition(".")[0] + "." for name in names if name)


def resolve(name: str) -> str | None:
    """A full definition name for a full or short one (`PodSpec`, `io.k8s.api.core.v1.PodSpec`), or None.

    A short name that several packages use (`Subject`: rbac and flowcontrol) resolves to the core, meta or apps
    one, else to the one of the only package with served kinds among them (or of the only such package where it is
    a kind itself), else to none."""
    defs = definitions()
    if name in defs:
        return name
    unique = _by_short_name().get(name)
    if unique is not None:
        return unique
    for package in _PREFERRED:
        if package + name in defs:
            return package + name
    served = [package + name for package in _served_packages() if package + name in defs]
    if len(served) > 1:  # `TokenRequest`: authentication's kind, and a field type of storage's CSIDriver
        served = [full for full in served if gvks_of(defs[full])]
    return served[0] if len(served) == 1 else None


def short_name(name: str) -> str:
    return name.rpartition(".")[2]
