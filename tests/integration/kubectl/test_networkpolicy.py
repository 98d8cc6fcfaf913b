"""NetworkPolicies through the real kubectl: apply, the table, describe (kctl's text is kubectl's), explain, field
selectors of errors, and kube-apiserver's defaults and validation messages."""

from __future__ import annotations

import subprocess
import sys

import yaml

from tests.harness import REPO
from tests.integration.kubectl.kube import MARKS, Api, Kubectl

pytestmark = MARKS

POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db
spec:
  podSelector:
    matchLabels: {role: db}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - ipBlock: {cidr: 172.17.0.0/16, except: [172.17.1.0/24]}
    - namespaceSelector: {matchLabels: {project: myproject}}
      podSelector: {matchLabels: {role: frontend}}
    ports:
    - {protocol: TCP, port: 6379}
    - {port: http}
  egress:
  - to:
    - ipBlock: {cidr: 10.0.0.0/24}
    ports:
    - {port: 5978, endPort: 6000}
"""


def test_apply_get_and_defaults(kubectl: Kubectl, api: Api, ns: str) -> None:
    assert "networkpolicy.networking.k8s.io/db created" in kubectl("apply", "-f", "-", stdin=POLICY)
    kubectl(
        "create",
        "-f",
        "-",
        stdin="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec: {}\n",
    )
    lines = kubectl("get", "netpol").splitlines()
    assert lines[0].split() == ["NAME", "POD-SELECTOR", "AGE"]
    assert [line.split()[:2] for line in lines[1:]] == [["db", "role=db"], ["deny", "<none>"]]
    stored = api.http.get(f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/deny").json()
    assert stored["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    db = yaml.safe_load(kubectl("get", "netpol", "db", "-o", "yaml"))
    assert db["spec"]["egress"][0]["ports"][0] == {"port": 5978, "endPort": 6000, "protocol": "TCP"}
    assert db["metadata"]["generation"] == 1
    kubectl("patch", "netpol", "db", "--type=merge", "-p", '{"spec":{"policyTypes":["Ingress"]}}')
    assert yaml.safe_load(kubectl("get", "netpol", "db", "-o", "yaml"))["metadata"]["generation"] == 2


def test_describe_matches_kctl(kubectl: Kubectl, ns: str) -> None:
    kubectl("apply", "-f", "-", stdin=POLICY)
    theirs = kubectl("describe", "networkpolicy", "db")
    assert "  PodSelector:     role=db\n" in theirs
    assert "      NamespaceSelector: project=myproject\n      PodSelector: role=frontend\n" in theirs
    assert "    To Port Range: 5978-6000/TCP\n" in theirs
    ours = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "--kubeconfig",
            str(kubectl.kubeconfig),
            "-n",
            ns,
            "describe",
            "netpol",
            "db",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
    )
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs


def test_invalid_policies_get_kube_apiservers_messages(kubectl: Kubectl) -> None:
    bad = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad}
spec:
  podSelector: {}
  policyTypes: [Ingress, Sideways]
  ingress:
  - from:
    - ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}
    - {}
    ports:
    - {port: http, endPort: 90}
    - {port: 70000}
"""
    err = kubectl.fails("apply", "-f", "-", stdin=bad)
    assert 'The NetworkPolicy "bad" is invalid' in err
    for expected in (
        'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "11.0.0.0/16": must be a strict subset of `cidr`',
        "spec.ingress[0].from[1]: Required value: must specify a peer",
        "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
        "spec.ingress[0].ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
        'spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"',
    ):
        assert expected in err, err


def test_explain_comes_from_the_published_schema(kube: Kubectl) -> None:
    out = kube("explain", "networkpolicy.spec.ingress.from.ipBlock")
    assert (
        "KIND:       NetworkPolicy" in out
        and "except\t<[]string>" in out
        and "cidr\t<string> -required-" in out
    )
