"""A model.Snapshot in the Prometheus text format, as the kubelet serves it:

* `/metrics/resource` (the kubelet's resource metrics collector, what metrics-server scrapes): node, pod and container
  CPU and working set with labels container/pod/namespace and the time each figure was read as the sample
  timestamp (milliseconds), container start times, and scrape_error / resource_scrape_error;
* `/metrics/cadvisor` (cAdvisor's container metrics): CPU, memory, network and filesystem per container (labels
  container, id, image, name, namespace, pod), per pod (container="") and for the machine (id="/").
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from kubelet.stats.model import ContainerStats, PodStats, Snapshot, Usage

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return "{" + inner + "}" if inner else ""


def _go_float(value: float) -> str:
    """A sample value as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it (the kubelet's output): the shortest
    digits that read back the same, in exponent form when the exponent is below -4 or at least 6."""
    v = float(value)
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(v)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    exp = len(digits) - 1 + exponent
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exponent >= 0:
        return prefix + text + "0" * exponent
    point = len(text) + exponent
    if point > 0:
        return f"{prefix}{text[:point]}.{text[point:]}"
    return f"{prefix}0.{'0' * -point}{text}"


class _Family:
    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        self.name = name

    def add(self, labels: Iterable[tuple[str, str]], value: float, at: float | None = None) -> None:
        stamp = f" {int(at * 1000)}" if at is not None else ""
        self.lines.append(f"{self.name}{_labels(labels)} {_go_float(value)}{stamp}")


def resource_metrics(snapshot: Snapshot) -> str:
    node_cpu = _Family("node_cpu_usage_seconds_total", "counter",
                       "[STABLE] Cumulative cpu time consumed by the node in core-seconds")  # fmt: skip
    node_mem = _Family(
        "node_memory_working_set_bytes", "gauge", "[STABLE] Current working set of the node in bytes"
    )
    c_start = _Family("container_start_time_seconds", "gauge",
                      "[STABLE] Start time of the container since unix epoch in seconds")  # fmt: skip
    c_cpu = _Family("container_cpu_usage_seconds_total", "counter",
                    "[STABLE] Cumulative cpu time consumed by the container in core-seconds")  # fmt: skip
    c_mem = _Family("container_memory_working_set_bytes", "gauge",
                    "[STABLE] Current working set of the container in bytes")  # fmt: skip
    p_cpu = _Family("pod_cpu_usage_seconds_total", "counter",
                    "[STABLE] Cumulative cpu time consumed by the pod in core-seconds")  # fmt: skip
    p_mem = _Family(
        "pod_memory_working_set_bytes", "gauge", "[STABLE] Current working set of the pod in bytes"
    )
    failed = 1 if snapshot.errors else 0
    scrape = _Family(
        "scrape_error",
        "gauge",
        "[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise",
    )
    scrape.add((), failed)
    resource_scrape = _Family("resource_scrape_error", "gauge",
                              "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise")  # fmt: skip
    resource_scrape.add((), failed)
    if snapshot.node is not None:
        u = snapshot.node.usage
        node_cpu.add((), u.cpu_ns / 1e9, u.time)
        node_mem.add((), u.memory.working_set, u.time)
    for pod in snapshot.pods:
        for c in pod.containers:
            labels = (("container", c.name), ("namespace", pod.namespace), ("pod", pod.name))
            if c.start_time > 0:
                c_start.add(labels, c.start_time)
            c_cpu.add(labels, c.usage.cpu_ns / 1e9, c.usage.time)
            c_mem.add(labels, c.usage.memory.working_set, c.usage.time)
        pod_labels = (("namespace", pod.namespace), ("pod", pod.name))
        p_cpu.add(pod_labels, pod.usage.cpu_ns / 1e9, pod.usage.time)
        p_mem.add(pod_labels, pod.usage.memory.working_set, pod.usage.time)
    families = (c_cpu, c_mem, c_start, node_cpu, node_mem, p_cpu, p_mem, resource_scrape, scrape)
    return _join(families)


def cadvisor_metrics(snapshot: Snapshot) -> str:
    cpu = _Family("container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds.")
    usage = _Family("container_memory_usage_bytes", "gauge",
                    "Current memory usage in bytes, including all memory regardless of when it was accessed")  # fmt: skip
    working = _Family("container_memory_working_set_bytes", "gauge", "Current working set in bytes.")
    rss = _Family("container_memory_rss", "gauge", "Size of RSS in bytes.")
    rx = _Family("container_network_receive_bytes_total", "counter", "Cumulative count of bytes received")
    tx = _Family("container_network_transmit_bytes_total", "counter", "Cumulative count of bytes transmitted")
    fs = _Family(
        "container_fs_usage_bytes",
        "gauge",
        "Number of bytes that are consumed by the container on this filesystem.",
    )
    start = _Family(
        "container_start_time_seconds", "gauge", "Start time of the container since unix epoch in seconds."
    )

    def usage_series(labels: tuple[tuple[str, str], ...], u: Usage) -> None:
        cpu.add((*labels[:1], ("cpu", "total"), *labels[1:]), u.cpu_ns / 1e9, u.time)
        usage.add(labels, u.memory.usage, u.time)
        working.add(labels, u.memory.working_set, u.time)
        rss.add(labels, u.memory.rss, u.time)

    if snapshot.node is not None:
        n = snapshot.node
        root = _cadvisor_labels("", "/", "", "", "", "")
        usage_series(root, n.usage)
        for i in n.interfaces:
            rx.add((*root, ("interface", i.name)), i.rx_bytes, n.network_time)
            tx.add((*root, ("interface", i.name)), i.tx_bytes, n.network_time)
        if n.start_time:
            start.add(root, n.start_time)
    for pod in snapshot.pods:
        whole = _cadvisor_labels("", "", "", "", pod.namespace, pod.name)
        usage_series(whole, pod.usage)
        for i in pod.interfaces:
            rx.add((*whole, ("interface", i.name)), i.rx_bytes, pod.network_time)
            tx.add((*whole, ("interface", i.name)), i.tx_bytes, pod.network_time)
        for c in pod.containers:
            labels = _container_labels(pod, c)
            usage_series(labels, c.usage)
            if c.rootfs is not None:
                fs.add((*labels, ("device", "")), c.rootfs.used_bytes, c.usage.time)
            if c.start_time > 0:
                start.add(labels, c.start_time)
    return _join((cpu, usage, rss, working, rx, tx, fs, start))


def _cadvisor_labels(
    container: str, cgroup: str, image: str, name: str, namespace: str, pod: str
) -> tuple[tuple[str, str], ...]:
    return (("container", container), ("id", cgroup), ("image", image), ("name", name),
            ("namespace", namespace), ("pod", pod))  # fmt: skip


def _container_labels(pod: PodStats, c: ContainerStats) -> tuple[tuple[str, str], ...]:
    return _cadvisor_labels(c.name, c.cgroup, c.image, c.docker_name, pod.namespace, pod.name)


def _join(families: Iterable[_Family]) -> str:
    return "".join("\n".join(f.lines) + "\n" for f in families)
