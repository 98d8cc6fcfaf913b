"""What the EndpointSlice controller has written and its informer has not shown yet (upstream's
EndpointSliceTracker).

After the controller creates a slice for a Service, another change to that Service's pods can bring the key back
before the slice informer has seen the creation; planning from that cache would create a second slice for the same
ports. So every write records the slice's name and the generation the apiserver answered with (a deletion records
a tombstone), and the controller does not plan for a Service while its cache is older than its own writes. The
slice informer's events bring the key back once the cache has caught up.
"""

from __future__ import annotations

from controller_manager.podutil import Obj

DELETED = -1


class SliceTracker:
    def __init__(self) -> None:
        self._written: dict[str, dict[str, int]] = {}

    def wrote(self, service_key: str, slice_: Obj) -> None:
        md = slice_["metadata"]
        self._written.setdefault(service_key, {})[md["name"]] = int(md.get("generation") or 0)

    def deleted(self, service_key: str, name: str) -> None:
        self._written.setdefault(service_key, {})[name] = DELETED

    def forget(self, service_key: str) -> None:
        self._written.pop(service_key, None)

    def stale(self, service_key: str, cached: list[Obj]) -> bool:
        """True while `cached` (the informer's slices of the Service) misses one of our writes."""
        written = self._written.get(service_key)
        if not written:
            return False
        seen = {s["metadata"]["name"]: int(s["metadata"].get("generation") or 0) for s in cached}
        for name, generation in written.items():
            if generation == DELETED:
                if name in seen:
                    return True
            elif seen.get(name, -1) < generation:
                return True
        self.forget(service_key)  # the cache holds everything we wrote: nothing more to wait for
        return False
