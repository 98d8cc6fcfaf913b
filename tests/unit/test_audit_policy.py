"""The audit policy (audit.k8s.io/v1 Policy) as k8s.io/apiserver evaluates it, and the Event it writes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from apimachinery.user import UserInfo
from apiserver.audit import Event, LogBackend, PolicyError, load_policy, parse_policy
from apiserver.auth.requestinfo import parse

POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "None", "users": ["system:kube-proxy"], "verbs": ["watch"]},
        {"level": "None", "nonResourceURLs": ["/healthz*", "/version"]},
        {"level": "Metadata", "resources": [{"group": "", "resources": ["secrets", "configmaps"]}]},
        {"level": "Request", "resources": [{"group": "", "resources": ["pods/log", "*/status"]}]},
        {"level": "RequestResponse", "namespaces": ["audited"], "omitStages": ["ResponseStarted"]},
        {"level": "Request", "userGroups": ["system:nodes"], "resources": [{"group": "apps"}]},
        {"level": "Metadata", "resources": [{"group": "apps", "resources": ["deployments/*"]}]},
        {
            "level": "RequestResponse",
            "resources": [{"group": "", "resources": ["nodes"], "resourceNames": ["n1"]}],
        },
        {"level": "Metadata"},
    ],
}

ALICE = UserInfo("alice", groups=("dev", "system:authenticated"))
NODE = UserInfo("system:node:n1", groups=("system:nodes", "system:authenticated"))
PROXY = UserInfo("system:kube-proxy", groups=("system:authenticated",))


def level(user: UserInfo, method: str, path: str, query: str = "") -> str:
    return parse_policy(POLICY).evaluate(user, parse(method, path, query)).level


def test_first_matching_rule_wins() -> None:
    assert level(PROXY, "GET", "/api/v1/services", "watch=true") == "None"
    assert level(PROXY, "GET", "/api/v1/services") == "Metadata"  # not a watch: falls to the catch-all
    assert level(ALICE, "GET", "/api/v1/namespaces/default/secrets/s") == "Metadata"
    assert level(ALICE, "GET", "/healthz/etcd") == "None"
    assert level(ALICE, "GET", "/version") == "None"


def test_subresources_and_wildcards() -> None:
    assert level(ALICE, "GET", "/api/v1/namespaces/default/pods/p/log") == "Request"
    assert level(ALICE, "PUT", "/api/v1/namespaces/default/pods/p/status") == "Request"
    assert level(ALICE, "GET", "/api/v1/namespaces/default/pods/p") == "Metadata"
    assert level(ALICE, "PATCH", "/apis/apps/v1/namespaces/x/deployments/d/scale") == "Metadata"


def test_namespaces_groups_and_names() -> None:
    assert level(ALICE, "GET", "/api/v1/namespaces/audited/pods/p") == "RequestResponse"
    assert level(NODE, "GET", "/apis/apps/v1/namespaces/x/deployments") == "Request"
    assert level(ALICE, "GET", "/apis/apps/v1/namespaces/x/deployments") == "Metadata"
    assert level(ALICE, "GET", "/api/v1/nodes/n1") == "RequestResponse"
    assert level(ALICE, "GET", "/api/v1/nodes/n2") == "Metadata"


def test_omit_stages_from_policy_and_rule() -> None:
    policy = parse_policy(POLICY)
    decision = policy.evaluate(ALICE, parse("GET", "/api/v1/namespaces/audited/pods"))
    assert decision.omit_stages == {"RequestReceived", "ResponseStarted"}


def test_no_rule_matches_means_none() -> None:
    policy = parse_policy({**POLICY, "rules": [{"level": "Metadata", "users": ["bob"]}]})
    assert policy.evaluate(ALICE, parse("GET", "/api/v1/pods")).level == "None"


@pytest.mark.parametrize(
    "doc,message",
    [
        ({"kind": "Policy", "apiVersion": "v1", "rules": [{"level": "None"}]}, "apiVersion"),
        ({"kind": "Policy", "apiVersion": "audit.k8s.io/v1", "rules": []}, "at least one rule"),
        ({"kind": "Policy", "apiVersion": "audit.k8s.io/v1", "rules": [{"level": "All"}]}, "level"),
        (
            {"kind": "Policy", "apiVersion": "audit.k8s.io/v1", "rules": [{"level": "None", "users": "bob"}]},
            "list of strings",
        ),
        (
            {
                "kind": "Policy",
                "apiVersion": "audit.k8s.io/v1",
                "rules": [{"level": "None", "omitStages": ["X"]}],
            },
            "omitStages",
        ),
        (
            {
                "kind": "Policy",
                "apiVersion": "audit.k8s.io/v1",
                "rules": [{"level": "None", "nonResourceURLs": ["/x"], "namespaces": ["a"]}],
            },
            "cannot be combined",
        ),
    ],
)
def test_bad_policies_are_refused(doc: dict, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(doc)


def test_load_policy_reads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n")
    assert load_policy(path).rules[0].level == "Metadata"
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")


def test_event_json_shape() -> None:
    event = Event(
        audit_id="6f1c2b4e-0000-4000-8000-000000000001",
        level="Request",
        request_uri="/apis/apps/v1/namespaces/web/deployments?fieldManager=kubectl",
        verb="create",
        user=ALICE,
        source_ips=["127.0.0.1"],
        user_agent="kubectl/v1.32.0",
        received=1_700_000_000.25,
        info=parse("POST", "/apis/apps/v1/namespaces/web/deployments"),
        object_name="site",
        response_status={"metadata": {}, "code": 201},
        request_object={"kind": "Deployment"},
        response_object={"kind": "Deployment", "status": {}},
    )
    received = event.to_json("RequestReceived", 1_700_000_000.25)
    assert "responseStatus" not in received and "responseObject" not in received
    done = event.to_json("ResponseComplete", 1_700_000_000.5)
    assert done == {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Request",
        "auditID": "6f1c2b4e-0000-4000-8000-000000000001",
        "stage": "ResponseComplete",
        "requestURI": "/apis/apps/v1/namespaces/web/deployments?fieldManager=kubectl",
        "verb": "create",
        "user": {"username": "alice", "groups": ["dev", "system:authenticated"]},
        "sourceIPs": ["127.0.0.1"],
        "userAgent": "kubectl/v1.32.0",
        "objectRef": {
            "resource": "deployments",
            "namespace": "web",
            "name": "site",
            "apiGroup": "apps",
            "apiVersion": "v1",
        },
        "responseStatus": {"metadata": {}, "code": 201},
        "requestObject": {"kind": "Deployment"},  # Request level: no responseObject
        "requestReceivedTimestamp": "2023-11-14T22:13:20.250000Z",
        "stageTimestamp": "2023-11-14T22:13:20.500000Z",
    }


def test_log_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "audit" / "audit.log"
    path.parent.mkdir()
    path.write_text("")
    os.chmod(path, 0o644)  # an existing, readable file is made private
    backend = LogBackend(str(path))
    backend.write({"kind": "Event"})
    backend.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"kind": "Event"}
