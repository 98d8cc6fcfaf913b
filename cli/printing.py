"""Output formats: server-side Tables in kubectl's layout, and -o yaml|json|name|jsonpath=... for objects.

Table columns come from the server (`Accept: ...;as=Table`); kctl only lays them out: upper-case headers,
tabwriter alignment, priority-1 columns only with `-o wide`, NAMESPACE first with -A, `-L` label columns and
`--show-labels` last, and `kind.group/name` names when several types are printed together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from apimachinery import jsonpath
from apimachinery.resources import ResourceInfo
from cli.errors import CLIError
from cli.tabwriter import table

TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
    "application/json"
)
OUTPUT_FORMATS = ("wide", "yaml", "json", "name", "jsonpath=...", "jsonpath-as-json=...")


@dataclass
class TableOptions:
    wide: bool = False
    all_namespaces: bool = False
    show_labels: bool = False
    label_columns: list[str] = field(default_factory=list)
    with_kind: bool = False
    no_headers: bool = False


def kind_prefix(res: ResourceInfo) -> str:
    return f"{res.singular}.{res.group}" if res.group else res.singular


def cell_text(value: Any) -> str:
    if value is None:
        return "<none>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def labels_text(labels: dict[str, str] | None) -> str:
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _row_meta(row: dict[str, Any]) -> dict[str, Any]:
    obj = row.get("object") or {}
    return obj.get("metadata") or {}


def table_rows(
    res: ResourceInfo, tbl: dict[str, Any], opts: TableOptions, header: bool = True
) -> list[list[str]]:
    """The header (when `header`) and the rows of one server Table, as cells ready for alignment."""
    cols = [
        (i, c)
        for i, c in enumerate(tbl.get("columnDefinitions") or [])
        if opts.wide or int(c.get("priority") or 0) == 0
    ]
    name_idx = next((i for i, c in cols if c.get("format") == "name"), cols[0][0] if cols else 0)
    rows: list[list[str]] = []
    if header and not opts.no_headers:
        head = [str(c.get("name", "")).upper() for _, c in cols]
        if opts.all_namespaces and res.namespaced:
            head.insert(0, "NAMESPACE")
        head += [lc.rsplit("/", 1)[-1].upper() for lc in opts.label_columns]
        if opts.show_labels:
            head.append("LABELS")
        rows.append(head)
    for row in tbl.get("rows") or []:
        cells = row.get("cells") or []
        meta = _row_meta(row)
        out = []
        for i, _ in cols:
            text = cell_text(cells[i]) if i < len(cells) else ""
            if i == name_idx and opts.with_kind:
                text = f"{kind_prefix(res)}/{text}"
            out.append(text)
        if opts.all_namespaces and res.namespaced:
            out.insert(0, str(meta.get("namespace", "")))
        labels = meta.get("labels") or {}
        out += [str(labels.get(lc, "")) for lc in opts.label_columns]
        if opts.show_labels:
            out.append(labels_text(labels))
        rows.append(out)
    return rows


def format_tables(tables: list[tuple[ResourceInfo, dict[str, Any]]], opts: TableOptions) -> str:
    """Several Tables, each aligned on its own, separated by blank lines (as `kubectl get deploy,svc`)."""
    blocks = [table(table_rows(res, tbl, opts)) for res, tbl in tables if tbl.get("rows")]
    return "\n".join(blocks)


# -- objects -------------------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    tag = "tag:yaml.org,2002:str"
    if "\n" in data:
        return dumper.represent_scalar(tag, data, style="|")
    # Go's YAML (what kubectl prints) double-quotes what would not read back as this string: "7", "true",
    # timestamps, strings with ': ' and the like.
    if not data or dumper.resolve(yaml.ScalarNode, data, (True, False)) != tag:
        return dumper.represent_scalar(tag, data, style='"')
    analysis = dumper.analyze_scalar(data)
    if not analysis.allow_block_plain or not analysis.allow_flow_plain:
        return dumper.represent_scalar(tag, data, style='"')
    return dumper.represent_scalar(tag, data)


_Dumper.add_representer(str, _str_presenter)


def to_yaml(obj: Any) -> str:
    """YAML as kubectl prints it: keys sorted, block style, multi-line strings as literal blocks."""
    return yaml.dump(obj, Dumper=_Dumper, default_flow_style=False, sort_keys=True, width=1 << 16)


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=4, ensure_ascii=False) + "\n"


def without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy of `obj` without metadata.managedFields (kubectl's OmitManagedFieldsPrinter)."""
    md = obj.get("metadata")
    if not isinstance(md, dict) or "managedFields" not in md:
        return obj
    return {**obj, "metadata": {k: v for k, v in md.items() if k != "managedFields"}}


def as_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


def object_name(obj: dict[str, Any], res: ResourceInfo | None = None) -> str:
    """`deployment.apps/web` for -o name and for "created"/"configured" messages."""
    name = (obj.get("metadata") or {}).get("name", "")
    if res is not None:
        return f"{kind_prefix(res)}/{name}"
    api_version = str(obj.get("apiVersion") or "v1")
    group = api_version.rpartition("/")[0]
    kind = str(obj.get("kind") or "").lower()
    return f"{kind}.{group}/{name}" if group else f"{kind}/{name}"


def validate_output(output: str | None, allowed: tuple[str, ...] = OUTPUT_FORMATS) -> None:
    if not output:
        return
    base = output.split("=", 1)[0]
    if base not in {a.split("=", 1)[0] for a in allowed}:
        raise CLIError(
            f'unable to match a printer suitable for the output format "{output}", allowed formats are: '
            + ",".join(allowed)
        )


def format_objects(
    objs: list[tuple[ResourceInfo | None, dict[str, Any]]],
    output: str,
    single: bool,
    *,
    show_managed_fields: bool = False,
) -> str:
    """-o yaml|json|name|jsonpath=...: one object as itself when `single`, else a `kind: List`. YAML and JSON
    leave out metadata.managedFields unless `show_managed_fields` (kubectl's --show-managed-fields)."""
    if output in ("yaml", "json") and not show_managed_fields:
        objs = [(r, without_managed_fields(o)) for r, o in objs]
    if output == "name":
        return "".join(object_name(o, r) + "\n" for r, o in objs)
    data: Any = objs[0][1] if single and len(objs) == 1 else as_list([o for _, o in objs])
    if output == "yaml":
        return to_yaml(data)
    if output == "json":
        return to_json(data)
    if output.startswith("jsonpath-as-json="):
        tmpl = _strip_quotes(output.split("=", 1)[1])
        return to_json([v for node in jsonpath.parse(tmpl) for v in _eval_node(node, data)])
    if output.startswith("jsonpath="):
        return jsonpath.render(_strip_quotes(output.split("=", 1)[1]), data)
    raise CLIError(f'unable to match a printer suitable for the output format "{output}"')


def _eval_node(node: Any, data: Any) -> list[Any]:
    if isinstance(node, jsonpath._Expr) and node.literal is None:
        return jsonpath.evaluate(node.segs, data)
    return []


def _strip_quotes(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text
