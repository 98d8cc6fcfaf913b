"""Node selector terms and tolerations, with Kubernetes' matching rules (the scheduler's filters and the DaemonSet
controller both decide with them).

* A `NodeSelectorTerm` ANDs its `matchExpressions` (on labels) and `matchFields` (only `metadata.name`);
  a term with neither matches no node. Terms of a `NodeSelector` are ORed.
* Operators: `In`, `NotIn` (true when the key is absent), `Exists`, `DoesNotExist`, `Gt`, `Lt` (both sides must
  be integers, else no match).
* A toleration tolerates a taint when its effect is empty or equal, its key is empty or equal, and its operator
  is `Exists` or (`Equal`, the default) with an equal value. An empty key with `Exists` tolerates everything.
"""

from __future__ import annotations

from typing import Any


def _as_int(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def match_requirement(requirement: dict[str, Any], values_by_key: dict[str, str]) -> bool:
    key = requirement.get("key") or ""
    operator = requirement.get("operator") or ""
    values = [str(v) for v in requirement.get("values") or []]
    present = key in values_by_key
    value = values_by_key.get(key)
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt"):
        if not present or len(values) != 1:
            return False
        have, want = _as_int(value or ""), _as_int(values[0])
        if have is None or want is None:
            return False
        return have > want if operator == "Gt" else have < want
    return False  # unknown operators never match (validation rejects them)


def match_term(term: dict[str, Any] | None, labels: dict[str, str], node_name: str) -> bool:
    if not term:
        return False
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    field_values = {"metadata.name": node_name}
    for requirement in fields:
        if requirement.get("key") != "metadata.name" or not match_requirement(requirement, field_values):
            return False
    return all(match_requirement(requirement, labels) for requirement in expressions)


def match_node_selector(selector: dict[str, Any] | None, labels: dict[str, str], node_name: str) -> bool:
    """Whether a NodeSelector (ORed terms) matches; a selector without terms matches nothing."""
    terms = (selector or {}).get("nodeSelectorTerms") or []
    return any(match_term(term, labels, node_name) for term in terms)


def tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    effect = toleration.get("effect") or ""
    if effect and effect != (taint.get("effect") or ""):
        return False
    key = toleration.get("key") or ""
    if key and key != (taint.get("key") or ""):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerated(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    return any(tolerates(toleration, taint) for toleration in tolerations)
