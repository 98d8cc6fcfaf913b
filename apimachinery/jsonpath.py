"""kubectl's JSONPath templates (`-o jsonpath='{.items[*].metadata.name}'`, `wait --for=jsonpath=...`).

Supported, as in kubectl: text outside braces; `{.a.b}`, `{$.a}`, `{.a['b.c']}`, `{.items[0]}`, `{.items[-1]}`,
`{.items[1:3]}`, `{.items[*]}`, `{..name}` (recursive), `{.items[?(@.status=="True")]}` (filters with
== != < > <= >= and existence), unions `{.a['b','c']}`, string literals `{"\\n"}`, and
`{range .items[*]}...{end}`. Several results of one expression print space-separated; strings print raw,
other values as JSON. Missing keys print nothing (kubectl's --allow-missing-template-keys default).

Shared by kctl (`-o jsonpath`, `wait --for=jsonpath`) and the apiserver (the additionalPrinterColumns of
CustomResourceDefinitions, which are JSONPaths too).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


class JSONPathError(ValueError):
    """The template does not parse."""


@dataclass
class _Seg:
    op: str  # field | recurse | index | slice | wildcard | union | filter
    arg: Any = None


@dataclass
class _Expr:
    segs: list[_Seg]
    literal: str | None = None


@dataclass
class _Range:
    expr: _Expr
    body: list[Any]


_FIELD = re.compile(r"[A-Za-z0-9_\-/$]+")


def _parse_path(text: str) -> list[_Seg]:
    text = text.strip()
    segs: list[_Seg] = []
    i = 0
    if text.startswith(("$", "@")):
        i = 1
    while i < len(text):
        ch = text[i]
        if text.startswith("..", i):
            m = _FIELD.match(text, i + 2)
            if not m:
                raise JSONPathError(f"invalid jsonpath {text!r}: expected a name after '..'")
            segs.append(_Seg("recurse", m.group()))
            i = m.end()
        elif ch == ".":
            if text.startswith(".*", i):
                segs.append(_Seg("wildcard"))
                i += 2
                continue
            m = _FIELD.match(text, i + 1)
            if not m:
                if i + 1 == len(text):  # "{.}" is the current object
                    i += 1
                    continue
                raise JSONPathError(f"invalid jsonpath {text!r} at position {i}")
            segs.append(_Seg("field", m.group()))
            i = m.end()
        elif ch == "[":
            end = _closing_bracket(text, i)
            segs.append(_bracket(text[i + 1 : end].strip(), text))
            i = end + 1
        else:
            m = _FIELD.match(text, i)
            if not m or segs:
                raise JSONPathError(f"invalid jsonpath {text!r} at position {i}")
            segs.append(_Seg("field", m.group()))
            i = m.end()
    return segs


def _closing_bracket(text: str, start: int) -> int:
    depth, quote = 0, ""
    for j in range(start, len(text)):
        c = text[j]
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return j
    raise JSONPathError(f"invalid jsonpath {text!r}: unterminated '['")


def _bracket(inner: str, whole: str) -> _Seg:
    if inner == "*":
        return _Seg("wildcard")
    if inner.startswith("?(") and inner.endswith(")"):
        return _Seg("filter", _parse_filter(inner[2:-1]))
    if inner[:1] in "'\"":
        names = [n.strip()[1:-1] for n in _split_commas(inner)]
        return _Seg("union", names)
    if re.fullmatch(r"-?\d*(:-?\d*){1,2}", inner):
        parts = [int(p) if p else None for p in inner.split(":")]
        return _Seg("slice", parts)
    if re.fullmatch(r"-?\d+(\s*,\s*-?\d+)*", inner):
        idx = [int(p) for p in inner.split(",")]
        return _Seg("index", idx)
    raise JSONPathError(f"invalid jsonpath {whole!r}: cannot parse [{inner}]")


def _split_commas(text: str) -> list[str]:
    parts, buf, quote = [], "", ""
    for c in text:
        if quote:
            buf += c
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
            buf += c
        elif c == ",":
            parts.append(buf)
            buf = ""
        else:
            buf += c
    parts.append(buf)
    return parts


_FILTER = re.compile(r"^\s*(@[^\s=!<>]*)\s*(==|!=|<=|>=|<|>)?\s*(.*?)\s*$")


def _parse_filter(text: str) -> tuple[list[_Seg], str | None, Any]:
    m = _FILTER.match(text)
    if not m or not m.group(1):
        raise JSONPathError(f"invalid jsonpath filter {text!r}")
    left, op, right = m.group(1), m.group(2), m.group(3)
    value: Any = None
    if op:
        value = _literal(right)
    return _parse_path(left), op, value


def _literal(text: str) -> Any:
    if text[:1] in "'\"" and text[-1:] == text[:1]:
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


def parse(template: str) -> list[Any]:
    """The template as a list of text strings, `_Expr`s and `_Range`s."""
    nodes: list[Any] = []
    stack: list[list[Any]] = [nodes]
    ranges: list[_Range] = []
    i = 0
    while i < len(template):
        start = template.find("{", i)
        if start < 0:
            stack[-1].append(template[i:])
            break
        if start > i:
            stack[-1].append(template[i:start])
        end = _closing_brace(template, start)
        action = template[start + 1 : end].strip()
        i = end + 1
        if action.startswith("range ") or action.startswith("range\t"):
            rng = _Range(_Expr(_parse_path(action[6:])), [])
            stack[-1].append(rng)
            stack.append(rng.body)
            ranges.append(rng)
        elif action == "end":
            if not ranges:
                raise JSONPathError(f"invalid jsonpath {template!r}: 'end' without 'range'")
            ranges.pop()
            stack.pop()
        elif action[:1] in "'\"" and action[-1:] == action[:1] and len(action) >= 2:
            stack[-1].append(_Expr([], literal=_unescape(action[1:-1])))
        else:
            stack[-1].append(_Expr(_parse_path(action)))
    if ranges:
        raise JSONPathError(f"invalid jsonpath {template!r}: 'range' without 'end'")
    return nodes


def _closing_brace(text: str, start: int) -> int:
    quote = ""
    for j in range(start + 1, len(text)):
        c = text[j]
        if quote:
            if c == quote and text[j - 1] != "\\":
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "}":
            return j
    raise JSONPathError(f"invalid jsonpath {text!r}: unclosed action")


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r").replace('\\"', '"')


def evaluate(segs: list[_Seg], root: Any) -> list[Any]:
    """The values that the path selects from `root` (missing keys select nothing)."""
    values = [root]
    for seg in segs:
        out: list[Any] = []
        for v in values:
            out.extend(_step(seg, v))
        values = out
    return values


def _step(seg: _Seg, v: Any) -> list[Any]:
    if seg.op == "field":
        return [v[seg.arg]] if isinstance(v, dict) and seg.arg in v else []
    if seg.op == "union":
        return [v[n] for n in seg.arg if isinstance(v, dict) and n in v]
    if seg.op == "wildcard":
        if isinstance(v, list):
            return list(v)
        return [v[k] for k in sorted(v)] if isinstance(v, dict) else []
    if seg.op == "index":
        if not isinstance(v, list):
            return []
        return [v[i] for i in seg.arg if -len(v) <= i < len(v)]
    if seg.op == "slice":
        if not isinstance(v, list):
            return []
        parts = [*seg.arg, None, None][:3]
        return v[slice(*parts)]
    if seg.op == "recurse":
        return _recurse(v, seg.arg)
    if seg.op == "filter":
        items = v if isinstance(v, list) else [v]
        return [item for item in items if _matches(seg.arg, item)]
    raise AssertionError(seg.op)


def _recurse(v: Any, name: str) -> list[Any]:
    found: list[Any] = []
    if isinstance(v, dict):
        if name in v:
            found.append(v[name])
        for child in v.values():
            found.extend(_recurse(child, name))
    elif isinstance(v, list):
        for child in v:
            found.extend(_recurse(child, name))
    return found


def _matches(flt: tuple[list[_Seg], str | None, Any], item: Any) -> bool:
    path, op, want = flt
    got = evaluate(path, item)
    if op is None:
        return bool(got)
    if not got:
        return op == "!="
    value = got[0]
    try:
        return {
            "==": lambda: value == want or str(value) == str(want),
            "!=": lambda: value != want and str(value) != str(want),
            "<": lambda: value < want,
            ">": lambda: value > want,
            "<=": lambda: value <= want,
            ">=": lambda: value >= want,
        }[op]()
    except TypeError:
        return False


def format_value(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return json.dumps(v, separators=(",", ":"))


def render(template: str, data: Any) -> str:
    return _render(parse(template), data)


def _render(nodes: list[Any], data: Any) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _Range):
            for item in evaluate(node.expr.segs, data):
                out.append(_render(node.body, item))
        elif node.literal is not None:
            out.append(node.literal)
        else:
            out.append(" ".join(format_value(v) for v in evaluate(node.segs, data)))
    return "".join(out)
