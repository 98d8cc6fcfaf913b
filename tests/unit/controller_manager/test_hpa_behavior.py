"""Stabilization windows and scaling policies (controller_manager.hpa_behavior), with time as an argument."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apimachinery.validation.autoscaling import default_scale_down, default_scale_up, filled_rules
from controller_manager.hpa_behavior import (
    DOWN_LIMIT,
    DOWN_STABILIZED,
    READY,
    TOO_FEW,
    TOO_MANY,
    UP_LIMIT,
    WITHIN_RANGE,
    History,
    normalize_legacy,
    normalize_with_behavior,
    record_scale,
    scale_down_limit,
    scale_up_limit,
)

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def behavior(up: dict | None = None, down: dict | None = None) -> dict:
    return {
        "scaleUp": filled_rules(up, default_scale_up()),
        "scaleDown": filled_rules(down, default_scale_down()),
    }


def test_default_scale_up_is_the_larger_of_4_pods_and_100_percent() -> None:
    rules = default_scale_up()
    assert scale_up_limit(1, History(), rules, T0) == 5  # 1 + 4 beats 2 x 1
    assert scale_up_limit(10, History(), rules, T0) == 20  # 100% beats 10 + 4
    assert scale_up_limit(10, History(), {**rules, "selectPolicy": "Min"}, T0) == 14
    assert scale_up_limit(10, History(), {**rules, "selectPolicy": "Disabled"}, T0) == 10


def test_policy_periods_count_from_the_replicas_at_their_start() -> None:
    rules = {"selectPolicy": "Max", "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]}
    history = History()
    record_scale(history, behavior(rules), 1, 3, at(0))  # +2 at t=0
    assert scale_up_limit(3, history, rules, at(30)) == 3  # the period's 2 pods are used up
    assert scale_up_limit(3, history, rules, at(61)) == 5  # a new period


def test_scale_down_percent_rounds_down_and_min_selects_the_smaller_change() -> None:
    rules = {
        "selectPolicy": "Max",
        "policies": [
            {"type": "Percent", "value": 50, "periodSeconds": 60},
            {"type": "Pods", "value": 1, "periodSeconds": 60},
        ],
    }
    assert scale_down_limit(5, History(), rules, T0) == 2  # int(5 * 0.5) beats 5 - 1
    assert scale_down_limit(5, History(), {**rules, "selectPolicy": "Min"}, T0) == 4


def test_scale_down_waits_out_the_stabilization_window() -> None:
    b = behavior(down={"stabilizationWindowSeconds": 60})
    history = History()
    assert normalize_with_behavior(history, 3, 3, 1, 10, b, at(0)).replicas == 3
    got = normalize_with_behavior(history, 3, 1, 1, 10, b, at(10))
    assert (got.replicas, got.able) == (3, DOWN_STABILIZED)  # the 3 of t=0 is still in the window
    got = normalize_with_behavior(history, 3, 1, 1, 10, b, at(61))
    assert (got.replicas, got.able, got.limit) == (1, READY, WITHIN_RANGE)


def test_scale_up_is_limited_by_policy_and_max() -> None:
    b = behavior(up={"policies": [{"type": "Pods", "value": 1, "periodSeconds": 15}]})
    got = normalize_with_behavior(History(), 1, 5, 1, 10, b, T0)
    assert (got.replicas, got.limited, got.limit) == (2, True, UP_LIMIT)
    got = normalize_with_behavior(History(), 1, 5, 1, 3, behavior(), T0)
    assert (got.replicas, got.limited, got.limit) == (3, True, TOO_MANY)


def test_scale_down_is_limited_by_policy_and_min() -> None:
    b = behavior(
        down={
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 15}],
        }
    )
    got = normalize_with_behavior(History(), 5, 1, 1, 10, b, T0)
    assert (got.replicas, got.limit) == (4, DOWN_LIMIT)
    got = normalize_with_behavior(
        History(), 5, 1, 3, 10, behavior(down={"stabilizationWindowSeconds": 0}), T0
    )
    assert (got.replicas, got.limited, got.limit) == (3, True, TOO_FEW)


def test_scale_up_window_takes_the_lowest_recent_recommendation() -> None:
    b = behavior(up={"stabilizationWindowSeconds": 60})
    history = History()
    normalize_with_behavior(history, 2, 2, 1, 10, b, at(0))
    assert normalize_with_behavior(history, 2, 6, 1, 10, b, at(10)).replicas == 2
    assert normalize_with_behavior(history, 2, 6, 1, 10, b, at(70)).replicas == 6


def test_legacy_normalization() -> None:
    history = History()
    assert normalize_legacy(history, 1, 10, 1, 20, 300, at(0)).replicas == 4  # max(2 x 1, 4)
    assert normalize_legacy(history, 4, 10, 1, 20, 300, at(15)).replicas == 8
    got = normalize_legacy(history, 8, 2, 1, 20, 300, at(30))
    assert (got.replicas, got.able) == (10, DOWN_STABILIZED)  # the window still holds the 10 of t=0 and t=15
    assert normalize_legacy(history, 8, 2, 1, 20, 300, at(400)).replicas == 2
