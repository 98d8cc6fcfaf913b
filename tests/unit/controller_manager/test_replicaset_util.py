from datetime import UTC, datetime

from apimachinery.labels import from_label_selector
from controller_manager import replicaset_util as util
from controller_manager.podutil import deletion_rank
from tests.unit.controller_manager.factories import pod

AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_status_counts_ready_available_and_labels():
    rs = {
        "metadata": {"name": "r", "generation": 4},
        "spec": {"minReadySeconds": 60, "template": {"metadata": {"labels": {"app": "web", "tier": "fe"}}}},
    }
    pods = [
        pod("a", labels={"app": "web", "tier": "fe"}, ready_since="2026-01-01T11:00:00Z"),  # available
        pod("b", labels={"app": "web"}, ready_since="2026-01-01T11:59:30Z"),  # ready, not yet available
        pod("c", labels={"app": "web", "tier": "fe"}, ready=False),
    ]
    status = util.compute_status(rs, pods, AT)
    assert status == {
        "replicas": 3,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 1,
        "observedGeneration": 4,
    }
    assert util.next_availability_check(rs, pods, AT) == 30.5


def test_deletion_order():
    pods = [
        pod("old-ready", created="2026-01-01T00:00:00Z"),
        pod("new-ready", created="2026-01-02T00:00:00Z"),
        pod("unready", ready=False),
        pod("pending", phase="Pending", ready=False),
        pod("unassigned", node=None, phase="Pending", ready=False),
        pod("restarting", restarts=5),
        pod("recently-ready", ready_since="2026-01-01T11:00:00Z"),
    ]
    order = [p["metadata"]["name"] for p in sorted(pods, key=deletion_rank)]
    assert order == [
        "unassigned",
        "pending",
        "unready",
        "recently-ready",
        "restarting",
        "new-ready",
        "old-ready",
    ]
    assert [p["metadata"]["name"] for p in util.pods_to_delete(pods, 2)] == ["unassigned", "pending"]


def test_slow_start_batches():
    assert list(util.slow_start_batches(10)) == [1, 2, 4, 3]
    assert list(util.slow_start_batches(1)) == [1]
    assert list(util.slow_start_batches(0)) == []
    assert sum(util.slow_start_batches(500)) == 500


def test_pod_from_template():
    rs = {
        "metadata": {"name": "web-abc", "namespace": "ns", "uid": "u1"},
        "spec": {
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}}
        },
    }
    p = util.pod_from_template(rs)
    assert p["metadata"]["generateName"] == "web-abc-"
    assert p["metadata"]["labels"] == {"app": "web"}
    ref = p["metadata"]["ownerReferences"][0]
    assert ref == {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "web-abc",
        "uid": "u1",
        "controller": True,
        "blockOwnerDeletion": True,
    }


def test_classify_adopt_release_ignore():
    owner = {"metadata": {"name": "r", "uid": "me"}}
    sel = from_label_selector({"matchLabels": {"app": "web"}}).matches
    mine = pod("mine", owner_uid="me")
    mine_moved = pod("moved", owner_uid="me", labels={"app": "other"})
    orphan = pod("orphan")
    orphan_other = pod("orphan-other", labels={"app": "db"})
    someone_elses = pod("theirs", owner_uid="other")
    owned, adopt, release = util.classify_pods(
        owner, [mine, mine_moved, orphan, orphan_other, someone_elses], sel
    )
    assert [p["metadata"]["name"] for p in owned] == ["mine"]
    assert [p["metadata"]["name"] for p in adopt] == ["orphan"]
    assert [p["metadata"]["name"] for p in release] == ["moved"]
    owner["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    owned, adopt, release = util.classify_pods(owner, [mine, mine_moved, orphan], sel)
    assert adopt == [] and release == []
