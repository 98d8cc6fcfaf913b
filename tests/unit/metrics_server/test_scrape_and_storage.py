"""metrics-server's pure parts: parsing the kubelet's /metrics/resource text (in the kubelet's format, as
kubelet/stats/exposition.py writes it), CPU as the rate between two scrapes, restarts, and the quantity and duration formats of the API."""

from __future__ import annotations

from metrics_server.api import cpu_quantity, go_duration, memory_quantity
from metrics_server.scrape import Sample, kubelet_address, parse
from metrics_server.storage import Storage, usage

TEXT = """# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web-1"} 8.5 1700000010000
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",namespace="default",pod="web-1"} 6.7108864e+07 1700000010000
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="app",namespace="default",pod="web-1"} 1.6999e+09
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 357.25 1700000009500
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 1.3e+09 1700000009500
# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE scrape_error gauge
scrape_error 0
"""


def test_parse_reads_values_and_their_timestamps() -> None:
    got = parse(TEXT)
    assert got.node == Sample(1700000009.5, 357.25, 1.3e9)
    assert got.containers == {("default", "web-1", "app"): Sample(1700000010.0, 8.5, 67108864.0, 1.6999e9)}


def test_cpu_is_the_rate_between_two_scrapes() -> None:
    storage = Storage()
    first = parse(TEXT)
    storage.store({"n1": first})
    assert storage.ready and storage.node_usage("n1") is None  # one sample: no rate yet
    later = parse(TEXT.replace("357.25 1700000009500", "358.75 1700000012500").replace(
        "8.5 1700000010000", "9.25 1700000013000"))  # fmt: skip
    storage.store({"n1": later})
    node = storage.node_usage("n1")
    assert node is not None and node.nanocores == 500_000_000 and node.window == 3.0
    pod = storage.pod_usage("default", "web-1", ["app"])
    assert (
        pod is not None and pod[2]["app"].nanocores == 250_000_000 and pod[2]["app"].memory_bytes == 64 << 20
    )
    assert storage.pod_usage("default", "web-1", ["app", "sidecar"]) is None  # no partial pods


def test_a_repeated_reading_keeps_the_pair_and_a_restart_starts_over() -> None:
    storage = Storage()
    storage.store({"n1": parse(TEXT)})
    moved = TEXT.replace("8.5 1700000010000", "9.5 1700000012000")
    storage.store({"n1": parse(moved)})
    storage.store({"n1": parse(moved)})  # the kubelet has not collected again: same timestamp
    pod = storage.pod_usage("default", "web-1", ["app"])
    assert pod is not None and pod[2]["app"].nanocores == 500_000_000
    restarted = moved.replace("9.5 1700000012000", "0.25 1700000014000").replace("1.6999e+09", "1.7e+09")
    storage.store({"n1": parse(restarted)})
    assert storage.pod_usage("default", "web-1", ["app"]) is None
    storage.store({})
    assert storage.node_usage("n1") is None  # a node no longer scraped is forgotten


def test_a_counter_that_went_down_gives_no_rate() -> None:
    assert usage(Sample(10, 5.0), Sample(12, 4.0)) is None
    assert usage(Sample(10, 5.0), Sample(10, 6.0)) is None


def test_quantities_and_windows_as_kubernetes_writes_them() -> None:
    assert [cpu_quantity(n) for n in (0, 250_000_000, 2_000_000_000, 1_500, 123_456_789)] == [
        "0", "250m", "2", "1500n", "123456789n"]  # fmt: skip
    assert cpu_quantity(3_000) == "3u"
    assert [memory_quantity(b) for b in (0, 64 << 20, 1536, 1000, 3 << 30)] == [
        "0",
        "64Mi",
        "1536",
        "1000",
        "3Gi",
    ]
    assert [go_duration(s) for s in (15.005, 2.0, 61.5, 0.25)] == ["15.005s", "2s", "1m1.5s", "0.25s"]


def test_kubelet_address_prefers_the_internal_ip_and_checks_it() -> None:
    node = {"status": {"addresses": [{"type": "Hostname", "address": "vm"}, {"type": "InternalIP", "address": "10.0.0.5"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}  # fmt: skip
    assert kubelet_address(node) == ("10.0.0.5", 10250)
    bad = {"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.5/../x"}]}}
    assert kubelet_address(bad) is None
    assert kubelet_address({"status": {"addresses": [{"type": "InternalIP", "address": "::1"}],
                                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 70000}}}}) is None  # fmt: skip
