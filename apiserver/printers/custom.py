"""The Table of a custom resource: Name, then the CRD's additionalPrinterColumns (Age when it declares none).

Each cell is the column's JSONPath evaluated on the object and typed as the column says, as kube-apiserver's
custom resource table convertor does: a missing value is null (kubectl prints `<none>`), a date becomes an age.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apimachinery import jsonpath
from apimachinery.timefmt import human_duration
from apiserver.crd.info import Column, CustomResourceInfo
from apiserver.printers.common import NAME_DOC, Obj, Row, column, name_of, parse_time

AGE = Column(
    "Age",
    "date",
    ".metadata.creationTimestamp",
    description=(
        "CreationTimestamp is a timestamp representing the server time when this object was created."
    ),
)


def _declared(info: CustomResourceInfo) -> tuple[Column, ...]:
    return info.columns or (AGE,)


def custom_columns(info: CustomResourceInfo) -> list[Obj]:
    columns = [column("Name", NAME_DOC, fmt="name")]
    for c in _declared(info):
        description = (
            c.description or f"Custom resource definition column (in JSONPath format): {c.json_path}"
        )
        columns.append(column(c.name, description, type_=c.type, fmt=c.format, priority=c.priority))
    return columns


def _cell(col: Column, obj: Obj, now: datetime) -> Any:
    try:
        found = jsonpath.evaluate(jsonpath.parse("{" + col.json_path + "}")[0].segs, obj)
    except (jsonpath.JSONPathError, IndexError, AttributeError):
        return None
    if not found or found[0] is None:
        return None
    value = found[0]
    if col.type == "string":
        return jsonpath.format_value(value)
    if col.type == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if col.type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if col.type == "boolean" and isinstance(value, bool):
        return value
    if col.type == "date" and isinstance(value, str):
        when = parse_time(value)
        return "<invalid>" if when is None else human_duration((now - when).total_seconds())
    return None


def custom_row(info: CustomResourceInfo, obj: Obj, now: datetime) -> Row:
    return [name_of(obj), *(_cell(c, obj, now) for c in _declared(info))], None
