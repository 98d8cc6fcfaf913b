"""The apiserver's metrics under kube-apiserver's names and labels, checked the way a dashboard would use them:
selectors taken verbatim from kubernetes-mixin's recording rules (rules/kube_apiserver-burnrate.libsonnet and
kube_apiserver-availability.libsonnet, with the mixin's default config) must match series we export, once the
`job="apiserver"` target label a Prometheus scrape adds is on them."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import factories
from tests.harness import ApiServer
from tests.integration.apiserver.test_watch import Watch

pytestmark = pytest.mark.etcd

SCRAPE_LABELS = {"job": "apiserver"}

# From kubernetes-mixin's recording rules (kubeApiserverSelector, kubeApiserverReadSelector,
# kubeApiserverWriteSelector, kubeApiserverNonStreamingSelector, kubeApiserverReadResourceLatency filled in).
MIXIN_SELECTORS = [
    'apiserver_request_total{job="apiserver",verb=~"LIST|GET"}',
    'apiserver_request_total{job="apiserver",verb=~"POST|PUT|PATCH|DELETE"}',
    'apiserver_request_sli_duration_seconds_bucket{job="apiserver",verb=~"LIST|GET",'
    'subresource!~"proxy|attach|log|exec|portforward",scope=~"resource|",le=~"1(\\\\.0)?"}',
    'apiserver_request_sli_duration_seconds_bucket{job="apiserver",verb=~"LIST|GET",'
    'subresource!~"proxy|attach|log|exec|portforward",scope="namespace",le=~"5(\\\\.0)?"}',
    'apiserver_request_sli_duration_seconds_count{job="apiserver",verb=~"POST|PUT|PATCH|DELETE",'
    'subresource!~"proxy|attach|log|exec|portforward"}',
]

_SELECTOR = re.compile(r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?P<matchers>.*)\}")
_MATCHER = re.compile(r'\s*(?P<label>[a-zA-Z_]\w*)\s*(?P<op>=~|!~|!=|=)\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*,?')


def matches(selector: str, series: list[tuple[str, dict[str, str]]]) -> list[dict[str, str]]:
    """The label sets of the series an instant-vector selector selects (PromQL's anchored regex semantics)."""
    m = _SELECTOR.fullmatch(selector)
    assert m, selector
    matchers = []
    rest = m["matchers"]
    while rest.strip():
        mm = _MATCHER.match(rest)
        assert mm, rest
        matchers.append((mm["label"], mm["op"], json.loads(f'"{mm["value"]}"')))
        rest = rest[mm.end() :]

    def ok(labels: dict[str, str]) -> bool:
        for label, op, value in matchers:
            have = labels.get(label, "")
            if (op == "=" and have != value) or (op == "!=" and have == value):
                return False
            if (op == "=~" and not re.fullmatch(value, have)) or (op == "!~" and re.fullmatch(value, have)):
                return False
        return True

    return [labels for name, labels in series if name == m["name"] and ok(labels)]


def scrape(api: httpx.Client) -> list[tuple[str, dict[str, str]]]:
    text = api.get("/metrics").text
    return [
        (sample.name, {**SCRAPE_LABELS, **sample.labels})
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def test_request_metrics_as_kube_apiserver(api: httpx.Client, ns: str, apiserver: ApiServer) -> None:
    pods = f"/api/v1/namespaces/{ns}/pods"
    assert api.post(pods, json=factories.pod("m")).status_code == 201
    assert api.get(pods).status_code == 200
    assert api.get(f"{pods}/m").status_code == 200
    assert api.get("/api/v1/pods").status_code == 200
    apply = api.patch(
        f"{pods}/m",
        content=json.dumps(
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "m", "labels": {"a": "b"}}}
        ),
        headers={"Content-Type": "application/apply-patch+yaml"},
        params={"fieldManager": "metrics-test"},
    )
    assert apply.status_code == 200, apply.text
    w = Watch(f"{apiserver.url}{pods}", {"resourceVersion": "0", "timeoutSeconds": "1"})
    w.wait_for(1)
    w.close()

    series = scrape(api)
    requests = [labels for name, labels in series if name == "apiserver_request_total"]
    seen = {(r["verb"], r["scope"], r["resource"]) for r in requests if r["resource"] == "pods"}
    assert {
        ("POST", "resource", "pods"),
        ("LIST", "namespace", "pods"),
        ("GET", "resource", "pods"),
        ("LIST", "cluster", "pods"),
        ("APPLY", "resource", "pods"),
        ("WATCH", "namespace", "pods"),
    } <= seen, seen
    post = next(r for r in requests if r["verb"] == "POST" and r["resource"] == "pods")
    assert post == {
        **SCRAPE_LABELS,
        "verb": "POST",
        "dry_run": "",
        "group": "",
        "version": "v1",
        "resource": "pods",
        "subresource": "",
        "scope": "resource",
        "component": "apiserver",
        "code": "201",
    }
    for selector in MIXIN_SELECTORS:
        assert matches(selector, series), f"kubernetes-mixin's {selector} matches no series"
    # The rest of the standard set.
    names = {name for name, _ in series}
    assert {
        "apiserver_request_duration_seconds_bucket",
        "apiserver_current_inflight_requests",
        "apiserver_storage_objects",
        "kubernetes_build_info",
    } <= names
    stored = {labels["resource"] for name, labels in series if name == "apiserver_storage_objects"}
    assert {"pods", "deployments.apps", "events", "events.events.k8s.io"} <= stored, stored
    inflight = {
        labels["request_kind"] for name, labels in series if name == "apiserver_current_inflight_requests"
    }
    assert inflight == {"readOnly", "mutating"}


def test_selector_matcher_can_fail() -> None:
    """The matcher above is what the test relies on: it must reject what PromQL would."""
    series = [("apiserver_request_total", {"job": "apiserver", "verb": "get", "code": "200"})]
    assert not matches('apiserver_request_total{job="apiserver",verb=~"LIST|GET"}', series)
    assert not matches('apiserver_request_total{job="apiserver",code=~"2"}', series)
    assert matches('apiserver_request_total{job="apiserver",code=~"2.."}', series)
