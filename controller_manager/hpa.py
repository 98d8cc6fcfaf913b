"""The HorizontalPodAutoscaler controller: every sync period, set each HPA's target to the replicas its metrics
ask for.

One pass over an HPA (upstream's reconcileAutoscaler, pkg/controller/podautoscaler/horizontal.go):

    scale target -> GET its scale subresource (current replicas, selector)
    metrics      -> the pods the selector selects (informer cache) and their PodMetrics (MetricsClient)
                 -> a proposal per metric (hpa_replicas), the largest wins
    normalize    -> stabilization windows and policies, or the legacy limits without a behavior (hpa_behavior)
    act          -> PUT the scale subresource when the count changes; status (currentMetrics, current/desired
                    replicas, lastScaleTime, conditions AbleToScale/ScalingActive/ScalingLimited) and events

Like upstream, every HPA comes back after the sync period whatever happened (the queue adds each key with that
delay), and the recommendations and scale events the windows need live in memory (`History`): a restarted
controller starts the windows afresh.
"""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime

from apimachinery import labels
from apimachinery.errors import StatusError, ignore_not_found, is_conflict
from apimachinery.resources import ResourceInfo, by_kind, must_resource
from apimachinery.timefmt import format_time
from apimachinery.validation import parse_quantity
from apimachinery.validation.autoscaling import (
    default_scale_down,
    default_scale_up,
    filled_rules,
    group_version_ok,
)
from controller_manager import hpa_behavior, hpa_replicas
from controller_manager.base import PODS, Context, Controller
from controller_manager.hpa_behavior import History, Normalized
from controller_manager.hpa_metrics import APIMetricsClient, MetricsClient, MetricsUnavailable
from controller_manager.hpa_replicas import MetricError, Proposal, milli_quantity
from controller_manager.hpa_status import set_condition, status_changed
from controller_manager.podutil import Obj, key_of

log = logging.getLogger(__name__)

HPAS = must_resource("autoscaling", "horizontalpodautoscalers")


class ScaleTargetError(Exception):
    """The scale target cannot be read or resolved."""


class HorizontalPodAutoscalerController(Controller):
    name = "horizontal-pod-autoscaler"

    def __init__(self, ctx: Context, metrics: MetricsClient | None = None) -> None:
        super().__init__(ctx)
        self.metrics: MetricsClient = metrics or APIMetricsClient(ctx.client)
        self.sync_period = ctx.options.hpa_sync_period
        self.hpa_informer = self.watch(HPAS, self._on_hpa, on_delete=self._on_hpa_delete)
        self.pod_informer = ctx.factory.informer(PODS)
        self.histories: dict[str, History] = {}
        self._resources: dict[tuple[str, str], ResourceInfo] = {}

    # -- handlers -------------------------------------------------------------------------------------------

    def _on_hpa(self, hpa: Obj) -> None:
        # As upstream: an HPA is looked at once per sync period, however often it changes.
        self.queue.add_after(key_of(hpa), self.sync_period)

    def _on_hpa_delete(self, hpa: Obj) -> None:
        self.histories.pop(key_of(hpa), None)

    # -- reconcile ------------------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        hpa = self.hpa_informer.store.get(key)
        if hpa is None:
            self.histories.pop(key, None)
            return None
        hpa = copy.deepcopy(hpa)  # the cache's copy is read-only
        original = copy.deepcopy(hpa.get("status") or {})
        try:
            await self._autoscale(key, hpa)
        finally:
            if status_changed(original, hpa["status"]):
                await self._write_status(hpa)
        return self.sync_period

    async def _autoscale(self, key: str, hpa: Obj) -> None:
        spec, status = hpa["spec"], hpa.setdefault("status", {})
        status["observedGeneration"] = hpa["metadata"].get("generation")
        ref = spec.get("scaleTargetRef") or {}
        try:
            target = await self._target_resource(ref)
            scale = await self.client.get(target, str(ref.get("name")), hpa["metadata"]["namespace"], "scale")
        except (ScaleTargetError, StatusError) as exc:
            message = f"the HPA controller was unable to get the target's current scale: {exc}"
            set_condition(status, "AbleToScale", "False", "FailedGetScale", message)
            self.recorder.event(hpa, "Warning", "FailedGetScale", str(exc))
            return
        set_condition(
            status,
            "AbleToScale",
            "True",
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale",
        )
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        minimum = int(spec.get("minReplicas") or 1)
        maximum = int(spec["maxReplicas"])
        metric_statuses: list[Obj] = list(status.get("currentMetrics") or [])
        reason = ""
        if current == 0 and minimum != 0:
            set_condition(
                status, "ScalingActive", "False", "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            )  # fmt: skip
            desired = 0
        elif current > maximum:
            desired, reason = maximum, "Current number of replicas above Spec.MaxReplicas"
        elif current < minimum:
            desired, reason = minimum, "Current number of replicas below Spec.MinReplicas"
        else:
            proposed, metric_statuses, reason = await self._replicas_for_metrics(hpa, scale, current)
            if proposed is None:
                status["currentReplicas"] = current
                status["currentMetrics"] = metric_statuses or None
                return
            desired = self._normalize(key, hpa, current, proposed, minimum, maximum)
        rescale = desired != current and not (current == 0 and minimum != 0)
        if rescale and not await self._rescale(key, hpa, target, scale, current, desired, reason):
            desired = -1  # the write failed: desiredReplicas stays as it was
        elif not rescale:
            desired = current
        status["currentReplicas"] = current
        if desired >= 0:
            status["desiredReplicas"] = desired
        status["currentMetrics"] = metric_statuses or None

    async def _rescale(
        self, key: str, hpa: Obj, target: ResourceInfo, scale: Obj, current: int, desired: int, reason: str
    ) -> bool:
        """Set the target's replicas through its scale subresource; conditions, event and history follow."""
        status = hpa["status"]
        try:
            body = {**scale, "spec": {**scale.get("spec", {}), "replicas": desired}}
            await self.client.update(target, body, subresource="scale")
        except StatusError as exc:
            if is_conflict(exc):
                raise  # the scale changed under us: the base requeues soon
            set_condition(
                status, "AbleToScale", "False", "FailedUpdateScale",
                f"the HPA controller was unable to update the target scale: {exc}",
            )  # fmt: skip
            message = f"New size: {desired}; reason: {reason}; error: {exc}"
            self.recorder.event(hpa, "Warning", "FailedRescale", message)
            return False
        set_condition(
            status, "AbleToScale", "True", "SucceededRescale",
            f"the HPA controller was able to update the target scale to {desired}",
        )  # fmt: skip
        self.recorder.event(hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
        now = datetime.now(UTC)
        hpa_behavior.record_scale(self._history(key), hpa["spec"].get("behavior"), current, desired, now)
        status["lastScaleTime"] = format_time(now)
        ref = hpa["spec"].get("scaleTargetRef") or {}
        target_name = f"{ref.get('kind')}/{ref.get('name')}"
        log.info(
            "rescaled",
            extra={"hpa": key, "target": target_name, "from": current, "to": desired, "reason": reason},
        )
        return True

    def _history(self, key: str) -> History:
        return self.histories.setdefault(key, History())

    def _normalize(self, key: str, hpa: Obj, current: int, proposed: int, minimum: int, maximum: int) -> int:
        now = datetime.now(UTC)
        behavior = hpa["spec"].get("behavior")
        history = self._history(key)
        result: Normalized
        if behavior is None:
            window = self.options.hpa_downscale_stabilization
            result = hpa_behavior.normalize_legacy(history, current, proposed, minimum, maximum, window, now)
        else:
            rules = {
                "scaleUp": filled_rules(behavior.get("scaleUp"), default_scale_up()),
                "scaleDown": filled_rules(behavior.get("scaleDown"), default_scale_down()),
            }
            result = hpa_behavior.normalize_with_behavior(
                history, current, proposed, minimum, maximum, rules, now
            )
        status = hpa["status"]
        set_condition(status, "AbleToScale", "True", result.able.reason, result.able.message)
        limited = "True" if result.limited else "False"
        set_condition(status, "ScalingLimited", limited, result.limit.reason, result.limit.message)
        return result.replicas

    async def _replicas_for_metrics(
        self, hpa: Obj, scale: Obj, current: int
    ) -> tuple[int | None, list[Obj], str]:
        """The largest proposal of the metrics that give one (None when none does), their statuses, and why."""
        status = hpa["status"]
        selector_text = str((scale.get("status") or {}).get("selector") or "")
        if not selector_text:
            message = "selector is required"
            set_condition(
                status,
                "ScalingActive",
                "False",
                "InvalidSelector",
                "the HPA target's scale is missing a selector",
            )
            self.recorder.event(hpa, "Warning", "SelectorRequired", message)
            return None, [], ""
        try:
            selector = labels.parse(selector_text)
        except ValueError as exc:
            set_condition(
                status,
                "ScalingActive",
                "False",
                "InvalidSelector",
                f"the HPA target's scale has an invalid selector: {exc}",
            )
            self.recorder.event(hpa, "Warning", "InvalidSelector", str(exc))
            return None, [], ""
        namespace = hpa["metadata"]["namespace"]
        pods = [
            p
            for p in self.pod_informer.store.by_index("namespace", namespace)
            if selector.matches(p["metadata"].get("labels"))
        ]
        best: int | None = None
        best_name = ""
        statuses: list[Obj] = []
        errors: list[str] = []
        for metric in hpa["spec"].get("metrics") or []:
            try:
                replicas, metric_status, name = await self._one_metric(
                    metric, namespace, selector_text, pods, current
                )
            except (MetricError, MetricsUnavailable, ValueError) as exc:
                errors.append(str(exc))
                statuses.append({"type": ""})
                reason = (
                    "FailedGetResourceMetric"
                    if metric.get("type") in ("Resource", "ContainerResource")
                    else "InvalidMetricSourceType"
                )
                set_condition(
                    status,
                    "ScalingActive",
                    "False",
                    reason,
                    f"the HPA was unable to compute the replica count: {exc}",
                )
                self.recorder.event(hpa, "Warning", reason, str(exc))
                continue
            statuses.append(metric_status)
            if best is None or replicas > best:
                best, best_name = replicas, name
        if best is None:
            total = len(hpa["spec"].get("metrics") or [])
            first = errors[0] if errors else "no metrics"
            message = f"invalid metrics ({len(errors)} invalid out of {total}), first error is: {first}"
            self.recorder.event(hpa, "Warning", "FailedComputeMetricsReplicas", message)
            return None, statuses, ""
        set_condition(
            status, "ScalingActive", "True", "ValidMetricFound",
            f"the HPA was able to successfully calculate a replica count from {best_name}",
        )  # fmt: skip
        reason = f"{best_name} above target" if best > current else "All metrics below target"
        return best, statuses, reason

    async def _one_metric(
        self, metric: Obj, namespace: str, selector: str, pods: list[Obj], current: int
    ) -> tuple[int, Obj, str]:
        kind = metric.get("type")
        if kind not in ("Resource", "ContainerResource"):
            raise ValueError(
                f"metric type {kind} is not supported by this controller (resource metrics only)"
            )
        key = "resource" if kind == "Resource" else "containerResource"
        source = metric[key]
        resource, target = str(source["name"]), source["target"]
        container = source.get("container") if kind == "ContainerResource" else None
        usage = await self.metrics.resource_metrics(namespace, selector, resource, container)
        now = datetime.now(UTC)
        tolerance = self.options.hpa_tolerance
        proposal: Proposal
        current_value: Obj
        if target.get("averageUtilization") is not None:
            proposal = hpa_replicas.utilization_replicas(
                current, int(target["averageUtilization"]), pods, usage, resource, now,
                container=container, tolerance=tolerance,
            )  # fmt: skip
            current_value = {
                "averageUtilization": proposal.utilization,
                "averageValue": milli_quantity(proposal.average),
            }
            name = f"{resource} resource utilization (percentage of request)"
        else:
            goal = round(parse_quantity(target.get("averageValue")) * 1000)
            proposal = hpa_replicas.average_value_replicas(
                current, goal, pods, usage, resource, now, tolerance=tolerance
            )
            current_value = {"averageValue": milli_quantity(proposal.average)}
            name = f"{resource} resource"
        entry: Obj = {"name": resource, "current": current_value}
        if container:
            entry["container"] = container
        return proposal.replicas, {"type": kind, key: entry}, name

    async def _target_resource(self, ref: Obj) -> ResourceInfo:
        """The resource of a scale target: a built-in kind, or what its group's discovery says (custom kinds)."""
        api_version, kind = str(ref.get("apiVersion") or ""), str(ref.get("kind") or "")
        info = by_kind(api_version, kind)
        if info is not None and "scale" in info.subresources:
            return info
        known = self._resources.get((api_version, kind))
        if known is not None:
            return known
        group, _, version = api_version.rpartition("/")
        if not group or not group_version_ok(api_version):  # it becomes a URL path below
            raise ScaleTargetError(
                f"no scale subresource known for {kind} of {api_version or 'no apiVersion'}"
            )
        try:
            listing = await self.client.request("GET", f"/apis/{group}/{version}")
        except StatusError as exc:
            raise ScaleTargetError(f"unable to find {kind} in {api_version}: {exc}") from exc
        names = {r.get("name") for r in listing.get("resources") or []}
        for entry in listing.get("resources") or []:
            plural = str(entry.get("name") or "")
            if entry.get("kind") == kind and "/" not in plural and f"{plural}/scale" in names:
                found = ResourceInfo(plural, kind, group, version, bool(entry.get("namespaced")))
                self._resources[(api_version, kind)] = found
                return found
        raise ScaleTargetError(f"{kind} of {api_version} has no scale subresource")

    async def _write_status(self, hpa: Obj) -> None:
        status = {k: v for k, v in hpa["status"].items() if v is not None}
        body = {**hpa, "status": status}
        with ignore_not_found():  # deleted meanwhile
            await self.client.update(HPAS, body, subresource="status")
