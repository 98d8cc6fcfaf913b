"""The ReplicationController controller: the ReplicaSet controller run on v1 ReplicationControllers.

An RC is a ReplicaSet whose selector is a plain label map (equality only); Kubernetes runs both with one
implementation, and so do we: only the resource, the kind and the selector differ.
"""

from __future__ import annotations

from typing import Any

from apimachinery.labels import Selector, selector_from_set
from apimachinery.resources import must_resource
from controller_manager.replicaset import ReplicaSetController

REPLICATIONCONTROLLERS = must_resource("", "replicationcontrollers")


class ReplicationControllerController(ReplicaSetController):
    name = "replicationcontroller"
    resource = REPLICATIONCONTROLLERS
    kind = "ReplicationController"

    def selector(self, rs: dict[str, Any]) -> Selector:
        labels = (rs.get("spec") or {}).get("selector")
        if not labels:
            return Selector.nothing()  # an RC without a selector selects nothing (validation requires one)
        if not isinstance(labels, dict):
            raise ValueError("spec.selector must be a map of labels")
        return selector_from_set({str(k): str(v) for k, v in labels.items()})
