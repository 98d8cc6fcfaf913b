"""The network policy agent's identity (system:kube-netpol:<node> in system:kube-netpols, bootstrap role
system:kube-netpol) on the real apiserver: it may read what it enforces and write Events, and nothing else. It
cannot write policies (it would choose its own rules) nor read Secrets (a node compromised through it would hold
the cluster's credentials)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.harness import ApiServer, netpol_identity

pytestmark = [pytest.mark.etcd]

POLICIES = "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def ns(apiserver: ApiServer) -> str:
    name = f"npid-{uuid.uuid4().hex[:8]}"
    with apiserver.client() as admin:
        assert admin.post("/api/v1/namespaces", json={"metadata": {"name": name}}).status_code == 201
        body = {"metadata": {"name": "deny"}, "spec": {"podSelector": {}}}
        assert admin.post(POLICIES.format(ns=name), json=body).status_code == 201
        secret = {"metadata": {"name": "s"}, "stringData": {"k": "v"}}
        assert admin.post(f"/api/v1/namespaces/{name}/secrets", json=secret).status_code == 201
    return name


@pytest.fixture
def agent(apiserver: ApiServer) -> httpx.Client:
    user, groups = netpol_identity("node-a")
    return apiserver.client(user=user, groups=groups)


def test_the_agent_reads_what_it_enforces_and_writes_events(agent: httpx.Client, ns: str) -> None:
    with agent:
        assert agent.get("/apis/networking.k8s.io/v1/networkpolicies").status_code == 200
        assert agent.get("/api/v1/pods").status_code == 200
        r = agent.get("/api/v1/namespaces", params={"watch": "true", "timeoutSeconds": "1"})
        assert r.status_code == 200, r.text
        event = {
            "metadata": {"name": f"deny.{uuid.uuid4().hex[:8]}"},
            "involvedObject": {"kind": "NetworkPolicy", "namespace": ns, "name": "deny"},
            "reason": "PolicyEntrySkipped",
            "message": "test",
            "type": "Warning",
            "source": {"component": "kube-netpol", "host": "node-a"},
            "count": 1,
        }
        r = agent.post(f"/api/v1/namespaces/{ns}/events", json=event)
        assert r.status_code == 201, r.text
        name = event["metadata"]["name"]
        r = agent.patch(f"/api/v1/namespaces/{ns}/events/{name}", json={"count": 2}, headers=MERGE)
        assert r.status_code == 200, r.text


def test_the_agent_cannot_write_policies_or_read_secrets(agent: httpx.Client, ns: str) -> None:
    user = netpol_identity("node-a")[0]
    policies = POLICIES.format(ns=ns)
    refused = {
        "create a policy": agent.post(
            policies, json={"metadata": {"name": "x"}, "spec": {"podSelector": {}}}
        ),
        "patch a policy": agent.patch(
            f"{policies}/deny", json={"metadata": {"labels": {"a": "b"}}}, headers=MERGE
        ),
        "delete a policy": agent.delete(f"{policies}/deny"),
        "delete every policy": agent.delete(policies),
        "get a secret": agent.get(f"/api/v1/namespaces/{ns}/secrets/s"),
        "list secrets": agent.get("/api/v1/secrets"),
        "watch secrets": agent.get("/api/v1/secrets", params={"watch": "true", "timeoutSeconds": "1"}),
        "label a namespace": agent.patch(
            f"/api/v1/namespaces/{ns}", json={"metadata": {"labels": {"a": "b"}}}, headers=MERGE
        ),
        "create a pod": agent.post(f"/api/v1/namespaces/{ns}/pods", json={"metadata": {"name": "p"}}),
        "read configmaps": agent.get(f"/api/v1/namespaces/{ns}/configmaps"),
    }
    agent.close()
    for what, r in refused.items():
        assert r.status_code == 403, f"{what}: {r.status_code} {r.text}"
        assert r.json()["reason"] == "Forbidden" and f'User "{user}"' in r.json()["message"], what
