"""What every printer shares: column definitions from a compact text, kubectl's human durations and
timestamps, label and selector formatting, and the NAME / AGE cells."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apimachinery.timefmt import format_time, human_duration, parse_time_or_none

Obj = dict[str, Any]
Row = tuple[list[Any], list[dict[str, Any]] | None]  # cells, row conditions

NAME_DOC = "Name must be unique within a namespace."
AGE_DOC = "CreationTimestamp is a timestamp representing the server time when this object was created."
CONTAINERS_DOC = "Names of each container in the template."
IMAGES_DOC = "Images referenced by each container in the template."


def column(
    name: str, description: str = "", *, type_: str = "string", fmt: str = "", priority: int = 0
) -> Obj:
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


def columns(text: str) -> list[Obj]:
    """Column definitions, one a line: `Title [flags]: description`, flags from name (the name column),
    integer, date (the cell type) and wide (priority 1); a bare `Name` or `Age` is the standard column, and a bare
    `Containers` the pair Containers and Images of a pod template (wide)."""
    columns = []
    for line in text.strip().splitlines():
        line = line.strip()
        if line == "Name":
            columns.append(column("Name", NAME_DOC, fmt="name"))
            continue
        if line == "Age":
            columns.append(column("Age", AGE_DOC))
            continue
        if line == "Containers":
            columns += [
                column("Containers", CONTAINERS_DOC, priority=1),
                column("Images", IMAGES_DOC, priority=1),
            ]
            continue
        head, _, description = line.partition(": ")
        title, _, flag_text = head.partition(" [")
        flags = set(flag_text.rstrip("]").split(",")) if flag_text else set()
        cell_type = "integer" if "integer" in flags else "date" if "date" in flags else "string"
        name_format = "name" if "name" in flags else ""
        columns.append(
            column(title, description, type_=cell_type, fmt=name_format, priority=int("wide" in flags))
        )
    return columns


# --- time -----------------------------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (`2026-11-27T08:17:33Z`, fractions allowed) or None."""
    return parse_time_or_none(value, naive_utc=True)


def since(value: Any, now: datetime) -> str:
    when = parse_time(value)
    return "<unknown>" if when is None else human_duration((now - when).total_seconds())


# --- small formatters -----------------------------------------------------------------------------------------


def format_labels(labels: dict[str, str] | None) -> str:
    """`a=b,c=d` sorted by key, or `<none>` (labels.FormatLabels)."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def format_selector(selector: Obj | None) -> str:
    """A LabelSelector in selector syntax, requirements sorted by key, or `<none>`."""
    if not selector:
        return "<none>"
    parts: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), sorted(expr.get("values") or [])
        if op == "In":
            parts.append((key, f"{key} in ({','.join(values)})"))
        elif op == "NotIn":
            parts.append((key, f"{key} notin ({','.join(values)})"))
        elif op == "Exists":
            parts.append((key, key))
        elif op == "DoesNotExist":
            parts.append((key, f"!{key}"))
    return ",".join(text for _, text in sorted(parts)) or "<none>"


def containers_and_images(template_spec: Obj) -> tuple[str, str]:
    containers = template_spec.get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def template_spec(obj: Obj) -> Obj:
    return ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def age(obj: Obj, now: datetime) -> str:
    return since((obj.get("metadata") or {}).get("creationTimestamp"), now)


DEFAULT_COLUMNS = columns(
    """
    Name
    Created At [date]: CreationTimestamp is a timestamp representing the server time when this object was created.
"""
)


def default_row(obj: Obj, now: datetime) -> Row:
    created = parse_time((obj.get("metadata") or {}).get("creationTimestamp"))
    return [name_of(obj), format_time(created) if created else None], None


def condition_true(conditions: list[Obj], type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in conditions)
