"""describe text for HorizontalPodAutoscalers (autoscaling/v2), in kubectl's layout
(describeHorizontalPodAutoscalerV2)."""

from __future__ import annotations

from typing import Any

from cli.describers import Doc, described, events, header, sections, when

Obj = dict[str, Any]


def _metric_line(d: Doc, spec: Obj, status: Obj | None) -> None:
    kind = spec.get("type")
    if kind not in ("Resource", "ContainerResource"):
        d.w(1, f"<unknown metric type {kind}>\n")
        return
    key = "resource" if kind == "Resource" else "containerResource"
    source = spec.get(key) or {}
    target = source.get("target") or {}
    current = ((status or {}).get(key) or {}).get("current") or {}
    what = f"resource {source.get('name', '')}"
    if kind == "ContainerResource":
        what += f' of container "{source.get("container", "")}"'
    what += " on pods"
    if target.get("averageValue") is not None:
        d.w(1, f"{what}:\t{current.get('averageValue', '<unknown>')} / {target['averageValue']}\n")
        return
    now = "<unknown>"
    if current.get("averageUtilization") is not None:
        now = f"{current['averageUtilization']}% ({current.get('averageValue', '')})"
    goal = "<auto>" if target.get("averageUtilization") is None else f"{target['averageUtilization']}%"
    d.w(1, f"{what}  (as a percentage of request):\t{now} / {goal}\n")


def _direction(d: Doc, title: str, rules: Obj | None) -> None:
    if not rules:
        return
    d.w(1, f"{title}:\n")
    if rules.get("stabilizationWindowSeconds") is not None:
        d.w(2, f"Stabilization Window: {rules['stabilizationWindowSeconds']} seconds\n")
    policies = rules.get("policies") or []
    if policies:
        d.w(2, f"Select Policy: {rules.get('selectPolicy') or 'Max'}\n")
        d.w(2, "Policies:\n")
        for p in policies:
            d.w(
                3,
                f"- Type: {p.get('type')}\tValue: {p.get('value')}\tPeriod: {p.get('periodSeconds')} seconds\n",
            )


@described
def hpa_text(d: Doc, hpa: Obj, evs: list[Obj]) -> None:
    meta, spec, status = sections(hpa)
    ref = spec.get("scaleTargetRef") or {}
    header(d, meta)
    d.w(0, f"CreationTimestamp:\t{when(meta.get('creationTimestamp'))}\n")
    d.w(0, f"Reference:\t{ref.get('kind', '')}/{ref.get('name', '')}\n")
    d.w(0, "Metrics:\t( current / target )\n")
    current = status.get("currentMetrics") or []
    for i, metric in enumerate(spec.get("metrics") or []):
        _metric_line(d, metric, current[i] if i < len(current) else None)
    minimum = spec.get("minReplicas")
    d.w(0, f"Min replicas:\t{'<unset>' if minimum is None else minimum}\n")
    d.w(0, f"Max replicas:\t{spec.get('maxReplicas', '')}\n")
    behavior = spec.get("behavior")
    if behavior:
        d.w(0, "Behavior:\n")
        _direction(d, "Scale Up", behavior.get("scaleUp"))
        _direction(d, "Scale Down", behavior.get("scaleDown"))
    d.w(0, f"{ref.get('kind', '')} pods:\t")
    d.w(0, f"{status.get('currentReplicas', 0)} current / {status.get('desiredReplicas', 0)} desired\n")
    conditions = status.get("conditions") or []
    if conditions:
        d.w(0, "Conditions:\n")
        d.table_head(1, "Type", "Status", "Reason", "Message")
        for c in conditions:
            d.w(1, f"{c.get('type')}\t{c.get('status')}\t{c.get('reason', '')}\t{c.get('message', '')}\n")
    events(d, evs)
