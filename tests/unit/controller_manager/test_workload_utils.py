"""Pure decisions of the Job, DaemonSet and StatefulSet controllers and of the revision history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apimachinery.workloads import CONTROLLER_REVISION_HASH, JOB_COMPLETION_INDEX, JOB_TRACKING_FINALIZER
from controller_manager import daemonset_util as ds_util
from controller_manager import history, job_util
from controller_manager import statefulset_util as sts_util

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(
    name,
    phase="Running",
    ready=True,
    labels=None,
    annotations=None,
    node=None,
    created=T0,
    deleting=False,
    **status,
):
    conds = [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": stamp(created)}]
    meta = {
        "name": name,
        "uid": f"uid-{name}",
        "labels": labels or {},
        "annotations": annotations or {},
        "creationTimestamp": stamp(created),
    }
    if deleting:
        meta["deletionTimestamp"] = stamp(T0)
    return {
        "metadata": meta,
        "spec": {"nodeName": node} if node else {},
        "status": {"phase": phase, "conditions": conds, **status},
    }


# --- Jobs -------------------------------------------------------------------------------------------------------


def test_indexes_text_form():
    assert job_util.format_indexes({1, 3, 4, 5, 7}) == "1,3-5,7"
    assert job_util.format_indexes({0, 1}) == "0,1"
    assert job_util.format_indexes(set()) == ""
    assert job_util.parse_indexes("1,3-5,7", 6) == {1, 3, 4, 5}
    assert job_util.parse_indexes("x,2", 5) == {2}
    active = [pod("a", annotations={JOB_COMPLETION_INDEX: "1"})]
    assert job_util.first_pending_indexes(active, {0, 2}, 3, 6) == [3, 4, 5]


def test_new_pod_of_an_indexed_job():
    job = {
        "metadata": {"name": "work", "namespace": "ns", "uid": "j"},
        "spec": {
            "completionMode": "Indexed",
            "completions": 5,
            "template": {"metadata": {"labels": {"x": "y"}}, "spec": {"containers": [{"name": "c"}]}},
        },
    }
    p = job_util.new_pod(job, 3)
    assert p["metadata"]["generateName"] == "work-3-"
    assert p["metadata"]["finalizers"] == [JOB_TRACKING_FINALIZER]
    assert (
        p["metadata"]["annotations"][JOB_COMPLETION_INDEX]
        == "3"
        == p["metadata"]["labels"][JOB_COMPLETION_INDEX]
    )
    assert p["spec"]["hostname"] == "work-3"
    assert p["spec"]["containers"][0]["env"][0]["name"] == "JOB_COMPLETION_INDEX"
    assert "annotations" not in job["spec"]["template"]["metadata"]  # the Job's template is not touched


def test_failures_and_removal_order():
    job = {"spec": {"podReplacementPolicy": "TerminatingOrFailed", "parallelism": 3, "completions": 5}}
    assert job_util.is_pod_failed(pod("f", "Failed"), job)
    assert job_util.is_pod_failed(pod("d", deleting=True), job)  # deleted before it finished
    assert not job_util.is_pod_failed(pod("s", "Succeeded", deleting=True), job)
    assert not job_util.is_pod_failed(pod("d", deleting=True), {"spec": {"podReplacementPolicy": "Failed"}})
    assert job_util.wanted_active(job, 3, 3) == 2 and job_util.wanted_active(job, 3, 0) == 3
    unready = pod("b", ready=False)
    assert job_util.pods_for_removal(job, [pod("a"), unready], 1) == [unready]
    indexed = {"spec": {"completionMode": "Indexed", "completions": 2}}
    dup = [
        pod(n, ready=n != "b", annotations={JOB_COMPLETION_INDEX: i})
        for n, i in (("a", "0"), ("b", "0"), ("c", "1"), ("d", "9"))
    ]
    assert sorted(p["metadata"]["name"] for p in job_util.pods_for_removal(indexed, dup, 0)) == ["b", "d"]


def test_backoff():
    failed = pod("f", "Failed", containerStatuses=[{"state": {"terminated": {"finishedAt": stamp(T0)}}}])
    b = job_util.Backoff().updated([], [failed])
    assert b.failures == 1 and b.last_failure == T0
    assert b.remaining(T0 + timedelta(seconds=4), 10) == 6
    b2 = b.updated([], [failed])
    assert b2.remaining(T0, 10) == 20
    assert b2.remaining(T0 + timedelta(hours=1), 10) == 0
    later_success = pod(
        "s",
        "Succeeded",
        containerStatuses=[{"state": {"terminated": {"finishedAt": stamp(T0 + timedelta(seconds=1))}}}],
    )
    assert b2.updated([later_success], [failed]).failures == 0


def test_restarts_and_deadline():
    job = {
        "spec": {
            "backoffLimit": 2,
            "template": {"spec": {"restartPolicy": "OnFailure"}},
            "activeDeadlineSeconds": 30,
        },
        "status": {"startTime": stamp(T0)},
    }
    restarting = pod("r", containerStatuses=[{"restartCount": 2}])
    assert job_util.restarts_past_limit(job, [restarting])
    assert not job_util.restarts_past_limit(job, [pod("r", containerStatuses=[{"restartCount": 1}])])
    assert job_util.deadline_left(job, T0 + timedelta(seconds=10)) == 20
    assert job_util.deadline_left({**job, "spec": {**job["spec"], "suspend": True}}, T0) is None


def test_conditions():
    status: dict = {}
    assert not job_util.ensure_condition(status, "Suspended", "False", "JobResumed", "Job resumed", "t")
    assert "conditions" not in status  # never added as False
    assert job_util.ensure_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", "t")
    assert job_util.ensure_condition(status, "Suspended", "False", "JobResumed", "Job resumed", "t2")
    assert (
        status["conditions"][0]["status"] == "False" and status["conditions"][0]["lastTransitionTime"] == "t2"
    )


# --- DaemonSets ---------------------------------------------------------------------------------------------------


def daemonset(**template_spec):
    return {
        "metadata": {"name": "agent", "namespace": "ns", "uid": "ds", "generation": 1},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
            },
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "c"}], **template_spec},
            },
        },
    }


def node(name, labels=None, taints=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def test_node_eligibility():
    assert ds_util.node_should_run(daemonset(), node("n")) == (True, True)
    assert ds_util.node_should_run(daemonset(nodeSelector={"disk": "ssd"}), node("n")) == (False, False)
    no_schedule = node("n", taints=[{"key": "k", "effect": "NoSchedule"}])
    assert ds_util.node_should_run(daemonset(), no_schedule) == (False, True)  # may keep what runs there
    no_execute = node("n", taints=[{"key": "k", "effect": "NoExecute"}])
    assert ds_util.node_should_run(daemonset(), no_execute) == (False, False)
    # Daemon pods tolerate cordoned, not-ready and pressured nodes.
    cordoned = node(
        "n",
        taints=[
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
        ],
    )
    assert ds_util.node_should_run(daemonset(), cordoned) == (True, True)
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                ]
            }
        }
    }
    assert ds_util.node_should_run(daemonset(affinity=affinity), node("n", {"zone": "a"}))[0]
    assert not ds_util.node_should_run(daemonset(affinity=affinity), node("n", {"zone": "b"}))[0]


def test_daemon_pod_is_pinned_to_its_node():
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                ]
            }
        }
    }
    p = ds_util.new_pod(daemonset(affinity=affinity), "n1", "h1")
    terms = p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms == [
        {
            "matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}],
            "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}],
        }
    ]
    assert ds_util.target_node(p) == "n1"
    assert p["metadata"]["labels"] == {"app": "agent", CONTROLLER_REVISION_HASH: "h1"}
    host = ds_util.new_pod(daemonset(hostNetwork=True), "n1", "h1")
    assert any(t["key"] == "node.kubernetes.io/network-unavailable" for t in host["spec"]["tolerations"])


def test_plan_nodes_creates_deletes_and_dedups():
    ds = daemonset(nodeSelector={"pool": "a"})
    nodes = [node("a1", {"pool": "a"}), node("a2", {"pool": "a"}), node("b1", {"pool": "b"})]
    old_pod = pod("p-old", labels={CONTROLLER_REVISION_HASH: "h"}, created=T0)
    new_pod = pod("p-new", labels={CONTROLLER_REVISION_HASH: "h"}, created=T0 + timedelta(seconds=5))
    stray = pod("p-stray", labels={CONTROLLER_REVISION_HASH: "h"})
    actions = ds_util.plan_nodes(
        ds, nodes, {"a1": [old_pod, new_pod], "b1": [stray], "gone": [pod("p-gone")]}, "h", T0
    )
    assert actions.create_on == ["a2"]
    assert sorted(p["metadata"]["name"] for p in actions.delete) == ["p-gone", "p-new", "p-stray"]


def test_rolling_update_respects_max_unavailable():
    ds = daemonset()
    by_node = {f"n{i}": [pod(f"p{i}", labels={CONTROLLER_REVISION_HASH: "old"})] for i in range(4)}
    delete, surge = ds_util.rolling_update(ds, by_node, 4, "new", T0)
    assert len(delete) == 1 and surge == []
    # One node is already waiting for its new pod: nothing else may go.
    by_node["n0"] = [pod("p0-new", ready=False, labels={CONTROLLER_REVISION_HASH: "new"})]
    assert ds_util.rolling_update(ds, by_node, 4, "new", T0) == ([], [])
    ds["spec"]["updateStrategy"]["rollingUpdate"] = {"maxUnavailable": 0, "maxSurge": 1}
    by_node["n0"] = [pod("p0"), pod("p0-new", ready=False, labels={CONTROLLER_REVISION_HASH: "new"})]
    assert ds_util.rolling_update(ds, by_node, 4, "new", T0) == ([], [])  # n0 surges already
    by_node["n0"][1] = pod("p0-new", labels={CONTROLLER_REVISION_HASH: "new"})
    delete, surge = ds_util.rolling_update(ds, by_node, 4, "new", T0)
    assert [p["metadata"]["name"] for p in delete] == ["p0"] and surge == ["n1"]


def test_daemonset_status():
    ds = daemonset()
    nodes = [node("n0"), node("n1"), node("n2", taints=[{"key": "k", "effect": "NoSchedule"}])]
    by_node = {
        "n0": [pod("a", labels={CONTROLLER_REVISION_HASH: "h"})],
        "n1": [pod("b", ready=False)],
        "n2": [pod("c")],
    }
    s = ds_util.compute_status(ds, nodes, by_node, "h", T0)
    assert (
        s["desiredNumberScheduled"],
        s["currentNumberScheduled"],
        s["numberReady"],
        s["numberAvailable"],
    ) == (2, 2, 1, 1)
    assert (s["updatedNumberScheduled"], s["numberMisscheduled"], s["numberUnavailable"]) == (1, 1, 1)


# --- StatefulSets and revisions -------------------------------------------------------------------------------------


def statefulset(replicas=3, **spec):
    return {
        "kind": "StatefulSet",
        "apiVersion": "apps/v1",
        "metadata": {"name": "web", "namespace": "ns", "uid": "sts", "generation": 2},
        "spec": {
            "replicas": replicas,
            "serviceName": "web",
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "v1"}]},
            },
            **spec,
        },
    }


def revision_of(sts, number):
    return history.new_revision(sts, history.revision_data(sts), number, None)


def member(sts, revision, ordinal, **kw):
    p = sts_util.new_pod(sts, revision, ordinal)
    p["metadata"]["uid"] = f"u{ordinal}"
    p["status"] = pod("x", **kw)["status"]
    return p


def test_statefulset_member_identity():
    sts = statefulset(volumeClaimTemplates=[{"metadata": {"name": "data"}}])
    rev = revision_of(sts, 1)
    p = sts_util.new_pod(sts, rev, 2)
    assert (
        p["metadata"]["name"] == "web-2"
        and p["spec"]["hostname"] == "web-2"
        and p["spec"]["subdomain"] == "web"
    )
    assert p["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-2"
    assert p["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "2"
    assert p["spec"]["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "data-web-2"}}]
    assert sts_util.ordinal_of("web", "web-12") == 12 and sts_util.ordinal_of("web", "webby-1") is None


def test_ordered_start_scale_down_and_rolling_update():
    sts = statefulset()
    rev = revision_of(sts, 1)
    step = sts_util.plan(sts, [], rev, rev, T0)
    assert [p["metadata"]["name"] for p in step.create] == ["web-0"]  # one at a time
    pending = [member(sts, rev, 0, ready=False)]
    assert sts_util.plan(sts, pending, rev, rev, T0).empty()  # wait for web-0 to be ready
    parallel = statefulset(podManagementPolicy="Parallel")
    assert [p["metadata"]["name"] for p in sts_util.plan(parallel, [], rev, rev, T0).create] == [
        "web-0",
        "web-1",
        "web-2",
    ]
    five = [member(sts, rev, i) for i in range(5)]
    assert [p["metadata"]["name"] for p in sts_util.plan(sts, five, rev, rev, T0).delete] == ["web-4"]
    # A new template: the highest ordinal goes first, down to the partition.
    new_sts = statefulset()
    new_sts["spec"]["template"]["spec"]["containers"][0]["image"] = "v2"
    new_sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 1
    new_rev = revision_of(new_sts, 2)
    three = [member(sts, rev, i) for i in range(3)]
    assert [p["metadata"]["name"] for p in sts_util.plan(new_sts, three, rev, new_rev, T0).delete] == [
        "web-2"
    ]
    rolled = [*three[:2], member(new_sts, new_rev, 2)]
    assert [p["metadata"]["name"] for p in sts_util.plan(new_sts, rolled, rev, new_rev, T0).delete] == [
        "web-1"
    ]
    at_partition = [three[0], member(new_sts, new_rev, 1), member(new_sts, new_rev, 2)]
    assert sts_util.plan(new_sts, at_partition, rev, new_rev, T0).empty()
    # Below the partition a recreated pod keeps the current revision.
    step = sts_util.plan(new_sts, at_partition[1:], rev, new_rev, T0)
    assert step.create[0]["spec"]["containers"][0]["image"] == "v1"
    s = sts_util.compute_status(new_sts, at_partition, rev, new_rev, T0)
    assert (s["currentReplicas"], s["updatedReplicas"], s["readyReplicas"]) == (1, 2, 3)
    assert s["currentRevision"] != s["updateRevision"]
    done = sts_util.compute_status(new_sts, [member(new_sts, new_rev, i) for i in range(3)], rev, new_rev, T0)
    assert done["currentRevision"] == done["updateRevision"] and done["currentReplicas"] == 3


def test_history_plan_and_truncation():
    sts = statefulset()
    r1 = revision_of(sts, 1)
    assert r1["metadata"]["name"] == f"web-{r1['metadata']['labels'][CONTROLLER_REVISION_HASH]}"
    assert r1["data"]["spec"]["template"]["$patch"] == "replace"
    assert history.plan(sts, [r1], None).existing is r1
    changed = statefulset()
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "v2"
    step = history.plan(changed, [r1], None)
    assert step.create is not None and step.create["revision"] == 2
    r2 = step.create
    back = history.plan(sts, [r1, r2], None)
    assert back.existing is r1 and back.renumber == 3
    assert history.hash_data(r1["data"]) != history.hash_data(r1["data"], 1)
    old = [revision_of(statefulset(), n) for n in range(1, 5)]
    for n, r in enumerate(old):
        r["metadata"]["name"] = f"r{n}"
    assert [r["metadata"]["name"] for r in history.to_delete(old, {"r3"}, 1)] == ["r0", "r1"]


def test_job_tracking_counts_each_pod_once():
    from controller_manager import job_tracking as tracking

    job = {
        "metadata": {"name": "j"},
        "spec": {"completions": 3},
        "status": {"succeeded": 1, "uncountedTerminatedPods": {"succeeded": ["a"]}},
    }
    done = pod("b", "Succeeded")
    failed = pod("c", "Failed")
    running = pod("d")
    for p in (done, failed, running):
        p["metadata"]["uid"] = p["metadata"]["name"]
    s = tracking.Sync(job, [done, failed, running], [running], {"a"}, set())
    # "a" lost its finalizer: counted; "b" and "c" still have theirs: recorded, to be released.
    assert tracking.count_uncounted(job["status"], {"b", "c", "d"})
    assert job["status"]["succeeded"] == 2
    to_release, changed = tracking.record_finished(job, s, {"b", "c", "d"}, {})
    assert changed and [p["metadata"]["name"] for p in to_release] == ["b", "c"]
    assert job["status"]["uncountedTerminatedPods"] == {"succeeded": ["b"], "failed": ["c"]}
    assert not tracking.all_counted(job["status"])
    # The finalizers came off: both are counted, and the Job may finish.
    tracking.count_uncounted(job["status"], {"d"})
    assert (job["status"]["succeeded"], job["status"]["failed"]) == (3, 1) and tracking.all_counted(
        job["status"]
    )
    # A second look at the same pods (now without finalizers) records nothing.
    s2 = tracking.Sync(job, [done, failed, running], [running], set(), set())
    assert tracking.record_finished(job, s2, {"d"}, {}) == ([], False)


def test_job_tracking_conditions():
    from controller_manager import job_tracking as tracking

    job = {"metadata": {"name": "j"}, "spec": {}, "status": {}}
    s = tracking.Sync(job, [], [], set(), set())
    s.finished = job_util.new_condition("FailureTarget", "True", "BackoffLimitExceeded", "msg", "")
    final, added = tracking.finish_conditions(job, s, "t")
    assert added and final["type"] == "Failed" and final["reason"] == "BackoffLimitExceeded"
    assert [c["type"] for c in job["status"]["conditions"]] == ["FailureTarget"]
    final, added = tracking.finish_conditions(job, s, "t2")
    assert not added  # the interim condition is written once
