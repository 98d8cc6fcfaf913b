"""The version every component reports: the apiserver's `/version` document and, in every /metrics,
`kubernetes_build_info` (a gauge of 1 whose labels carry the version, as component-base/metrics/prometheus/version
registers it)."""

from __future__ import annotations

import platform

from prometheus_client import REGISTRY, CollectorRegistry, Gauge

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-kubelite",
    "gitCommit": "kubelite",
    "gitTreeState": "clean",
    "buildDate": "2026-11-27T00:00:00Z",
    "goVersion": "python" + platform.python_version(),
    "compiler": "cpython",
    "platform": "linux/amd64",
}

_LABELS = {
    "major": "major",
    "minor": "minor",
    "git_version": "gitVersion",
    "git_commit": "gitCommit",
    "git_tree_state": "gitTreeState",
    "build_date": "buildDate",
    "go_version": "goVersion",
    "compiler": "compiler",
    "platform": "platform",
}


def register(registry: CollectorRegistry = REGISTRY) -> Gauge:
    """Add `kubernetes_build_info` to `registry` (once per registry)."""
    gauge = Gauge(
        "kubernetes_build_info",
        "A metric with a constant '1' value labeled by major, minor, git version, git commit, git tree state, "
        "build date, Go version, and compiler from which Kubernetes was built, and platform on which it is running.",
        list(_LABELS),
        registry=registry,
    )
    gauge.labels(**{label: VERSION[key] for label, key in _LABELS.items()}).set(1)
    return gauge


# Every process that imports this has it in the default registry (the one serve_health exposes).
register()
