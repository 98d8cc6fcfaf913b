"""What the controllers that own pods share: the pod handlers of a controller that counts its creates and deletes
with expectations (`PodOwnerController`), and the writes that adopt and release pods (`claim_pods`,
`patch_pod_metadata`). Which known owner controls an object is `base.owner_key`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_conflict, is_forbidden, is_not_found
from apimachinery.events import NORMAL, WARNING
from apimachinery.informer import Informer
from apimachinery.labels import Selector
from apimachinery.resources import ResourceInfo
from controller_manager import replicaset_util
from controller_manager.base import PODS, Controller, owner_key, spec_selector
from controller_manager.expectations import Expectations
from controller_manager.podutil import Obj, controller_ref, is_terminating, key_of

# The events of a controller that creates and deletes what it owns (upstream's controller_utils reasons).
SUCCESSFUL_CREATE = "SuccessfulCreate"
FAILED_CREATE = "FailedCreate"
SUCCESSFUL_DELETE = "SuccessfulDelete"
FAILED_DELETE = "FailedDelete"


def namespace_terminating(result: object) -> bool:
    """Whether `result` is the 403 of a create in a namespace being deleted (nothing to report or retry)."""
    if not isinstance(result, StatusError) or not is_forbidden(result):
        return False
    return any(c.get("reason") == "NamespaceTerminating" for c in result.details.get("causes") or [])


async def patch_pod_metadata(client: Client, pod: Obj, metadata: Obj) -> Obj | None:
    """Patch `metadata` (owner references, finalizers) into `pod` at the version we saw; None when the pod is
    gone or changed meanwhile (the next sync sees the new state)."""
    body = {"metadata": {**metadata, "resourceVersion": pod["metadata"].get("resourceVersion")}}
    try:
        return await client.patch(PODS, pod["metadata"]["name"], body, pod["metadata"]["namespace"])  # type: ignore[no-any-return]
    except StatusError as err:
        if not (is_not_found(err) or is_conflict(err)):
            raise
        return None


async def claim_pods(
    client: Client,
    resource: ResourceInfo,
    owner: Obj,
    adopt: list[Obj],
    release: list[Obj],
    *,
    adopt_metadata: Callable[[Obj], Obj] | None = None,
) -> list[Obj]:
    """Adopt the orphans `adopt` and release the pods `release` (as `replicaset_util.classify_pods` split them);
    returns the adopted pods. `adopt_metadata(pod)` adds to the owner references an adopted pod gets.

    Adopts only if the owner still exists as we know it (a fresh read, not the cache) and is not being deleted:
    otherwise we could claim pods for an owner that is already gone, and the garbage collector would delete them.
    A pod gone or changed meanwhile is skipped (the next sync sees the new state)."""
    adopted = []
    if adopt and await _still_there(client, resource, owner):
        for pod in adopt:
            metadata = {"ownerReferences": replicaset_util.owner_refs_with_controller(pod, owner)}
            if adopt_metadata is not None:
                metadata |= adopt_metadata(pod)
            if patched := await patch_pod_metadata(client, pod, metadata):
                adopted.append(patched)
    for pod in release:
        refs = replicaset_util.owner_refs_without(pod, owner["metadata"]["uid"])
        await patch_pod_metadata(client, pod, {"ownerReferences": refs or None})
    return adopted


async def _still_there(client: Client, resource: ResourceInfo, owner: Obj) -> bool:
    try:
        fresh = await client.get(resource, owner["metadata"]["name"], owner["metadata"]["namespace"])
    except StatusError as err:
        if is_not_found(err):
            return False
        raise
    return bool(fresh["metadata"].get("uid") == owner["metadata"]["uid"] and not is_terminating(fresh))


class PodOwnerController(Controller):
    """A controller of `kind` objects (held by `owner_informer`) that create pods and count them in
    `expectations`. Its pod handlers only enqueue owner keys, and tell the expectations what the cache has
    caught up with; an orphan that changes wakes every owner in its namespace that selects it (to adopt it)."""

    kind: str
    owner_informer: Informer
    expectations: Expectations

    def watch_owners(self, res: ResourceInfo) -> Informer:
        """The informer on the owners: a change reconciles the owner; a deletion also forgets its expectations."""
        return self.watch(res, self.enqueue_object, on_delete=self._on_owner_delete)

    def watch_pods(self) -> Informer:
        return self.watch(
            PODS, self._on_pod_add, on_update=self._on_pod_update, on_delete=self._on_pod_delete
        )

    def _on_owner_delete(self, owner: Obj) -> None:
        self.expectations.delete(key_of(owner))
        self.enqueue(key_of(owner))

    def selector(self, owner: Obj) -> Selector:
        """The owner's pod selector; ValueError when it is invalid."""
        return spec_selector(owner)

    def _owner_key(self, obj: Obj) -> str | None:
        return owner_key(obj, self.kind, self.owner_informer.store)

    def _enqueue_matching(self, pod: Obj) -> None:
        self.enqueue_selecting(pod, self.owner_informer.store, self.selector)

    def _on_pod_add(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.creation_observed(key)
            if is_terminating(pod):
                self.expectations.deletion_observed(key, key_of(pod))
            self.enqueue(key)
        elif controller_ref(pod) is None:
            self._enqueue_matching(pod)

    def _on_pod_update(self, old: Obj, new: Obj) -> None:
        key, old_key = self._owner_key(new), self._owner_key(old)
        if key is not None and is_terminating(new):
            # A graceful delete shows up as deletionTimestamp long before the DELETED event.
            self.expectations.deletion_observed(key, key_of(new))
        if old_key is not None and old_key != key:
            self.enqueue(old_key)
        if key is not None:
            self.enqueue(key)
        elif controller_ref(new) is None:
            self._enqueue_matching(new)

    async def create_pods(self, key: str, owner: Obj, bodies: list[Obj]) -> list[BaseException] | None:
        """`create_in_batches` for this controller: the failures; None when the namespace is terminating."""
        created = await create_in_batches(self, self.expectations, key, owner, bodies)
        return None if created.stopped else created.errors

    def _on_pod_delete(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.deletion_observed(key, key_of(pod))
            self.enqueue(key)


@dataclass(frozen=True)
class Created:
    count: int
    errors: list[BaseException]
    stopped: bool  # the namespace is terminating: nothing more can be created there


async def create_in_batches(
    ctl: Controller, expectations: Expectations, key: str, owner: Obj, bodies: list[Obj]
) -> Created:
    """Create `bodies` in `owner`'s namespace in slow-start batches (1, 2, 4, ...), each already counted in the
    expectations of `key`, with an event for each; stop after the first batch that had a failure (the rest are
    never sent, so never expected), or when the namespace is terminating."""
    ns = owner["metadata"]["namespace"]
    remaining, count = list(bodies), 0
    for batch in replicaset_util.slow_start_batches(len(bodies)):
        chunk, remaining = remaining[:batch], remaining[batch:]
        results = await asyncio.gather(
            *(ctl.client.create(PODS, body, ns) for body in chunk), return_exceptions=True
        )
        if any(namespace_terminating(r) for r in results):
            # Nothing can be created there any more, and the namespace controller is deleting the rest.
            expectations.expect_creations(key, 0)
            return Created(count, [], stopped=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for r in results:
            if isinstance(r, BaseException):
                expectations.creation_observed(key)  # it will never be observed
                ctl.recorder.event(owner, WARNING, FAILED_CREATE, f"Error creating: {r}")
            else:
                count += 1
                ctl.recorder.event(owner, NORMAL, SUCCESSFUL_CREATE, f"Created pod: {r['metadata']['name']}")
        if errors:
            for _ in remaining:
                expectations.creation_observed(key)  # skipped, never sent
            return Created(count, errors, stopped=False)
    return Created(count, [], stopped=False)
