"""Label selectors: the grammar and semantics of k8s.io/apimachinery `pkg/labels`, as pure functions.

    <selector>     ::= "" | <requirement> ( "," <requirement> )*
    <requirement>  ::= "!" KEY | KEY [ ("in" | "notin") "(" VALUE ( "," VALUE )* ")" | ("=" | "==" | "!=" | ">" | "<") VALUE ]

`parse(text)` returns a `Selector` (an AND of `Requirement`s, sorted by key so equal inputs give equal
selectors) or raises `ValueError` naming the bad part. `str(selector)` is the canonical form and parses back
to an equal selector. `!=` and `notin` match objects that lack the key; `in` and `=` need it; `>`/`<` need an
integer value. An empty selector matches everything; `Selector.nothing()` matches nothing (what a missing
LabelSelector object means, see `from_label_selector`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apimachinery.validation.syntax import is_label_value, is_qualified_name

_INT_RE = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _parse_int64(text: str) -> int | None:
    # Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, no spaces or underscores.
    if not _INT_RE.fullmatch(text):
        return None
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


class Operator(enum.StrEnum):
    """Requirement operators; the values are Kubernetes' `selection.Operator` strings."""

    IN = "in"
    NOT_IN = "notin"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"


_SET_OPS = {Operator.IN, Operator.NOT_IN}
_EXACT_OPS = {Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS}
_UNARY_OPS = {Operator.EXISTS, Operator.DOES_NOT_EXIST}
_NUMERIC_OPS = {Operator.GREATER_THAN, Operator.LESS_THAN}
_OP_TEXT = {
    Operator.EQUALS: "=",
    Operator.DOUBLE_EQUALS: "==",
    Operator.NOT_EQUALS: "!=",
    Operator.IN: " in ",
    Operator.NOT_IN: " notin ",
    Operator.GREATER_THAN: ">",
    Operator.LESS_THAN: "<",
}


@dataclass(frozen=True)
class Requirement:
    """One `key <operator> values` condition. `values` is kept sorted and without duplicates.

    The constructor does not validate (like Kubernetes' SelectorFromValidatedSet); `Requirement.create` does.
    """

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "operator", Operator(self.operator))
        object.__setattr__(self, "values", tuple(sorted(set(self.values))))

    @classmethod
    def create(cls, key: str, operator: Operator | str, values: Iterable[str] = ()) -> Requirement:
        """A validated requirement; raises ValueError listing every problem."""
        values = list(values)
        errs = [f'key: Invalid value: "{key}": {msg}' for msg in is_qualified_name(key)]
        try:
            op = Operator(operator)
        except ValueError:
            supported = ", ".join(f'"{o.value}"' for o in Operator)
            raise ValueError(
                f'operator: Unsupported value: "{operator}": supported values: {supported}'
            ) from None
        if op in _SET_OPS and not values:
            errs.append("values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty")
        elif op in _EXACT_OPS and len(values) != 1:
            errs.append(
                f"values: Invalid value: {values}: exact-match compatibility requires one single value"
            )
        elif op in _UNARY_OPS and values:
            errs.append(
                f"values: Invalid value: {values}: values set must be empty for exists and does not exist"
            )
        elif op in _NUMERIC_OPS:
            if len(values) != 1:
                errs.append(
                    f"values: Invalid value: {values}: for 'Gt', 'Lt' operators, exactly one value is required"
                )
            errs += [
                f"values[{i}]: Invalid value: \"{v}\": for 'Gt', 'Lt' operators, the value must be an integer"
                for i, v in enumerate(values)
                if _parse_int64(v) is None
            ]
        for i, value in enumerate(values):
            errs += [f'values[{i}][{key}]: Invalid value: "{value}": {msg}' for msg in is_label_value(value)]
        if errs:
            raise ValueError("; ".join(errs))
        return cls(key, op, tuple(values))

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        op = self.operator
        if op is Operator.EXISTS:
            return self.key in labels
        if op is Operator.DOES_NOT_EXIST:
            return self.key not in labels
        if self.key not in labels:
            # Negative operators hold for an absent key; positive and numeric ones need it.
            return op is Operator.NOT_IN or op is Operator.NOT_EQUALS
        value = labels[self.key]
        if op in _NUMERIC_OPS:
            have = _parse_int64(value)
            want = _parse_int64(self.values[0]) if len(self.values) == 1 else None
            if have is None or want is None:
                return False
            return have > want if op is Operator.GREATER_THAN else have < want
        found = value in self.values
        return not found if op in (Operator.NOT_IN, Operator.NOT_EQUALS) else found

    def __str__(self) -> str:
        if self.operator is Operator.EXISTS:
            return self.key
        if self.operator is Operator.DOES_NOT_EXIST:
            return "!" + self.key
        joined = ",".join(self.values)
        if self.operator in _SET_OPS:
            joined = f"({joined})"
        return f"{self.key}{_OP_TEXT[self.operator]}{joined}"


def _sorted(requirements: Iterable[Requirement]) -> tuple[Requirement, ...]:
    # Stable, so requirements on the same key keep their written order (and survive a str/parse round trip).
    return tuple(sorted(requirements, key=lambda r: r.key))


@dataclass(frozen=True)
class Selector:
    """An AND of requirements, sorted by key. No requirements = matches everything, unless `is_nothing`."""

    requirements: tuple[Requirement, ...] = ()
    is_nothing: bool = field(default=False)

    @classmethod
    def empty(cls) -> Selector:
        """The selector that matches everything (Kubernetes' `labels.Everything()`)."""
        return cls()

    everything = empty

    @classmethod
    def nothing(cls) -> Selector:
        """The selector that matches nothing (Kubernetes' `labels.Nothing()`); its string form is ""."""
        return cls((), True)

    def is_empty(self) -> bool:
        """True when the selector does not restrict anything (matches every label set)."""
        return not self.is_nothing and not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.is_nothing:
            return False
        return all(r.matches(labels) for r in self.requirements)

    def add(self, *requirements: Requirement) -> Selector:
        """A new selector with `requirements` added (a nothing-selector stays nothing)."""
        if self.is_nothing:
            return self
        return Selector(_sorted((*self.requirements, *requirements)))

    def requires_exact_match(self, key: str) -> str | None:
        """The single value `key` must have to match (from `=`, `==` or a one-value `in`), else None.

        Lets a caller narrow a list through an index before matching the whole selector.
        """
        for r in self.requirements:
            if r.key == key and len(r.values) == 1:
                if r.operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.IN):
                    return r.values[0]
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def selector_from_set(labels: Mapping[str, str] | None) -> Selector:
    """A selector matching label sets that contain all of `labels` (not validated); None/{} -> everything."""
    if not labels:
        return Selector()
    return Selector(_sorted(Requirement(k, Operator.EQUALS, (v,)) for k, v in labels.items()))


_LABEL_SELECTOR_OPS = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
}


def from_label_selector(obj: Mapping[str, Any] | None) -> Selector:
    """Convert a LabelSelector object (`matchLabels`, `matchExpressions`) as Kubernetes'
    `LabelSelectorAsSelector` does: None -> nothing, `{}` -> everything; raises ValueError when invalid."""
    if obj is None:
        return Selector.nothing()
    match_labels: Mapping[str, str] = obj.get("matchLabels") or {}
    expressions: list[Mapping[str, Any]] = obj.get("matchExpressions") or []
    requirements = [Requirement.create(k, Operator.EQUALS, [v]) for k, v in match_labels.items()]
    for expr in expressions:
        op = _LABEL_SELECTOR_OPS.get(expr.get("operator", ""))
        if op is None:
            raise ValueError(f'"{expr.get("operator", "")}" is not a valid label selector operator')
        requirements.append(Requirement.create(expr.get("key", ""), op, expr.get("values") or []))
    return Selector(_sorted(requirements))


def to_string(obj: Mapping[str, Any] | None) -> str:
    """A LabelSelector object as `kubectl get -o wide` shows it: "<none>" when empty, "<error>" when invalid."""
    try:
        text = str(from_label_selector(obj))
    except ValueError:
        return "<error>"
    return text or "<none>"


def parse(text: str) -> Selector:
    """Parse a label selector string; raises ValueError with a message naming the offending part."""
    return Selector(_sorted(_Parser(text).parse()))


# --- lexer and parser -------------------------------------------------------------------------------------

_WHITESPACE = " \t\r\n"
_SPECIAL = "=!(),><"
_TWO_CHAR_SYMBOLS = {"==", "!="}
_IDENT, _END = "identifier", "end of string"
_KEYWORDS = {"in", "notin"}
_BINARY_OPS = {
    "in": Operator.IN,
    "notin": Operator.NOT_IN,
    "=": Operator.EQUALS,
    "==": Operator.DOUBLE_EQUALS,
    "!=": Operator.NOT_EQUALS,
    ">": Operator.GREATER_THAN,
    "<": Operator.LESS_THAN,
}


def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens as (kind, literal); kind is a symbol, a keyword ("in", "notin"), _IDENT or _END."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i >= n:
            tokens.append((_END, ""))
            return tokens
        if text[i] in _SPECIAL:
            # Longest symbol wins: "!=" and "==" before "!" and "=".
            sym = text[i : i + 2] if text[i : i + 2] in _TWO_CHAR_SYMBOLS else text[i]
            tokens.append((sym, sym))
            i += len(sym)
            continue
        start = i
        while i < n and text[i] not in _SPECIAL and text[i] not in _WHITESPACE:
            i += 1
        word = text[start:i]
        tokens.append((word if word in _KEYWORDS else _IDENT, word))


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0

    def _peek(self, *, values: bool = True) -> tuple[str, str]:
        kind, lit = self.tokens[self.pos]
        # Where a value or key is expected, "in" and "notin" are plain identifiers ("notin=in" is valid).
        return (_IDENT, lit) if values and kind in _KEYWORDS else (kind, lit)

    def _next(self, *, values: bool = True) -> tuple[str, str]:
        token = self._peek(values=values)
        self.pos += 1
        return token

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            kind, lit = self._peek()
            if kind == _END:
                return requirements
            if kind not in (_IDENT, "!"):
                raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self._requirement())
            except ValueError as exc:
                raise ValueError(f"unable to parse requirement: {exc}") from exc
            kind, lit = self._next()
            if kind == _END:
                return requirements
            if kind != ",":
                raise ValueError(f"found '{lit}', expected: ',' or 'end of string'")
            kind, lit = self._peek()
            if kind not in (_IDENT, "!"):
                raise ValueError(f"found '{lit}', expected: identifier after ','")

    def _requirement(self) -> Requirement:
        negated = False
        kind, key = self._next()
        if kind == "!":
            negated = True
            kind, key = self._next()
        if kind != _IDENT:
            raise ValueError(f"found '{key}', expected: identifier")
        errs = is_qualified_name(key)
        if errs:
            raise ValueError(f'key: Invalid value: "{key}": ' + "; ".join(errs))
        if negated:
            return Requirement.create(key, Operator.DOES_NOT_EXIST)
        if self._peek()[0] in (_END, ","):
            return Requirement.create(key, Operator.EXISTS)
        kind, lit = self._next(values=False)
        op = _BINARY_OPS.get(kind)
        if op is None:
            expected = ", ".join(["in", "notin", "=", "==", "!=", ">", "<"])
            raise ValueError(f"found '{lit}', expected: {expected}")
        values = self._value_set() if op in _SET_OPS else self._exact_value()
        return Requirement.create(key, op, values)

    def _exact_value(self) -> list[str]:
        kind, lit = self._peek()
        if kind in (_END, ","):
            return [""]
        self.pos += 1
        if kind != _IDENT:
            raise ValueError(f"found '{lit}', expected: identifier")
        return [lit]

    def _value_set(self) -> list[str]:
        kind, lit = self._next()
        if kind != "(":
            raise ValueError(f"found '{lit}' expected: '('")
        values: list[str] = []
        # A list of possibly empty values: "()" is {""}, "(a,)" is {"a", ""}, "(,a)" is {"", "a"}.
        expect_value = True
        while True:
            kind, lit = self._next()
            if kind == _IDENT and expect_value:
                values.append(lit)
                expect_value = False
            elif kind == ",":
                if expect_value:
                    values.append("")
                expect_value = True
            elif kind == ")":
                if expect_value:
                    values.append("")
                return values
            elif kind == _IDENT:
                raise ValueError(f"found '{lit}', expected: ',' or ')'")
            else:
                raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")
