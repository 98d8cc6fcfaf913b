"""kctl get: the server's Table in kubectl's layout, the other output formats, selectors, -A and -w."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest
import yaml

from tests import factories
from tests.harness import REPO

pytestmark = pytest.mark.etcd


@pytest.fixture(scope="module", autouse=True)
def objects(api, ns):
    for name, labels in (
        ("alpha", {"app": "web", "tier": "fe"}),
        ("beta", {"app": "web", "tier": "be"}),
        ("gamma", {"app": "db"}),
    ):
        api.post(
            f"/api/v1/namespaces/{ns}/pods", factories.pod(name, labels, image="busybox", container="main")
        )
    api.write_status(
        f"/api/v1/namespaces/{ns}/pods/alpha",
        {
            "phase": "Running",
            "podIP": "10.244.0.7",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {
                    "name": "main",
                    "ready": True,
                    "restartCount": 2,
                    "image": "busybox",
                    "imageID": "",
                    "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
                }
            ],
        },
    )
    api.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments", factories.deployment("web", container="web", ports=[80])
    )
    api.post(
        f"/api/v1/namespaces/{ns}/services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
    )


def rows(out: str) -> list[list[str]]:
    return [
        re.split(r"\s{3,}|(?<=\S)\s{2,}(?=\S)", line.strip()) for line in out.splitlines() if line.strip()
    ]


def test_table_layout_is_kubectls(kctl):
    r = kctl("get", "pods")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert re.fullmatch(r"NAME    READY   STATUS    RESTARTS   AGE", lines[0])
    assert re.fullmatch(r"alpha   1/1     Running   2          \d+[smhd]\S*", lines[1]), lines[1]
    assert lines[2].startswith("beta    0/1     Pending   0          ")
    assert len(lines) == 4
    assert r.err == ""


def test_wide_shows_priority_1_columns(kctl):
    r = kctl("get", "pods", "alpha", "-o", "wide")
    head, row = r.out.splitlines()
    assert head.split() == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "READINESS",
        "GATES",
    ]
    assert "10.244.0.7" in row


def test_several_types_print_kind_prefixed_blocks(kctl):
    r = kctl("get", "deploy,svc")
    assert r.code == 0, r
    blocks = r.out.split("\n\n")
    assert len(blocks) == 2
    assert blocks[0].splitlines()[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert blocks[0].splitlines()[1].startswith("deployment.apps/web   0/2")
    assert blocks[1].splitlines()[1].startswith("service/web   ClusterIP")


def test_type_slash_name_and_all(kctl):
    r = kctl("get", "pod/alpha", "pod/gamma", "-o", "name")
    assert r.out == "pod/alpha\npod/gamma\n"
    r = kctl("get", "all")
    assert "pod/alpha" in r.out and "service/web" in r.out and "deployment.apps/web" in r.out


def test_label_selectors_equality_and_set_based(kctl):
    assert kctl("get", "pods", "-l", "app=web", "-o", "name").out == "pod/alpha\npod/beta\n"
    assert kctl("get", "pods", "-l", "tier in (fe,qa)", "-o", "name").out == "pod/alpha\n"
    assert kctl("get", "pods", "-l", "app=web,tier notin (fe)", "-o", "name").out == "pod/beta\n"
    assert kctl("get", "pods", "-l", "!tier", "-o", "name").out == "pod/gamma\n"


def test_field_selector(kctl):
    assert kctl("get", "pods", "--field-selector", "status.phase=Running", "-o", "name").out == "pod/alpha\n"


def test_all_namespaces_adds_namespace_column(kctl, ns):
    r = kctl("get", "pods", "-A", "-l", "app=db")
    head, row = r.out.splitlines()
    assert head.split()[:2] == ["NAMESPACE", "NAME"]
    assert row.split()[:2] == [ns, "gamma"]


def test_show_labels_and_label_columns(kctl):
    r = kctl("get", "pods", "-l", "app", "--show-labels", "-L", "tier")
    lines = r.out.splitlines()
    assert lines[0].split()[-2:] == ["TIER", "LABELS"]
    assert lines[1].split()[-2:] == ["fe", "app=web,tier=fe"]


def test_yaml_json_jsonpath(kctl, ns):
    one = yaml.safe_load(kctl("get", "pod", "alpha", "-o", "yaml").out)
    assert one["kind"] == "Pod" and one["metadata"]["name"] == "alpha"
    many = json.loads(kctl("get", "pods", "-l", "app=web", "-o", "json").out)
    assert many["kind"] == "List" and [i["metadata"]["name"] for i in many["items"]] == ["alpha", "beta"]
    assert many["items"][0]["kind"] == "Pod"
    r = kctl("get", "pods", "-o", 'jsonpath={range .items[*]}{.metadata.name}={.status.phase}{"\\n"}{end}')
    assert r.out == "alpha=Running\nbeta=Pending\ngamma=Pending\n"
    r = kctl("get", "pod", "alpha", "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')
    assert r.out == "True"


def test_no_resources_found(kctl, ns):
    r = kctl("get", "pods", "-l", "app=nothing")
    assert r.code == 0 and r.out == ""
    assert r.err.strip() == f"No resources found in {ns} namespace."


def test_missing_name_among_several_reports_and_exits_1(kctl):
    r = kctl("get", "pods", "alpha", "ghost")
    assert r.code == 1
    assert r.out.splitlines()[1].startswith("alpha")
    assert r.err.strip() == 'Error from server (NotFound): pods "ghost" not found'


def test_watch_streams_new_rows(api, ns, kubeconfig):
    """-w piped: the table, then one row per change, until the process is stopped (a real subprocess)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "get", "pods", "-w", "-l", "app=watched"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={"KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"},
    )
    try:
        # kctl lists, then watches from the list's resourceVersion: the pod shows up whether it is created
        # before the list or after, and the status change after it is never missed.
        deadline = time.monotonic() + 10
        api.post(
            f"/api/v1/namespaces/{ns}/pods",
            factories.pod("watched", {"app": "watched"}, image="busybox", container="main"),
        )
        lines: list[str] = []
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("watched "):
                break
        assert any(line.startswith("watched ") and "Pending" in line for line in lines), lines
        api.write_status(f"/api/v1/namespaces/{ns}/pods/watched", {"phase": "Running"})
        line = proc.stdout.readline()
        assert line.startswith("watched ") and "Running" in line, line
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
