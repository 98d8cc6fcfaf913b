"""ControllerRevisions: the template history of DaemonSets and StatefulSets (Kubernetes' controller history).

A revision stores what `kubectl rollout undo` patches back: `{"spec": {"template": {..., "$patch": "replace"}}}`
(a strategic merge patch that replaces the whole template). Its name is `<owner>-<hash>`, its label
`controller-revision-hash: <hash>` (also put on the pods made from it), and its `revision` number grows by one
for every new template; returning to an old template renumbers that old revision instead of copying it.

`plan` is the pure decision (which revision is the update revision, what to create or renumber); `sync` carries
it out against the API; `to_delete` picks history beyond revisionHistoryLimit.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_already_exists
from apimachinery.informer import Store
from apimachinery.resources import must_resource
from apimachinery.workloads import CONTROLLER_REVISION_HASH
from controller_manager.hashing import fnv32a, safe_encode
from controller_manager.podutil import Obj, controller_ref, controller_reference

CONTROLLERREVISIONS = must_resource("apps", "controllerrevisions")


def revision_data(owner: Obj) -> Obj:
    """The patch a revision stores: the owner's pod template, replacing the whole template when applied."""
    template = copy.deepcopy((owner.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def hash_data(data: Obj, collision_count: int | None = None) -> str:
    """FNV-1a of the canonical JSON of `data`, mixed with collisionCount, in the vowel-free alphabet."""
    h = fnv32a(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
    if collision_count:
        h = fnv32a(int(collision_count & 0xFFFFFFFF).to_bytes(4, "little"), h)
    return safe_encode(str(h))


def owned(owner: Obj, revisions: list[Obj]) -> list[Obj]:
    """The revisions whose controller is `owner` (same uid), oldest revision first."""
    uid = (owner.get("metadata") or {}).get("uid")
    mine = [r for r in revisions if (controller_ref(r) or {}).get("uid") == uid]
    return sorted(mine, key=lambda r: (int(r.get("revision") or 0), r["metadata"].get("name", "")))


def new_revision(owner: Obj, data: Obj, number: int, collision_count: int | None) -> Obj:
    meta = owner["metadata"]
    digest = hash_data(data, collision_count)
    labels = dict(
        (((owner.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    )
    labels[CONTROLLER_REVISION_HASH] = digest
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": f"{meta['name']}-{digest}",
            "namespace": meta.get("namespace"),
            "labels": labels,
            "ownerReferences": [
                controller_reference(owner, owner.get("apiVersion") or "apps/v1", owner["kind"])
            ],
        },
        "data": data,
        "revision": number,
    }


@dataclass
class Plan:
    """What `sync` must do: reuse `existing` (renumbered to `renumber` when set) or create `create`."""

    existing: Obj | None
    renumber: int | None
    create: Obj | None


def plan(owner: Obj, revisions: list[Obj], collision_count: int | None) -> Plan:
    """The update revision for the owner's current template among its `revisions` (see `owned`)."""
    data = revision_data(owner)
    latest = max((int(r.get("revision") or 0) for r in revisions), default=0)
    equal = [r for r in revisions if r.get("data") == data]
    if equal:
        newest = max(equal, key=lambda r: int(r.get("revision") or 0))
        number = int(newest.get("revision") or 0)
        return Plan(newest, latest + 1 if number < latest else None, None)
    return Plan(None, None, new_revision(owner, data, latest + 1, collision_count))


class HashCollisionError(Exception):
    """Another revision already has the name the current template hashes to: bump collisionCount and retry."""


COLLISION_RETRY = 0.1  # seconds before an owner whose new revision's name was taken tries again


async def revisions_of(
    client: Client, owner: Obj, cache: Store, write_status: Callable[[Obj, Obj], Awaitable[None]]
) -> tuple[list[Obj], Obj | None]:
    """`owner`'s revisions in `cache` (the ControllerRevision informer's store), oldest first, and its update
    revision (`update_revision`: None after a hash collision)."""
    revisions = owned(owner, cache.by_index("namespace", owner["metadata"].get("namespace") or ""))
    return revisions, await update_revision(client, owner, revisions, write_status)


async def update_revision(
    client: Client, owner: Obj, revisions: list[Obj], write_status: Callable[[Obj, Obj], Awaitable[None]]
) -> Obj | None:
    """The owner's update revision (`sync`); None after a hash collision, which bumps status.collisionCount
    (written with `write_status(owner, status)`) so that the next try, after COLLISION_RETRY, hashes elsewhere."""
    status = owner.get("status") or {}
    try:
        return await sync(client, owner, revisions, status.get("collisionCount"))
    except HashCollisionError:
        bumped = {**copy.deepcopy(status), "collisionCount": int(status.get("collisionCount") or 0) + 1}
        await write_status(owner, bumped)
        return None


async def sync(client: Client, owner: Obj, revisions: list[Obj], collision_count: int | None) -> Obj:
    """The update revision, created or renumbered as `plan` says. HashCollisionError on a name clash."""
    step = plan(owner, revisions, collision_count)
    ns = owner["metadata"].get("namespace")
    if step.existing is not None:
        if step.renumber is None:
            return step.existing
        body = copy.deepcopy(step.existing)
        body["revision"] = step.renumber
        return await client.update(CONTROLLERREVISIONS, body, ns)  # type: ignore[no-any-return]
    assert step.create is not None
    try:
        return await client.create(CONTROLLERREVISIONS, step.create, ns)  # type: ignore[no-any-return]
    except StatusError as err:
        if not is_already_exists(err):
            raise
        existing = await client.get(CONTROLLERREVISIONS, step.create["metadata"]["name"], ns)
        mine = (controller_ref(existing) or {}).get("uid") == owner["metadata"]["uid"]
        if mine and existing.get("data") == step.create["data"]:
            return existing  # our own, not in the cache yet
        raise HashCollisionError(step.create["metadata"]["name"]) from err


def to_delete(revisions: list[Obj], live: set[str], limit: int | None) -> list[Obj]:
    """Revisions beyond `limit` that no pod runs and that are neither current nor update (`live` names)."""
    if limit is None:
        return []
    old = [r for r in revisions if r["metadata"]["name"] not in live]
    excess = len(old) - max(int(limit), 0)
    return old[:excess] if excess > 0 else []
