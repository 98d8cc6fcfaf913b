"""The scheduler's view of the cluster: nodes and the pods placed on them, including assumed pods.

When the scheduler picks a node it *assumes* the pod there at once, so the next decisions count it, and then
binds in the background. The assumption holds until the informer shows the pod bound (the bind is confirmed),
or the bind fails and the scheduler `forget`s it. So in-flight binds never double-book a node.
Lives on one asyncio loop; not thread-safe.
"""

from __future__ import annotations

from typing import Any

from scheduler.nodeinfo import NodeInfo, PodInfo, pod_key


def is_terminal(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


class SchedulerCache:
    def __init__(self) -> None:
        self._nodes: dict[str, NodeInfo] = {}
        self._pod_node: dict[str, str] = {}  # pod key -> node it counts against
        self._assumed: set[str] = set()
        self._ready_nodes: list[NodeInfo] | None = None  # node_infos(), rebuilt when nodes come or go

    # --- nodes ---------------------------------------------------------------------------------------------

    def set_node(self, node: dict[str, Any]) -> None:
        name = node["metadata"]["name"]
        info = self._nodes.get(name)
        if info is None:
            self._nodes[name] = NodeInfo(name, node)
        else:
            info.set_node(node)
        self._ready_nodes = None

    def remove_node(self, name: str) -> None:
        info = self._nodes.get(name)
        if info is None:
            return
        if info.pods:
            info.node = None  # keep the pods' accounting until their deletions arrive
        else:
            del self._nodes[name]
        self._ready_nodes = None

    def node_infos(self) -> list[NodeInfo]:
        """Nodes the informer has delivered (not those only known from their pods). Do not modify the list."""
        if self._ready_nodes is None:
            self._ready_nodes = [info for info in self._nodes.values() if info.node is not None]
        return self._ready_nodes

    def node_info(self, name: str) -> NodeInfo | None:
        return self._nodes.get(name)

    # --- pods ----------------------------------------------------------------------------------------------

    def assume(self, info: PodInfo, node_name: str) -> None:
        """Count the pod against `node_name` before its bind is confirmed."""
        self._place(info, node_name)
        self._assumed.add(info.key)

    def forget(self, key: str) -> None:
        """The bind failed: the pod no longer counts against the node it was assumed on."""
        if key in self._assumed:
            self._assumed.discard(key)
            self._unplace(key)

    def is_assumed(self, key: str) -> bool:
        return key in self._assumed

    def set_pod(self, pod: dict[str, Any]) -> None:
        """A bound pod as the informer sees it: confirms an assumption, or adds/updates the pod's accounting."""
        key = pod_key(pod)
        if is_terminal(pod):  # finished pods hold no resources
            self.remove_pod(key)
            return
        self._assumed.discard(key)
        self._place(PodInfo.of(pod), pod["spec"]["nodeName"])

    def remove_pod(self, key: str) -> None:
        self._assumed.discard(key)
        self._unplace(key)

    def pod_node(self, key: str) -> str | None:
        return self._pod_node.get(key)

    def counts(self) -> dict[str, int]:
        return {"nodes": len(self.node_infos()), "pods": len(self._pod_node), "assumed": len(self._assumed)}

    def _place(self, info: PodInfo, node_name: str) -> None:
        self._unplace(info.key)
        node = self._nodes.get(node_name)
        if node is None:  # the pod's node has not arrived yet (not listed by node_infos until it does)
            node = self._nodes[node_name] = NodeInfo(node_name)
        node.add_pod(info)
        self._pod_node[info.key] = node_name

    def _unplace(self, key: str) -> None:
        node_name = self._pod_node.pop(key, None)
        if node_name is None:
            return
        node = self._nodes.get(node_name)
        if node is None:
            return
        node.remove_pod(key)
        if node.node is None and not node.pods:
            del self._nodes[node_name]
