"""NetworkPolicies: NAME, POD-SELECTOR, AGE (kubectl's printNetworkPolicy)."""

from __future__ import annotations

from datetime import datetime

from apiserver.printers.common import Obj, Row, age, columns, format_selector, name_of

NETWORKPOLICY_COLUMNS = columns(
    """
    Name
    Pod-Selector: podSelector selects the pods to which this NetworkPolicy object applies. The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods. In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.
    Age
"""
)


def networkpolicy_row(obj: Obj, now: datetime) -> Row:
    spec = obj.get("spec") or {}
    selector = spec.get("podSelector") if isinstance(spec, dict) else None
    # metav1.FormatLabelSelector: an empty selector (all pods) prints as <none>.
    return [
        name_of(obj),
        format_selector(selector if isinstance(selector, dict) else None),
        age(obj, now),
    ], None
