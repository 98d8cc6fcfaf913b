"""Print protobuf overlay lines (apiserver/protobuf_fields.py) for Go types of k8s.io/api, from their struct tags.

    python scripts/protobuf_overlay.py K8S_API_CHECKOUT/batch/v1/types.go Job JobSpec JobTemplateSpec

Each field with a `protobuf:"...,N,..."` tag becomes `json=N`, with `!` where a zero value means something (a
pointer, or a field without omitempty) and `:Type^` for an embedded struct whose fields JSON writes inline. Types
are left to the schema. Review the output: it is a starting point, not the source of truth (the checks in
tests/unit/test_protobuf.py are).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_STRUCT = re.compile(r"^type (\w+) struct \{$")
_FIELD = re.compile(r"^\t(?:(\w+)\s+)?(\*?[\w.\[\]*]+)\s+`(.*)`")
_TAG = re.compile(r'(\w+):"([^"]*)"')


def structs(source: str) -> dict[str, list[str]]:
    """The field lines of each struct, by name."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in source.splitlines():
        match = _STRUCT.match(line)
        if match:
            current = found.setdefault(match.group(1), [])
        elif line == "}":
            current = None
        elif current is not None and line.startswith("\t") and not line.startswith("\t\t"):
            current.append(line)
    return found


def overlay_line(name: str, lines: list[str]) -> str:
    specs = []
    for line in lines:
        match = _FIELD.match(line)
        if not match:
            continue
        field, go_type, tags = match.groups()
        tag = dict(_TAG.findall(tags))
        if "protobuf" not in tag:
            continue
        number = tag["protobuf"].split(",")[1]
        json_name, *options = tag.get("json", "").split(",")
        if "inline" in options or (field is None and not json_name):
            embedded = go_type.lstrip("*").rpartition(".")[2]
            specs.append(f"{embedded[:1].lower()}{embedded[1:]}={number}:{embedded}^")
            continue
        keep = go_type.startswith("*") or "omitempty" not in options
        specs.append(f"{json_name}={number}" + ("!" if keep else ""))
    return f"{name}: " + " ".join(specs)


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    found = structs(Path(argv[1]).read_text())
    for name in argv[2:]:
        if name not in found:
            print(f"# {name}: no such struct", file=sys.stderr)
            continue
        print(overlay_line(name, found[name]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
