"""What the apiserver holds, read by async tests through `apimachinery.client.Client`: an object or None, and
whether it is gone (the predicate tests poll with `tests.polling.eventually`)."""

from __future__ import annotations

from typing import Any

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_not_found
from apimachinery.resources import ResourceInfo


async def get_or_none(
    client: Client, res: ResourceInfo, name: str, ns: str | None = None
) -> dict[str, Any] | None:
    """The stored object, or None when the apiserver answers 404 (any other error is raised)."""
    try:
        return await client.get(res, name, ns)  # type: ignore[no-any-return]
    except StatusError as err:
        if is_not_found(err):
            return None
        raise


async def absent(client: Client, res: ResourceInfo, name: str, ns: str | None = None) -> bool:
    """True once the object is gone (404)."""
    return await get_or_none(client, res, name, ns) is None


def status_settled(obj: dict[str, Any], counts: dict[str, int]) -> bool:
    """Whether the controller has seen `obj`'s latest spec (status.observedGeneration) and its status reports each
    of `counts` (e.g. replicas, availableReplicas): the end state a test of a workload controller waits for."""
    status = obj.get("status") or {}
    return bool(status.get("observedGeneration", 0) >= obj["metadata"]["generation"]) and all(
        status.get(field) == n for field, n in counts.items()
    )


# The status counts of a Deployment whose rollout is complete (kubectl rollout status's test, plus no old replicas).
ROLLED_OUT = ("updatedReplicas", "replicas", "availableReplicas")
