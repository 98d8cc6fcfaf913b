"""--audit-log-path with --audit-policy-file: a create, a forbidden request and a secret read each leave
audit.k8s.io/v1 events with user, verb, resource and code, at the level the policy gives them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.harness import running_apiserver, wait_until

pytestmark = pytest.mark.slow

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  nonResourceURLs: ["/readyz", "/livez", "/healthz"]
- level: Metadata
  resources:
  - group: ""
    resources: ["secrets"]
- level: RequestResponse
  resources:
  - group: ""
    resources: ["configmaps"]
  omitStages: ["RequestReceived"]
- level: Metadata
"""


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_audit_log_records_who_did_what(tmp_path: Path) -> None:
    policy, log = tmp_path / "policy.yaml", tmp_path / "audit" / "audit.log"
    policy.write_text(POLICY)
    args = ["--storage-backend", "sqlite", "--data-dir", str(tmp_path / "data")]
    args += ["--audit-policy-file", str(policy), "--audit-log-path", str(log)]
    with running_apiserver(None, args) as server:
        with server.client(headers={"User-Agent": "audit-test/1"}) as admin:
            r = admin.post(
                "/api/v1/namespaces/default/configmaps",
                json={"metadata": {"name": "cm1"}, "data": {"k": "v"}},
            )
            assert r.status_code == 201, r.text
            audit_id = r.headers["audit-id"]
            r = admin.post(
                "/api/v1/namespaces/default/secrets", json={"metadata": {"name": "s1"}, "data": {"k": "dg=="}}
            )
            assert r.status_code == 201, r.text
            assert admin.get("/api/v1/namespaces/default/secrets/s1").status_code == 200
            watch = admin.get("/api/v1/namespaces/default/pods", params={"watch": "1", "timeoutSeconds": "1"})
            assert watch.status_code == 200
        with server.client(user="mallory", groups=()) as mallory:
            assert mallory.get("/api/v1/namespaces/default/secrets").status_code == 403

        def settled() -> list[dict]:
            events = _events(log)
            done = [
                e for e in events if e["user"]["username"] == "mallory" and e["stage"] == "ResponseComplete"
            ]
            return events if done else []

        events = wait_until(settled, 5, what="the forbidden request audited")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert not [e for e in events if e["requestURI"].startswith(("/readyz", "/livez"))]

    create = [e for e in events if e["auditID"] == audit_id]
    assert [e["stage"] for e in create] == ["ResponseComplete"]  # RequestReceived omitted by the rule
    (c,) = create
    assert c["level"] == "RequestResponse" and c["verb"] == "create" and c["userAgent"] == "audit-test/1"
    assert c["objectRef"] == {
        "resource": "configmaps",
        "namespace": "default",
        "name": "cm1",
        "apiVersion": "v1",
    }
    assert c["responseStatus"]["code"] == 201
    assert c["requestObject"]["data"] == {"k": "v"} and c["responseObject"]["metadata"]["uid"]
    assert c["sourceIPs"] == ["127.0.0.1"] and c["user"]["username"] == "kubernetes-admin"

    reads = [e for e in events if e["verb"] == "get" and e.get("objectRef", {}).get("resource") == "secrets"]
    assert [e["stage"] for e in reads] == ["RequestReceived", "ResponseComplete"]
    assert reads[0]["auditID"] == reads[1]["auditID"]
    done = reads[1]
    assert done["level"] == "Metadata" and done["objectRef"]["name"] == "s1"
    assert done["responseStatus"]["code"] == 200
    assert (
        "requestObject" not in done and "responseObject" not in done
    )  # a secret's data stays out of the log
    secret_create = next(
        e
        for e in events
        if e["verb"] == "create"
        and e["objectRef"]["resource"] == "secrets"
        and e["stage"] == "ResponseComplete"
    )
    assert "requestObject" not in secret_create and secret_create["objectRef"]["name"] == "s1"

    denied = [e for e in events if e["user"]["username"] == "mallory" and e["stage"] == "ResponseComplete"]
    assert len(denied) == 1
    d = denied[0]
    assert (
        d["verb"] == "list"
        and d["objectRef"]["resource"] == "secrets"
        and d["objectRef"]["namespace"] == "default"
    )
    assert d["responseStatus"]["code"] == 403 and d["responseStatus"]["reason"] == "Forbidden"
    watches = [e for e in events if e["verb"] == "watch"]
    assert [e["stage"] for e in watches] == ["RequestReceived", "ResponseStarted", "ResponseComplete"]
    assert len({e["auditID"] for e in watches}) == 1 and watches[1]["responseStatus"]["code"] == 200
    for e in events:
        assert e["apiVersion"] == "audit.k8s.io/v1" and e["kind"] == "Event"
        assert e["requestReceivedTimestamp"] <= e["stageTimestamp"]
