"""The Summary JSON and the Prometheus text of /metrics/resource and /metrics/cadvisor, from a snapshot built by
hand: names, labels, units (core-seconds, milliseconds timestamps) and Go's number formatting."""

from __future__ import annotations

import pytest

from kubelet.stats import exposition, summary
from kubelet.stats.cgroups import MemoryUsage
from kubelet.stats.exposition import _go_float
from kubelet.stats.model import ContainerStats, FsUsage, NodeStats, PodStats, Snapshot, Usage
from kubelet.stats.netdev import InterfaceStats

T = 1_700_000_000.25


def _usage(cpu_ns: int, rate: int | None, ws: int) -> Usage:
    return Usage(T, cpu_ns, rate, MemoryUsage(ws + 100, ws, ws // 2, 7, 1))


def _snapshot(errors: int = 0) -> Snapshot:
    c = ContainerStats(
        id="c1", name="app", image="img:1", start_time=T - 60, usage=_usage(2_500_000_000, 500_000_000, 4096),
        cgroup="/docker/c1", docker_name="k8s_app", memory_limit=10_000, rootfs=FsUsage(10), logs=FsUsage(5),
    )  # fmt: skip
    pod = PodStats(
        name="web", namespace="prod", uid="u-1", start_time=T - 61, sandbox_id="s1", containers=[c],
        usage=_usage(2_600_000_000, None, 8192), network_time=T,
        interfaces=[InterfaceStats("eth1", 1, 0, 2, 0), InterfaceStats("eth0", 300, 1, 400, 2)],
    )  # fmt: skip
    node = NodeStats(
        name="n1", start_time=T - 3600, usage=_usage(90 * 10**9, 1_000_000_000, 2 << 30),
        memory_available=1 << 30, memory_total=4 << 30, fs=FsUsage(1, 2, 3, 4, 5, 6),
    )  # fmt: skip
    return Snapshot(node=node, pods=[pod], errors=errors)


def test_summary_is_stats_v1alpha1() -> None:
    body = summary.summary(_snapshot())
    node = body["node"]
    assert node["nodeName"] == "n1" and node["startTime"] == "2023-11-14T21:13:20Z"
    assert node["cpu"] == {"time": "2023-11-14T22:13:20Z", "usageNanoCores": 1_000_000_000,
                           "usageCoreNanoSeconds": 90 * 10**9}  # fmt: skip
    assert node["memory"]["availableBytes"] == 1 << 30 and node["memory"]["workingSetBytes"] == 2 << 30
    assert node["fs"] == {"time": "2023-11-14T22:13:20Z", "availableBytes": 3, "capacityBytes": 2, "usedBytes": 1,
                          "inodesFree": 5, "inodes": 4, "inodesUsed": 6}  # fmt: skip
    [pod] = body["pods"]
    assert pod["podRef"] == {"name": "web", "namespace": "prod", "uid": "u-1"}
    assert "usageNanoCores" not in pod["cpu"]  # unknown in the first round: left out, not 0
    assert pod["network"]["name"] == "eth0" and pod["network"]["rxBytes"] == 300
    assert [i["name"] for i in pod["network"]["interfaces"]] == ["eth0", "eth1"]
    assert pod["ephemeral-storage"]["usedBytes"] == 15
    [c] = pod["containers"]
    assert c["name"] == "app" and c["cpu"]["usageNanoCores"] == 500_000_000
    assert c["memory"] == {"time": "2023-11-14T22:13:20Z", "availableBytes": 10_000 - 4096, "usageBytes": 4196,
                           "workingSetBytes": 4096, "rssBytes": 2048, "pageFaults": 7, "majorPageFaults": 1}  # fmt: skip
    assert c["rootfs"]["usedBytes"] == 10 and c["logs"]["usedBytes"] == 5


def test_summary_only_cpu_and_memory() -> None:
    body = summary.summary(_snapshot(), only_cpu_and_memory=True)
    assert set(body["node"]) == {"nodeName", "startTime", "cpu", "memory"}
    assert set(body["pods"][0]) == {"podRef", "startTime", "containers", "cpu", "memory"}
    assert set(body["pods"][0]["containers"][0]) == {"name", "startTime", "cpu", "memory"}


def test_resource_metrics_lines() -> None:
    text = exposition.resource_metrics(_snapshot())
    ms = "1700000000250"
    for line in (
        "# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds",
        "# TYPE container_cpu_usage_seconds_total counter",
        f'container_cpu_usage_seconds_total{{container="app",namespace="prod",pod="web"}} 2.5 {ms}',
        f'container_memory_working_set_bytes{{container="app",namespace="prod",pod="web"}} 4096 {ms}',
        'container_start_time_seconds{container="app",namespace="prod",pod="web"} 1.69999994025e+09',
        f"node_cpu_usage_seconds_total 90 {ms}",
        f"node_memory_working_set_bytes 2.147483648e+09 {ms}",
        f'pod_cpu_usage_seconds_total{{namespace="prod",pod="web"}} 2.6 {ms}',
        f'pod_memory_working_set_bytes{{namespace="prod",pod="web"}} 8192 {ms}',
        "resource_scrape_error 0",
        "scrape_error 0",
    ):
        assert line in text.splitlines(), line
    assert "scrape_error 1" in exposition.resource_metrics(_snapshot(errors=1)).splitlines()


def test_cadvisor_metrics_lines() -> None:
    lines = exposition.cadvisor_metrics(_snapshot()).splitlines()
    labels = 'container="app",id="/docker/c1",image="img:1",name="k8s_app",namespace="prod",pod="web"'
    assert f"container_memory_working_set_bytes{{{labels}}} 4096 1700000000250" in lines
    assert f"container_memory_usage_bytes{{{labels}}} 4196 1700000000250" in lines
    assert f'container_fs_usage_bytes{{{labels},device=""}} 10 1700000000250' in lines
    cpu = (
        'container="app",cpu="total",id="/docker/c1",image="img:1",name="k8s_app",namespace="prod",pod="web"'
    )
    assert f"container_cpu_usage_seconds_total{{{cpu}}} 2.5 1700000000250" in lines
    pod = 'container="",id="",image="",name="",namespace="prod",pod="web",interface="eth0"'
    assert f"container_network_receive_bytes_total{{{pod}}} 300 1700000000250" in lines
    assert f"container_network_transmit_bytes_total{{{pod}}} 400 1700000000250" in lines


def test_label_values_are_escaped() -> None:
    snap = _snapshot()
    snap.pods[0].name = 'we"b\\x\n'
    assert 'pod="we\\"b\\\\x\\n"' in exposition.resource_metrics(snap)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (1, "1"), (0.5, "0.5"), (123456, "123456"), (1234567, "1.234567e+06"), (34869248, "3.4869248e+07"),
     (6765.751112, "6765.751112"), (1.5e-7, "1.5e-07"), (0.0001, "0.0001"), (-2.5, "-2.5"), (1e21, "1e+21")],
)  # fmt: skip
def test_numbers_as_go_writes_them(value: float, text: str) -> None:
    assert _go_float(value) == text
