"""What the Endpoints and EndpointSlice controllers share: a queue of Service keys fed by Services and by the pods
their selectors match (a pod change wakes the Services that select its old or its new labels)."""

from __future__ import annotations

from apimachinery.labels import selector_from_set
from controller_manager.base import PODS, SERVICES, Context, Controller
from controller_manager.podutil import Obj, key_of


def selects(service: Obj, labels: dict[str, str] | None) -> bool:
    """Whether `service` has a selector and it matches `labels` (a Service without one selects no pods)."""
    selector = (service.get("spec") or {}).get("selector")
    return bool(selector) and selector_from_set(selector).matches(labels or {})


class ServicePodsController(Controller):
    """A controller keyed by Service, with informers on Services and Pods whose handlers only enqueue."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.svc_informer = self.watch(SERVICES, self.enqueue_object)
        self.pod_informer = self.watch(PODS, self._on_pod, on_update=self._on_pod_update)

    def selected_pods(self, svc: Obj, ns: str) -> list[Obj]:
        """The cached pods of namespace `ns` that `svc` selects."""
        return [
            p
            for p in self.pod_informer.store.by_index("namespace", ns)
            if selects(svc, p["metadata"].get("labels"))
        ]

    def _services_for(self, pod: Obj, labels: dict[str, str] | None) -> list[str]:
        ns = (pod.get("metadata") or {}).get("namespace") or ""
        return [key_of(s) for s in self.svc_informer.store.by_index("namespace", ns) if selects(s, labels)]

    def _on_pod(self, pod: Obj) -> None:
        for key in self._services_for(pod, pod["metadata"].get("labels")):
            self.enqueue(key)

    def _on_pod_update(self, old: Obj, new: Obj) -> None:
        keys = set(self._services_for(new, new["metadata"].get("labels")))
        if (old["metadata"].get("labels") or {}) != (new["metadata"].get("labels") or {}):
            keys |= set(self._services_for(old, old["metadata"].get("labels")))
        for key in keys:
            self.enqueue(key)
