"""networking.k8s.io/v1 NetworkPolicy as the apiserver serves it: defaults, validation with kube-apiserver's
field paths and messages, the table row, and kctl's describe text."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from apimachinery.defaults import apply_defaults
from apimachinery.resources import resolve
from apimachinery.validation import validate
from apiserver import printers
from cli.describe_netpol import networkpolicy_text
from tests.factories import Obj


def netpol(spec: Obj, name: str = "np") -> Obj:
    """A NetworkPolicy with a copy of `spec` (defaulting changes it in place; the shared specs below stay)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": "2026-11-27T11:00:00Z"},
        "spec": copy.deepcopy(spec),
    }


def messages(obj: Obj) -> list[str]:
    return [f"{c['field']}: {c['message']}" for c in validate(apply_defaults(copy.deepcopy(obj)))]


def test_resource_is_declared_with_its_short_name() -> None:
    info = resolve("netpol")
    assert info is not None
    assert (info.group, info.version, info.kind, info.resource, info.namespaced) == (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        True,
    )


DB = {"matchLabels": {"role": "db"}}
# The ingress peers of the example policies: an address block with a hole, and every pod of project x's namespaces.
BLOCK_AND_PROJECT = [
    {"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}},
    {"namespaceSelector": {"matchLabels": {"project": "x"}}, "podSelector": {}},
]


def test_defaults() -> None:
    obj = apply_defaults(netpol({"ingress": [{"ports": [{"port": 80}]}], "egress": [{}]}))
    assert obj["spec"]["podSelector"] == {}
    assert obj["spec"]["ingress"][0]["ports"][0]["protocol"] == "TCP"
    assert obj["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert apply_defaults(netpol({}))["spec"]["policyTypes"] == ["Ingress"]
    explicit = apply_defaults(
        netpol({"policyTypes": ["Egress"], "ingress": [{"ports": [{"protocol": "UDP"}]}]})
    )
    assert explicit["spec"]["policyTypes"] == ["Egress"]
    assert explicit["spec"]["ingress"][0]["ports"][0]["protocol"] == "UDP"


def test_a_valid_policy_has_no_causes() -> None:
    spec = {
        "podSelector": DB,
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {
                "from": BLOCK_AND_PROJECT,
                "ports": [{"protocol": "TCP", "port": 6379}, {"port": "http"}, {"port": 80, "endPort": 90}],
            }
        ],
        "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"protocol": "UDP"}]}],
    }
    assert messages(netpol(spec)) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"ingress": [{"ports": [{"port": "http", "endPort": 90}]}]},
            "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
        ),
        (
            {"ingress": [{"ports": [{"port": 0}]}]},
            "spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        ),
        (
            {"egress": [{"ports": [{"port": 100, "endPort": 90}]}]},
            "spec.egress[0].ports[0].endPort: Invalid value: 90: must be greater than or equal to `port`",
        ),
        (
            {"ingress": [{"ports": [{"endPort": 5}]}]},
            "spec.ingress[0].ports[0].endPort: Invalid value: 5: may not be specified when `port` is not specified",
        ),
        (
            {"ingress": [{"ports": [{"port": 80, "protocol": "ICMP"}]}]},
            'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
        ),
        (
            {"ingress": [{"from": [{"ipBlock": {"cidr": "010.0.0.0/8"}}]}]},
            'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "010.0.0.0/8": not a valid CIDR',
        ),
        (
            {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}}]}]},
            'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "11.0.0.0/16": must be a strict subset of `cidr`',
        ),
        (
            {"ingress": [{"from": [{"ipBlock": {"cidr": ""}}]}]},
            "spec.ingress[0].from[0].ipBlock.cidr: Required value",
        ),
        (
            {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]},
            "spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer",
        ),
        ({"egress": [{"to": [{}]}]}, "spec.egress[0].to[0]: Required value: must specify a peer"),
        (
            {"policyTypes": ["Ingress", "Sideways"]},
            'spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"',
        ),
        (
            {"policyTypes": ["Ingress", "Egress", "Ingress"]},
            'spec.policyTypes: Invalid value: []string{"Ingress", "Egress", "Ingress"}: may not specify more than two policyTypes',
        ),
        (
            {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}},
            'spec.podSelector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator',
        ),
    ],
)
def test_invalid_policies_name_the_field(spec: Obj, expected: str) -> None:
    assert expected in messages(netpol(spec))


def test_malformed_shapes_are_causes_not_crashes() -> None:
    for spec in (
        {"ingress": "all"},
        {"ingress": [{"ports": [80]}]},
        {"egress": [{"to": [{"ipBlock": "x"}]}]},
    ):
        assert messages(netpol(spec)), spec
    assert messages(netpol({"podSelector": {}}, name="Bad_Name"))


NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_table_row_is_kubectls() -> None:
    info = resolve("networkpolicies.networking.k8s.io")
    assert info is not None
    table = printers.to_table(
        info,
        [netpol({"podSelector": DB}), netpol({"podSelector": {}}, name="all")],
        now=NOW,
    )
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Pod-Selector", "Age"]
    assert [r["cells"] for r in table["rows"]] == [["np", "role=db", "60m"], ["all", "<none>", "60m"]]


def test_describe_text_is_kubectls() -> None:
    obj = apply_defaults(
        netpol(
            {
                "podSelector": DB,
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": BLOCK_AND_PROJECT,
                        "ports": [{"port": 6379}],
                    },
                    {},
                ],
                "egress": [{"ports": [{"port": 5978, "endPort": 6000}]}],
            }
        )
    )
    text = networkpolicy_text(obj)
    body = text[text.index("Spec:") :]
    assert body == (
        "Spec:\n"
        "  PodSelector:     role=db\n"
        "  Allowing ingress traffic:\n"
        "    To Port: 6379/TCP\n"
        "    From:\n"
        "      IPBlock:\n"
        "        CIDR: 172.17.0.0/16\n"
        "        Except: 172.17.1.0/24\n"
        "    From:\n"
        "      NamespaceSelector: project=x\n"
        "      PodSelector: <none>\n"
        "    ----------\n"
        "    To Port: <any> (traffic allowed to all ports)\n"
        "    From: <any> (traffic not restricted by source)\n"
        "  Allowing egress traffic:\n"
        "    To Port Range: 5978-6000/TCP\n"
        "    To: <any> (traffic not restricted by destination)\n"
        "  Policy Types: Ingress, Egress\n"
    )
    assert text.startswith("Name:         np\nNamespace:    default\nCreated on:   2026-11-27 ")
    deny = networkpolicy_text(apply_defaults(netpol({})))
    assert "PodSelector:     <none> (Allowing the specific traffic to all pods in this namespace)" in deny
    assert "    <none> (Selected pods are isolated for ingress connectivity)\n" in deny
    assert "  Not affecting egress traffic\n" in deny
