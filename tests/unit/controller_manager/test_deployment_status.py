from datetime import UTC, datetime, timedelta

from controller_manager import deployment_status as ds
from controller_manager.podutil import format_time, get_condition
from tests.unit.controller_manager.factories import deployment, rs

AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_calculate_status_sums_replica_sets():
    d = deployment(4, 1, 1, generation=3)
    new, old = rs("new", 2, available=1), rs("old", 3)
    status = ds.calculate_status(d, [old, new], new, AT)
    assert status["observedGeneration"] == 3
    assert status["replicas"] == 5
    assert status["updatedReplicas"] == 2
    assert status["availableReplicas"] == 4
    assert status["unavailableReplicas"] == 1
    avail = get_condition(status, ds.AVAILABLE)
    assert avail["status"] == "True" and avail["reason"] == ds.MIN_AVAILABLE


def test_available_false_below_minimum():
    d = deployment(4, 1, 1)
    new = rs("new", 4, available=2)
    avail = get_condition(ds.calculate_status(d, [new], new, AT), ds.AVAILABLE)
    assert avail["status"] == "False" and avail["reason"] == ds.MIN_UNAVAILABLE


def test_set_condition_keeps_transition_time_on_same_status():
    status = {}
    ds.set_condition(status, ds.new_condition("Progressing", "True", ds.NEW_RS_CREATED, "a", AT))
    later = AT + timedelta(minutes=1)
    ds.set_condition(status, ds.new_condition("Progressing", "True", ds.RS_UPDATED, "b", later))
    cond = get_condition(status, "Progressing")
    assert cond["reason"] == ds.RS_UPDATED
    assert cond["lastTransitionTime"] == format_time(AT)
    assert cond["lastUpdateTime"] == format_time(later)
    assert len(status["conditions"]) == 1


def test_rollout_progress_then_complete():
    d = deployment(2, 1, 0, status={"replicas": 2, "updatedReplicas": 0, "availableReplicas": 2})
    new, old = rs("new", 1, available=0), rs("old", 2)
    status = ds.rollout_status(d, [old, new], new, AT)
    cond = get_condition(status, ds.PROGRESSING)
    assert cond["reason"] == ds.RS_UPDATED and cond["message"] == 'ReplicaSet "new" is progressing.'
    d["status"] = status
    done_new = rs("new", 2)
    status = ds.rollout_status(d, [rs("old", 0), done_new], done_new, AT)
    cond = get_condition(status, ds.PROGRESSING)
    assert cond["reason"] == ds.NEW_RS_AVAILABLE and cond["status"] == "True"
    assert ds.deployment_complete(d, status)


def progressing_since(seconds: int) -> dict:
    """Progressing=True (ReplicaSetUpdated), last updated and changed `seconds` before AT."""
    then = format_time(AT - timedelta(seconds=seconds))
    return {
        "type": "Progressing",
        "status": "True",
        "reason": ds.RS_UPDATED,
        "lastUpdateTime": then,
        "lastTransitionTime": then,
    }


def test_progress_deadline_exceeded():
    cond = progressing_since(700)
    d = deployment(
        2,
        1,
        0,
        status={
            "replicas": 2,
            "updatedReplicas": 1,
            "readyReplicas": 1,
            "availableReplicas": 1,
            "conditions": [cond],
        },
    )
    new = rs("new", 1, available=0)
    status = ds.rollout_status(d, [rs("old", 1), new], new, AT)
    cond = get_condition(status, ds.PROGRESSING)
    assert cond["status"] == "False" and cond["reason"] == ds.TIMED_OUT
    assert cond["message"] == 'ReplicaSet "new" has timed out progressing.'


def test_requeue_after_counts_down_to_deadline():
    cond = progressing_since(100)
    d = deployment(2, progressDeadlineSeconds=120)
    after = ds.requeue_after(d, {"conditions": [cond], "replicas": 2}, AT)
    assert after == 21.0


def test_no_progress_condition_without_deadline():
    d = deployment(1, progressDeadlineSeconds=None)
    new = rs("new", 1)
    assert get_condition(ds.rollout_status(d, [new], new, AT), ds.PROGRESSING) is None


def test_pause_and_resume_conditions():
    d = deployment(1, paused=True)
    cond = ds.paused_condition_change(d, AT)
    assert cond["reason"] == ds.PAUSED and cond["status"] == "Unknown"
    d["status"] = {"conditions": [cond]}
    assert ds.paused_condition_change(d, AT) is None
    d["spec"]["paused"] = False
    assert ds.paused_condition_change(d, AT)["reason"] == ds.RESUMED
