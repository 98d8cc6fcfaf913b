"""Object factories for tests: the smallest valid manifests, as plain JSON dicts (as they travel on the wire)."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def pod(
    name: str,
    labels: dict[str, str] | None = None,
    image: str = "busybox:1",
    container: str = "app",
    **spec: Any,
) -> Obj:
    """A Pod `name` with one container `container` running `image`; `spec` adds or replaces pod spec fields."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"containers": [{"name": container, "image": image}], **spec},
    }


def deployment(
    name: str,
    replicas: int = 2,
    image: str = "nginx:1.25",
    container: str = "app",
    ports: list[int] | None = None,
) -> Obj:
    """A Deployment `name` labelled and selecting `app=<name>`, whose pods run one container `container` with
    `image` (and `ports` as container ports, if given)."""
    labels = {"app": name}
    box: Obj = {"name": container, "image": image}
    if ports:
        box["ports"] = [{"containerPort": p} for p in ports]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [box]}},
        },
    }
