"""Builders shared by the apiserver suites (and the SQLite suite that reuses them)."""

from __future__ import annotations

from typing import Any

from tests.factories import pod


def make_pod(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict:
    return pod(name, labels, **spec)


def make_deployment(name: str, replicas: int = 1) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "busybox:1"}]},
            },
        },
    }
