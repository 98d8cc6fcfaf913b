"""The workload kinds on the API side: defaults, validation, the Job selector, tables, and protobuf bodies."""

from __future__ import annotations

from datetime import UTC, datetime

from apimachinery.defaults import apply_defaults
from apimachinery.resources import RESOURCES
from apimachinery.validation import validate
from apimachinery.workloads import generate_job_selector
from apiserver.printers import to_table
from apiserver.protobuf import decode
from tests.factories import manifest
from tests.unit.test_protobuf import envelope, msg, num

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
POD = {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}
SELECT_A = {"matchLabels": {"app": "a"}}  # the selector of the pods `template()` labels by default


def template(labels=None, restart=None):
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    if restart:
        spec["restartPolicy"] = restart
    return {"metadata": {"labels": labels or {"app": "a"}}, "spec": spec}


def fields(obj):
    return {c["field"]: c["message"] for c in validate(apply_defaults(obj))}


def defaulted_job():
    """A Job "j" (uid U) as the apiserver stores it: its selector generated, its defaults applied."""
    job = manifest("batch/v1", "Job", "j", "n", spec={"template": template(restart="Never")})
    job["metadata"]["uid"] = "U"
    generate_job_selector(job)
    apply_defaults(job)
    return job


def test_job_defaults_selector_and_validation():
    job = defaulted_job()
    spec = job["spec"]
    assert (
        spec["completions"],
        spec["parallelism"],
        spec["backoffLimit"],
        spec["completionMode"],
        spec["suspend"],
    ) == (1, 1, 6, "NonIndexed", False)
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "U"}}
    assert validate(job) == []
    # restartPolicy defaults to Always for a pod template, which a Job refuses.
    spec = {
        "selector": SELECT_A,
        "template": template(),
        "completionMode": "Indexed",
        "parallelism": 2,
        "backoffLimit": -1,
    }
    bad = manifest("batch/v1", "Job", "j", "n", spec=spec)
    errs = fields(bad)
    assert (
        errs["spec.template.spec.restartPolicy"]
        == 'Unsupported value: "Always": supported values: "OnFailure", "Never"'
    )
    assert errs["spec.completions"].startswith("Required value")
    assert errs["spec.backoffLimit"] == "Invalid value: -1: must be greater than or equal to 0"
    no_parallelism = {
        "spec": {"parallelism": 3, "template": template(restart="Never")},
        "apiVersion": "batch/v1",
        "kind": "Job",
    }
    apply_defaults(no_parallelism)
    assert (
        no_parallelism["spec"].get("completions") is None
    )  # parallelism alone: "any pod succeeding is enough"


def test_job_updates():
    job = defaulted_job()
    changed = {**job, "spec": {**job["spec"], "completions": 3}}
    assert "spec.completions" in {c["field"] for c in validate(changed, job)}
    image = {
        **job,
        "spec": {
            **job["spec"],
            "template": {
                **job["spec"]["template"],
                "spec": {**job["spec"]["template"]["spec"], "containers": [{"name": "c", "image": "other"}]},
            },
        },
    }
    assert {c["field"] for c in validate(image, job)} == {"spec.template"}
    assert validate({**job, "spec": {**job["spec"], "suspend": True, "parallelism": 4}}, job) == []


def test_cronjob_validation():
    def cj(**spec):
        base = {
            "schedule": "*/5 * * * *",
            "jobTemplate": {"spec": {"template": template(restart="OnFailure")}},
        }
        return manifest("batch/v1", "CronJob", "c", "n", spec={**base, **spec})

    ok = apply_defaults(cj())
    assert validate(ok) == []
    assert (
        ok["spec"]["concurrencyPolicy"],
        ok["spec"]["successfulJobsHistoryLimit"],
        ok["spec"]["failedJobsHistoryLimit"],
    ) == ("Allow", 3, 1)
    errs = fields(cj(schedule="every day", timeZone="Mars/Base", concurrencyPolicy="Sometimes"))
    assert errs["spec.schedule"].startswith('Invalid value: "every day"')
    assert errs["spec.timeZone"] == 'Invalid value: "Mars/Base": unknown time zone Mars/Base'
    assert errs["spec.concurrencyPolicy"].startswith('Unsupported value: "Sometimes"')
    long_name = cj()
    long_name["metadata"]["name"] = "x" * 53
    assert fields(long_name)["metadata.name"].endswith("must be no more than 52 characters")
    selector = cj()
    selector["spec"]["jobTemplate"]["spec"]["selector"] = {"matchLabels": {"a": "b"}}
    assert "`selector` will be auto-generated" in fields(selector)["spec.jobTemplate.spec.selector"]


def test_daemonset_statefulset_rc_validation():
    no_progress = {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}
    spec = {"selector": {"matchLabels": {"app": "b"}}, "template": template(), "updateStrategy": no_progress}
    ds = manifest("apps/v1", "DaemonSet", "d", "n", spec=spec)
    errs = fields(ds)
    assert errs["spec.template.metadata.labels"].endswith("`selector` does not match template `labels`")
    assert errs["spec.updateStrategy.rollingUpdate.maxUnavailable"].endswith(
        "may not be 0 when `maxSurge` is 0"
    )
    good_ds = apply_defaults({**ds, "spec": {"selector": SELECT_A, "template": template()}})
    assert good_ds["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    assert validate(good_ds) == []
    claims = [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]
    spec = {"selector": SELECT_A, "serviceName": "s", "template": template(), "volumeClaimTemplates": claims}
    sts = manifest("apps/v1", "StatefulSet", "s", "n", spec=spec)
    sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/data"}
    ]
    apply_defaults(sts)
    assert validate(sts) == []  # the mount of a claim template validates
    assert sts["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert (sts["spec"]["podManagementPolicy"], sts["spec"]["replicas"]) == ("OrderedReady", 1)
    renamed = {**sts, "spec": {**sts["spec"], "serviceName": "other"}}
    assert [c["field"] for c in validate(renamed, sts)] == ["spec"]
    assert validate({**sts, "spec": {**sts["spec"], "replicas": 5}}, sts) == []
    rc = manifest(
        "v1", "ReplicationController", "r", "n", spec={"selector": {"app": "b"}, "template": template()}
    )
    assert fields(rc)["spec.template.metadata.labels"].endswith("`selector` does not match template `labels`")
    revision = manifest("apps/v1", "ControllerRevision", "r", "n", revision=-1)
    errs = fields(revision)
    assert errs["data"] == "Required value: data is mandatory" and errs["revision"].endswith(
        "must be greater than or equal to 0"
    )


def cells(resource, obj):
    info = next(r for r in RESOURCES if r.resource == resource)
    return to_table(info, [obj], now=NOW)["rows"][0]["cells"]


def test_tables():
    meta = {"name": "x", "creationTimestamp": "2026-01-01T11:00:00Z"}
    sts = {"metadata": meta, "spec": {"replicas": 3, "template": template()}, "status": {"readyReplicas": 2}}
    assert cells("statefulsets", sts) == ["x", "2/3", "60m", "c", "busybox"]
    cj = {
        "metadata": meta,
        "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template()}}},
        "status": {"active": [{"name": "a"}], "lastScheduleTime": "2026-01-01T11:59:00Z"},
    }
    assert cells("cronjobs", cj) == [
        "x",
        "* * * * *",
        "<none>",
        "False",
        1,
        "60s",
        "60m",
        "c",
        "busybox",
        "<none>",
    ]
    rc = {
        "metadata": meta,
        "spec": {"replicas": 2, "selector": {"app": "a"}, "template": template()},
        "status": {"replicas": 2, "readyReplicas": 1},
    }
    assert cells("replicationcontrollers", rc) == ["x", 2, 2, 1, "60m", "c", "busybox", "app=a"]
    cr = {
        "metadata": {
            **meta,
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "d", "controller": True}
            ],
        },
        "revision": 3,
    }
    assert cells("controllerrevisions", cr) == ["x", "daemonset.apps/d", 3, "60m"]
    job = {
        "metadata": meta,
        "spec": {"completions": 3, "template": template()},
        "status": {"succeeded": 3, "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}]},
    }
    assert cells("jobs", job)[:3] == ["x", "SuccessCriteriaMet", "3/3"]


def test_protobuf_job_and_cronjob_bodies():
    # What `kubectl create job j --image=busybox` sends: metadata.name, spec.template with one container.
    container = msg(2, msg(1, "j"), msg(2, "busybox"), msg(8, b""))
    pod_template = msg(6, msg(1, b""), msg(2, container, msg(3, "Never")))
    job = decode(envelope("batch/v1", "Job", msg(1, msg(1, "j")) + msg(2, pod_template) + msg(3, b"")))
    assert job["metadata"]["name"] == "j"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["template"]["spec"]["containers"][0] == {
        "name": "j",
        "image": "busybox",
        "resources": {},
    }
    job_spec = msg(2, num(7, 0), pod_template, num(10, 0))  # backoffLimit: 0 and suspend: false are kept
    template_spec = msg(5, msg(1, msg(1, "c")), job_spec)
    cron = decode(
        envelope(
            "batch/v1",
            "CronJob",
            msg(1, msg(1, "c")) + msg(2, msg(1, "*/1 * * * *"), template_spec, msg(8, "Europe/Berlin")),
        )
    )
    assert cron["spec"]["schedule"] == "*/1 * * * *" and cron["spec"]["timeZone"] == "Europe/Berlin"
    assert (
        cron["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0
        and cron["spec"]["jobTemplate"]["spec"]["suspend"] is False
    )
    assert cron["spec"]["jobTemplate"]["metadata"] == {"name": "c"}
