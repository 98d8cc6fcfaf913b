import pytest

from controller_manager import rollout
from tests.unit.controller_manager.factories import deployment, rs


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expected"),
    [
        ("25%", "25%", 10, (3, 2)),  # surge rounds up, unavailable rounds down
        ("25%", "25%", 1, (1, 0)),
        (0, 0, 5, (0, 1)),  # both zero: one may be unavailable
        ("0%", "0%", 3, (0, 1)),
        (2, "50%", 5, (2, 2)),
        ("3", 1, 5, (3, 1)),
        ("100%", 0, 7, (7, 0)),
        ("10%", "10%", 3, (1, 0)),
    ],
)
def test_resolve_fenceposts(surge, unavailable, desired, expected):
    assert rollout.resolve_fenceposts(surge, unavailable, desired) == expected


def test_max_unavailable_is_capped_and_zero_for_recreate():
    assert rollout.max_unavailable(deployment(3, 0, 10)) == 3
    assert rollout.max_unavailable(deployment(0, 1, 1)) == 0
    assert rollout.max_unavailable(deployment(3, strategy="Recreate")) == 0
    assert rollout.max_surge(deployment(3, strategy="Recreate")) == 0


def test_defaults_apply_when_strategy_missing():
    d = deployment(4)
    d["spec"].pop("strategy")
    assert rollout.max_surge(d) == 1 and rollout.max_unavailable(d) == 1


def test_new_rs_grows_up_to_surge():
    d = deployment(10, 3, 2)
    old, new = rs("old", 10), rs("new", 0)
    assert rollout.new_rs_new_replicas(d, [old, new], new) == 3
    # already at the surge limit: no growth
    old2, new2 = rs("old", 10), rs("new", 3)
    assert rollout.new_rs_new_replicas(d, [old2, new2], new2) == 3
    # old scaled down to 8: new may reach 5
    old3, new3 = rs("old", 8), rs("new", 3)
    assert rollout.new_rs_new_replicas(d, [old3, new3], new3) == 5


def test_new_rs_never_exceeds_replicas():
    d = deployment(3, 10, 0)
    new = rs("new", 2)
    assert rollout.new_rs_new_replicas(d, [new], new) == 3


def test_recreate_new_rs_goes_straight_to_replicas():
    d = deployment(5, strategy="Recreate")
    new = rs("new", 0)
    assert rollout.new_rs_new_replicas(d, [rs("old", 5), new], new) == 5


def test_old_scale_down_keeps_minimum_available():
    d = deployment(10, 3, 2)
    old = rs("old", 10)
    new = rs("new", 3, available=0)
    # 13 pods, min available 8, 3 new unavailable: may scale down 13-8-3 = 2
    assert rollout.plan_old_scale_down(d, new, [old]) == {"old": 8}


def test_old_scale_down_removes_unhealthy_first():
    d = deployment(4, 0, 1)
    old_a = rs("a", 2, available=2, created="2026-01-01T00:00:00Z")
    old_b = rs("b", 2, available=0, created="2026-01-02T00:00:00Z")
    new = rs("new", 0, available=0)
    # 4 pods, min available 3: only 4 - 3 = 1 may go, and it is an unhealthy one from b (it costs no
    # availability); a loses none because available (2) is already below the minimum (3).
    assert rollout.plan_old_scale_down(d, new, [old_a, old_b]) == {"b": 1}


def test_old_scale_down_nothing_when_new_unavailable_uses_budget():
    d = deployment(3, 1, 0)
    old, new = rs("old", 3), rs("new", 1, available=0)
    assert rollout.plan_old_scale_down(d, new, [old]) == {}
    # once the new pod is available, one old pod may go
    new_ready = rs("new", 1, available=1)
    assert rollout.plan_old_scale_down(d, new_ready, [old]) == {"old": 2}


def test_old_scale_down_oldest_first():
    d = deployment(4, 0, 2)
    a = rs("a", 2, created="2026-01-01T00:00:00Z")
    b = rs("b", 2, created="2026-01-02T00:00:00Z")
    new = rs("new", 0)
    assert rollout.plan_old_scale_down(d, new, [b, a]) == {"a": 0}


def test_proportional_scaling_single_active_takes_all():
    d = deployment(7)
    assert rollout.proportional_sizes(d, rs("new", 5), [rs("old", 0)]) == {"new": 7}


def test_proportional_scaling_spreads_by_size():
    # Kubernetes' documented example: 10 replicas, maxSurge 3, mid-rollout 8 old + 5 new, scale to 15.
    ann = {rollout.MAX_REPLICAS_ANNOTATION: "13", rollout.DESIRED_REPLICAS_ANNOTATION: "10"}
    d = deployment(15, 3, 2, status={"replicas": 13})
    old = rs("old", 8, annotations=ann, created="2026-01-01T00:00:00Z")
    new = rs("new", 5, available=0, annotations=ann, created="2026-01-02T00:00:00Z")
    sizes = rollout.proportional_sizes(d, new, [old])
    # allowed = 15 + 3 = 18, add 5: old gets round(8*18/13)-8 = 3, new round(5*18/13)-5 = 2
    assert sizes == {"old": 11, "new": 7}
    assert sum(sizes.values()) == 18


def test_scaling_event_detection():
    d = deployment(5)
    assert rollout.is_scaling_event(d, [rs("a", 3, annotations={rollout.DESIRED_REPLICAS_ANNOTATION: "3"})])
    assert not rollout.is_scaling_event(
        d, [rs("a", 5, annotations={rollout.DESIRED_REPLICAS_ANNOTATION: "5"})]
    )


def test_old_scale_down_does_not_trust_stale_status():
    # Just scaled from 6 to 5, the old ReplicaSet's status still counts 6 available pods.
    d = deployment(6, 2, 1)
    old = rs("old", 5, available=6)
    new = rs("new", 2, available=1)
    assert rollout.plan_old_scale_down(d, new, [old]) == {"old": 4}
    assert rollout.status_is_current(old)
    old["metadata"]["generation"] = 2
    assert not rollout.status_is_current(old)
