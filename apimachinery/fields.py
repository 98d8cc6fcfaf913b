"""Field selectors as the apiserver applies them (k8s.io/apimachinery `pkg/fields` plus the per-kind field sets).

    <selector>    ::= "" | <term> ( "," <term> )*
    <term>        ::= FIELD ( "=" | "==" | "!=" ) VALUE

In VALUE, `\\`, `,` and `=` must be escaped with a backslash; FIELD is everything before the first operator.
Empty terms are skipped. A field is read from the object as a dotted path; a missing field reads as "" (so
`spec.nodeName=` selects unscheduled pods), booleans as "true"/"false", numbers in decimal. Which fields a kind
accepts is `supported_fields(kind)`; `validate_for` raises Kubernetes' "field label not supported" error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EQUALS = "="
NOT_EQUALS = "!="
# At each position "!=" and "==" are tried before "=", so "a==b" is a=b, not a= "=b".
_TERM_OPERATORS = ("!=", "==", "=")

_COMMON_FIELDS = frozenset({"metadata.name", "metadata.namespace"})
_KIND_FIELDS: dict[str, frozenset[str]] = {
    "Pod": frozenset(
        {
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        }
    ),
    "Event": frozenset(
        {
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        }
    ),
    "Node": frozenset({"spec.unschedulable"}),
    "Namespace": frozenset({"status.phase"}),
    "Secret": frozenset({"type"}),
    "ReplicaSet": frozenset({"status.replicas"}),
    "ReplicationController": frozenset({"status.replicas"}),
}
# Field label -> path in the object, where they differ (core/v1 Event).
_EVENT_PATHS = {"source": "source.component"}
# events.k8s.io Events are selected with the core field labels, as Kubernetes serves both from one storage.
_EVENTS_K8S_IO_PATHS = {
    "source": "deprecatedSource.component",
    "reportingComponent": "reportingController",
    **{
        f"involvedObject.{f}": f"regarding.{f}"
        for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
    },
}
# Go zero values of non-pointer fields, which Kubernetes compares when the JSON omits the field.
_ZERO_VALUES = {
    ("Node", "spec.unschedulable"): "false",
    ("Pod", "spec.hostNetwork"): "false",
    ("ReplicaSet", "status.replicas"): "0",
    ("ReplicationController", "status.replicas"): "0",
}


def supported_fields(kind: str) -> set[str]:
    """Field labels the apiserver accepts in a field selector for objects of `kind`."""
    return set(_COMMON_FIELDS | _KIND_FIELDS.get(kind, frozenset()))


def _path_for(obj: Mapping[str, Any], field: str, kind: str) -> str:
    if kind == "Event":
        if str(obj.get("apiVersion", "")).startswith("events.k8s.io/"):
            return _EVENTS_K8S_IO_PATHS.get(field, field)
        return _EVENT_PATHS.get(field, field)
    return field


def field_value(obj: Mapping[str, Any], field: str, kind: str | None = None) -> str:
    """The string a field selector compares for `field` of `obj` ("" when missing)."""
    kind = kind or str(obj.get("kind", ""))
    current: Any = obj
    for part in _path_for(obj, field, kind).split("."):
        if not isinstance(current, Mapping) or part not in current:
            return _ZERO_VALUES.get((kind, field), "")
        current = current[part]
    if isinstance(current, bool):
        return "true" if current else "false"
    if isinstance(current, str):
        return current
    if isinstance(current, int | float):
        return str(current)
    if current is None:
        return _ZERO_VALUES.get((kind, field), "")
    return ""


def escape_value(value: str) -> str:
    """Escape `\\`, `,` and `=` so `value` can stand in a field selector."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_value(text: str) -> str:
    """Undo `escape_value`; raises ValueError on an unknown escape or an unescaped `,` or `=`."""
    out: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            if ch not in "\\,=":
                raise ValueError(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            raise ValueError(f"invalid field selector: unescaped character in value: {ch!r}")
        else:
            out.append(ch)
    if escaped:
        raise ValueError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


@dataclass(frozen=True)
class FieldRequirement:
    """`field = value` or `field != value` (`==` is stored as `=`)."""

    field: str
    operator: str
    value: str

    def matches(self, obj: Mapping[str, Any], kind: str | None = None) -> bool:
        equal = field_value(obj, self.field, kind) == self.value
        return equal if self.operator == EQUALS else not equal

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{escape_value(self.value)}"


@dataclass(frozen=True)
class FieldSelector:
    """An AND of field requirements in canonical order; no requirements matches everything."""

    requirements: tuple[FieldRequirement, ...] = ()

    @classmethod
    def empty(cls) -> FieldSelector:
        return cls()

    everything = empty

    def is_empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: Mapping[str, Any], kind: str | None = None) -> bool:
        """True when every requirement holds; `kind` defaults to `obj["kind"]` (it picks per-kind paths)."""
        return all(r.matches(obj, kind) for r in self.requirements)

    def exact(self, field: str) -> str | None:
        """The value an `=` requirement pins `field` to, else None (for narrowing through an index)."""
        for r in self.requirements:
            if r.field == field and r.operator == EQUALS:
                return r.value
        return None

    def fields(self) -> set[str]:
        return {r.field for r in self.requirements}

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _canonical(requirements: list[FieldRequirement]) -> FieldSelector:
    # Kubernetes sorts the raw terms; sorting the canonical terms gives the same order for canonical input
    # and makes parse(str(s)) == s hold for any input.
    return FieldSelector(tuple(sorted(requirements, key=str)))


def selector_from_set(fields: Mapping[str, str] | None) -> FieldSelector:
    """A selector requiring each field to equal its value; None/{} -> everything."""
    return _canonical([FieldRequirement(f, EQUALS, v) for f, v in (fields or {}).items()])


def _split_terms(text: str) -> list[str]:
    terms: list[str] = []
    start, escaped = 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in _TERM_OPERATORS:
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def parse(text: str) -> FieldSelector:
    """Parse a field selector string; raises ValueError naming the term it cannot understand."""
    requirements: list[FieldRequirement] = []
    for term in _split_terms(text):
        if not term:
            continue
        split = _split_term(term)
        if split is None:
            raise ValueError(f"invalid selector: '{text}'; can't understand '{term}'")
        field, op, raw = split
        requirements.append(
            FieldRequirement(field, NOT_EQUALS if op == NOT_EQUALS else EQUALS, unescape_value(raw))
        )
    return _canonical(requirements)


def validate_for(selector: FieldSelector, kind: str) -> None:
    """Raise ValueError("field label not supported: F") for the first field `kind` does not support."""
    allowed = supported_fields(kind)
    for r in selector.requirements:
        if r.field not in allowed:
            raise ValueError(f"field label not supported: {r.field}")
