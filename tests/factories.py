"""Object factories for tests: the smallest valid manifests, as plain JSON dicts (as they travel on the wire)."""

from __future__ import annotations

import copy
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


def crontab_crd(
    group: str = "stable.example.com",
    plural: str = "crontabs",
    kind: str = "CronTab",
    scope: str = "Namespaced",
    short_names: tuple[str, ...] = ("ct",),
) -> Obj:
    """A CustomResourceDefinition in the shape of the Kubernetes documentation's CronTab example: versions v1
    (storage) and v1beta1, a structural schema with a default, an enum, a pattern, an int-or-string, a
    preserve-unknown-fields map and an embedded resource, status and scale subresources and printer columns."""
    schema: Obj = {
        "type": "object",
        "description": f"{kind} runs a command on a schedule.",
        "properties": {
            "spec": {
                "type": "object",
                "description": "What to run and when.",
                "required": ["cronSpec"],
                "properties": {
                    "cronSpec": {
                        "type": "string",
                        "description": "The schedule, in cron format.",
                        "pattern": r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$",
                    },
                    "image": {"type": "string", "description": "The image to run."},
                    "replicas": {"type": "integer", "minimum": 0, "default": 1, "description": "How many."},
                    "policy": {"type": "string", "enum": ["Allow", "Forbid"], "default": "Allow"},
                    "timeout": {"x-kubernetes-int-or-string": True, "description": "Seconds, or a duration."},
                    "note": {"type": "string", "nullable": True},
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "template": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": True,
                        "x-kubernetes-preserve-unknown-fields": True,
                    },
                },
            },
            "status": {
                "type": "object",
                "properties": {
                    "replicas": {"type": "integer"},
                    "selector": {"type": "string"},
                    "lastRun": {"type": "string", "format": "date-time"},
                },
            },
        },
    }
    columns = [
        {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Image", "type": "string", "jsonPath": ".spec.image", "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    subresources = {
        "status": {},
        "scale": {
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector",
        },
    }
    version = {
        "schema": {"openAPIV3Schema": schema},
        "subresources": subresources,
        "additionalPrinterColumns": columns,
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {
                "plural": plural,
                "singular": kind.lower(),
                "kind": kind,
                "shortNames": list(short_names),
            },
            "versions": [
                {"name": "v1", "served": True, "storage": True, **copy.deepcopy(version)},
                {"name": "v1beta1", "served": True, "storage": False, **copy.deepcopy(version)},
            ],
        },
    }
