"""The HPA's replica arithmetic (controller_manager.hpa_replicas), case by case against upstream's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controller_manager.hpa_replicas import (
    MetricError,
    PodMetric,
    average_value_replicas,
    group_pods,
    milli_quantity,
    utilization_replicas,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
LONG_AGO = "2026-12-05T11:00:00Z"  # past the cpu initialization period


def pod(
    name: str,
    *,
    cpu: str | None = "100m",
    phase: str = "Running",
    ready: str = "True",
    started: str | None = LONG_AGO,
    since: str = LONG_AGO,
    deleting: bool = False,
) -> dict:
    resources = {"requests": {"cpu": cpu}} if cpu else {}
    status: dict = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": ready, "lastTransitionTime": since}],
    }
    if started:
        status["startTime"] = started
    md: dict = {"name": name}
    if deleting:
        md["deletionTimestamp"] = "2026-12-05T11:59:00Z"
    return {"metadata": md, "spec": {"containers": [{"name": "c", "resources": resources}]}, "status": status}


def usage(**values: int) -> dict[str, PodMetric]:
    return {
        name: PodMetric(v, NOW - timedelta(seconds=10), timedelta(seconds=30)) for name, v in values.items()
    }


def test_scales_up_by_the_usage_ratio() -> None:
    # 3 pods at 90m of 100m requested: 90% against a 50% target -> ceil(1.8 * 3) = 6
    pods = [pod("a"), pod("b"), pod("c")]
    got = utilization_replicas(3, 50, pods, usage(a=90, b=90, c=90), "cpu", NOW)
    assert (got.replicas, got.utilization, got.average) == (6, 90, 90)


def test_within_tolerance_keeps_the_count() -> None:
    pods = [pod("a"), pod("b")]
    assert utilization_replicas(2, 50, pods, usage(a=54, b=54), "cpu", NOW).replicas == 2  # ratio 1.08
    assert utilization_replicas(2, 50, pods, usage(a=56, b=56), "cpu", NOW).replicas == 3  # ratio 1.12


def test_scales_down() -> None:
    pods = [pod("a"), pod("b"), pod("c"), pod("d")]
    got = utilization_replicas(4, 50, pods, usage(a=10, b=10, c=10, d=10), "cpu", NOW)
    assert (got.replicas, got.utilization) == (1, 10)


def test_missing_pods_count_as_full_on_scale_down_and_hold_it() -> None:
    # a and b at 20%, c has no metric. Taken at 100% on a scale-down: (20+20+100)/300 = 46% of 50 -> ratio 0.93,
    # within the tolerance: no change.
    pods = [pod("a"), pod("b"), pod("c")]
    assert utilization_replicas(3, 50, pods, usage(a=20, b=20), "cpu", NOW).replicas == 3


def test_missing_pods_count_as_zero_on_scale_up() -> None:
    # a and b at 200% (ratio 4), c missing taken as 0: 400/300 = 133% -> ratio 2.66 -> ceil(2.66 * 3) = 8
    pods = [pod("a"), pod("b"), pod("c")]
    assert utilization_replicas(3, 50, pods, usage(a=200, b=200), "cpu", NOW).replicas == 8


def test_unready_pods_count_as_zero_on_scale_up_only() -> None:
    pods = [pod("a"), pod("b"), pod("c", ready="False")]
    # scale-up: c is taken as 0: (100+100+0)/300 = 66% against 50 -> 1.33 -> ceil(1.33 * 3) = 4
    assert utilization_replicas(3, 50, pods, usage(a=100, b=100, c=500), "cpu", NOW).replicas == 4
    # scale-down: unready pods are left out: 10% of 50 -> ceil(0.2 * 2) = 1
    assert utilization_replicas(3, 50, pods, usage(a=10, b=10, c=500), "cpu", NOW).replicas == 1


def test_pod_groups() -> None:
    recently = (NOW - timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pods = [
        pod("ok"),
        pod("pending", phase="Pending"),
        pod("failed", phase="Failed"),
        pod("gone", deleting=True),
        pod("nometric"),
        pod("notready", ready="False"),
        # started 20 s ago and ready since then: the sample (10 s old, 30 s window) covers its start-up
        pod("warming", started=recently, since=recently),
        pod("nostart", started=None),
    ]
    metrics = usage(ok=1, pending=1, failed=1, gone=1, notready=1, warming=1, nostart=1)
    groups = group_pods(pods, metrics, "cpu", NOW)
    assert groups.ready == 1
    assert groups.unready == {"pending", "notready", "warming", "nostart"}
    assert groups.missing == {"nometric"}
    assert groups.ignored == {"failed", "gone"}
    # memory does not care for readiness
    assert group_pods(pods, metrics, "memory", NOW).ready == 4


def test_missing_request_is_an_error() -> None:
    with pytest.raises(MetricError, match="missing request for cpu in container c of Pod b"):
        utilization_replicas(2, 50, [pod("a"), pod("b", cpu=None)], usage(a=10, b=10), "cpu", NOW)


def test_no_pods_or_no_metrics_is_an_error() -> None:
    with pytest.raises(MetricError, match="no pods returned"):
        utilization_replicas(1, 50, [], {}, "cpu", NOW)
    with pytest.raises(MetricError, match="did not receive metrics"):
        utilization_replicas(1, 50, [pod("a", phase="Pending")], usage(a=1), "cpu", NOW)


def test_average_value() -> None:
    mib = 1024 * 1024 * 1000  # one MiB in milli-bytes
    pods = [pod("a", cpu=None), pod("b", cpu=None)]
    got = average_value_replicas(2, 100 * mib, pods, usage(a=150 * mib, b=250 * mib), "memory", NOW)
    assert (got.replicas, got.average, got.utilization) == (4, 200 * mib, None)
    assert (
        average_value_replicas(2, 100 * mib, pods, usage(a=95 * mib, b=105 * mib), "memory", NOW).replicas
        == 2
    )


def test_milli_quantity() -> None:
    assert [milli_quantity(v) for v in (250, 1000, 1500, 2_000_000, 10_485_760_000, 0)] == [
        "250m",
        "1",
        "1500m",
        "2k",
        "10485760",
        "0",
    ]
