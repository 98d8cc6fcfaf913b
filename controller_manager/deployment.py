"""The Deployment controller: one ReplicaSet per pod template, rolled from old to new within maxSurge/maxUnavailable.

Informers on Deployments, ReplicaSets and Pods feed one queue of Deployment keys. `reconcile` claims ReplicaSets
(adopt matching orphans, release owned ones that stopped matching), then takes one step:

* paused, or spec.replicas changed (a scaling event): resize the ReplicaSets proportionally, nothing else;
* RollingUpdate: grow the new ReplicaSet as far as maxSurge allows, or else shrink old ones as far as
  maxUnavailable allows;
* Recreate: scale every old ReplicaSet to zero, wait until their pods are gone, then create the new one at full size;

and writes the status (with the Progressing and Available conditions). Each step writes and returns: the
informer events of the writes bring the key back, so a step always starts from what the apiserver has.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from apimachinery.errors import StatusError, ignore_not_found, is_already_exists, is_conflict, is_not_found
from apimachinery.events import NORMAL, WARNING
from controller_manager import deployment_status as dstatus
from controller_manager import replicaset_util, revisions, rollout
from controller_manager.base import (
    DEPLOYMENTS,
    PODS,
    REPLICASETS,
    Context,
    Controller,
    owner_key,
    with_kind,
    working_copy,
)
from controller_manager.hashing import compute_hash
from controller_manager.ownership import FAILED_CREATE
from controller_manager.podutil import (
    Obj,
    controller_ref,
    get_condition,
    is_terminating,
    key_of,
    now,
    split_key,
)

log = logging.getLogger(__name__)

SCALING_REPLICA_SET = "ScalingReplicaSet"


class DeploymentController(Controller):
    name = "deployment"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.d_informer = self.watch(DEPLOYMENTS, self.enqueue_object)
        self.rs_informer = self.watch_owned(
            REPLICASETS,
            self.d_informer,
            on_orphan=lambda rs: self.enqueue_selecting(rs, self.d_informer.store),
        )
        self.pod_informer = self.watch(PODS, on_delete=self._on_pod_delete)

    # -- handlers -------------------------------------------------------------------------------------------

    def _on_pod_delete(self, pod: Obj) -> None:
        # Recreate waits for the old pods to be gone; the last one going must wake the Deployment.
        ref = controller_ref(pod)
        if not ref or ref.get("kind") != "ReplicaSet":
            return
        rs = self.rs_informer.store.get(f"{pod['metadata'].get('namespace')}/{ref.get('name')}")
        if rs is None:
            return
        key = owner_key(rs, "Deployment", self.d_informer.store)
        d = self.d_informer.store.get(key) if key else None
        if d is not None and not rollout.is_rolling_update(d):
            self.enqueue(key_of(d))

    # -- reconcile ------------------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        d = working_copy(self.d_informer, key)
        if d is None:
            return None
        spec = d.get("spec") or {}
        selector = self.selector_of(d, key, "deployment")
        if selector is None:
            return None
        rss = await self._claim_replica_sets(d, selector.matches)
        if is_terminating(d):
            new_rs = revisions.find_new_rs(d, rss)
            await self._write_status(d, dstatus.calculate_status(d, rss, new_rs, now()))
            return None
        cond = dstatus.paused_condition_change(d, now())
        if cond is not None:
            status = copy.deepcopy(d.get("status") or {})
            dstatus.set_condition(status, cond)
            d = await self._write_status(d, status)
        if spec.get("paused") or rollout.is_scaling_event(d, rss):
            return await self._sync(d, rss)
        if rollout.is_rolling_update(d):
            return await self._rollout_rolling(d, rss)
        return await self._rollout_recreate(d, rss)

    async def _claim_replica_sets(self, d: Obj, selector: Any) -> list[Obj]:
        ns, _ = split_key(key_of(d))
        candidates = self.rs_informer.store.by_index("namespace", ns or "")
        owned, adopt, release = replicaset_util.classify_pods(d, candidates, selector)
        owned = [with_kind(copy.deepcopy(rs), REPLICASETS) for rs in owned]
        if adopt:
            fresh = await self.client.get(DEPLOYMENTS, d["metadata"]["name"], ns)
            if fresh["metadata"].get("uid") == d["metadata"]["uid"] and not is_terminating(fresh):
                for rs in adopt:
                    refs = replicaset_util.owner_refs_with_controller(rs, d)
                    body = {
                        "metadata": {
                            "ownerReferences": refs,
                            "resourceVersion": rs["metadata"]["resourceVersion"],
                        }
                    }
                    try:
                        owned.append(await self.client.patch(REPLICASETS, rs["metadata"]["name"], body, ns))
                    except StatusError as err:
                        if not (is_not_found(err) or is_conflict(err)):
                            raise
        for rs in release:
            remaining = replicaset_util.owner_refs_without(rs, d["metadata"]["uid"]) or None
            body = {
                "metadata": {
                    "ownerReferences": remaining,
                    "resourceVersion": rs["metadata"]["resourceVersion"],
                }
            }
            try:
                await self.client.patch(REPLICASETS, rs["metadata"]["name"], body, ns)
            except StatusError as err:
                if not (is_not_found(err) or is_conflict(err)):
                    raise
        return owned

    # -- the new ReplicaSet and revisions -------------------------------------------------------------------

    async def _new_and_old(
        self, d: Obj, rss: list[Obj], *, create: bool
    ) -> tuple[Obj, Obj | None, list[Obj]]:
        """(deployment, new ReplicaSet or None, old ReplicaSets), creating the new one if asked to.

        Also keeps the revision annotations in step: the new ReplicaSet gets max(old revisions) + 1, and the
        Deployment carries the revision of its new ReplicaSet.
        """
        new_rs = revisions.find_new_rs(d, rss)
        old = [rs for rs in rss if rs is not new_rs]
        new_revision = revisions.max_revision(old) + 1
        ns = d["metadata"]["namespace"]
        if new_rs is not None:
            annotations = dict(new_rs["metadata"].get("annotations") or {})
            changed = revisions.new_rs_annotations(d, annotations, new_revision, exists=True)
            min_ready = (d.get("spec") or {}).get("minReadySeconds", 0)
            if changed or (new_rs.get("spec") or {}).get("minReadySeconds", 0) != min_ready:
                body = copy.deepcopy(new_rs)
                body["metadata"]["annotations"] = annotations
                body["spec"]["minReadySeconds"] = min_ready
                new_rs = with_kind(await self.client.update(REPLICASETS, body, ns), REPLICASETS)
            d = await self._set_revision(d, revisions.revision_of(new_rs))
            if (
                dstatus.progress_deadline(d) is not None
                and get_condition(d.get("status"), dstatus.PROGRESSING) is None
            ):
                status = copy.deepcopy(d.get("status") or {})
                msg = f'Found new replica set "{new_rs["metadata"]["name"]}"'
                dstatus.set_condition(
                    status,
                    dstatus.new_condition(dstatus.PROGRESSING, "True", dstatus.FOUND_NEW_RS, msg, now()),
                )
                d = await self._write_status(d, status)
            return d, new_rs, old
        if not create:
            return d, None, old

        collision = (d.get("status") or {}).get("collisionCount")
        pod_hash = compute_hash(d["spec"]["template"], collision)
        body = revisions.new_rs_object(d, pod_hash, 0, new_revision)
        body["spec"]["replicas"] = rollout.new_rs_new_replicas(d, [*old, body], body)
        try:
            created = with_kind(await self.client.create(REPLICASETS, body, ns), REPLICASETS)
            fresh = True
        except StatusError as err:
            if not is_already_exists(err):
                self.recorder.event(
                    d,
                    WARNING,
                    FAILED_CREATE,
                    f"Failed to create new replica set {body['metadata']['name']}: {err}",
                )
                raise
            existing = await self.client.get(REPLICASETS, body["metadata"]["name"], ns)
            ref = controller_ref(existing)
            same = revisions.find_new_rs(d, [existing]) is not None
            if not (ref and ref.get("uid") == d["metadata"]["uid"] and same):
                # A hash collision with a ReplicaSet that is not ours: bump collisionCount and try another name.
                status = copy.deepcopy(d.get("status") or {})
                status["collisionCount"] = int(collision or 0) + 1
                await self._write_status(d, status)
                raise
            created, fresh = with_kind(existing, REPLICASETS), False  # our cache had not seen it yet
        if fresh and created["spec"]["replicas"] > 0:
            self.recorder.event(
                d,
                NORMAL,
                SCALING_REPLICA_SET,
                f"Scaled up replica set {created['metadata']['name']} to {created['spec']['replicas']}",
            )
        d = await self._set_revision(d, revisions.revision_of(created))
        if fresh and dstatus.progress_deadline(d) is not None:
            status = copy.deepcopy(d.get("status") or {})
            msg = f'Created new replica set "{created["metadata"]["name"]}"'
            dstatus.set_condition(
                status, dstatus.new_condition(dstatus.PROGRESSING, "True", dstatus.NEW_RS_CREATED, msg, now())
            )
            d = await self._write_status(d, status)
        return d, created, old

    async def _set_revision(self, d: Obj, revision: int) -> Obj:
        annotations = d["metadata"].get("annotations") or {}
        if not revision or annotations.get(revisions.REVISION) == str(revision):
            return d
        body = {
            "metadata": {
                "annotations": {revisions.REVISION: str(revision)},
                "resourceVersion": d["metadata"]["resourceVersion"],
            }
        }
        return with_kind(
            await self.client.patch(DEPLOYMENTS, d["metadata"]["name"], body, d["metadata"]["namespace"]),
            DEPLOYMENTS,
        )

    # -- steps ----------------------------------------------------------------------------------------------

    async def _scale(self, d: Obj, rs: Obj, replicas: int) -> Obj:
        """Resize `rs` (and stamp the replicas annotations); an event when the size changes."""
        old_size = rollout.replicas_of(rs)
        annotations = dict(rs["metadata"].get("annotations") or {})
        wanted = rollout.replicas_annotations(d)
        if old_size == replicas and all(annotations.get(k) == v for k, v in wanted.items()):
            return rs
        body = copy.deepcopy(rs)
        body["metadata"]["annotations"] = {**annotations, **wanted}
        body["spec"]["replicas"] = replicas
        updated = with_kind(
            await self.client.update(REPLICASETS, body, rs["metadata"]["namespace"]), REPLICASETS
        )
        if old_size != replicas:
            direction = "up" if replicas > old_size else "down"
            self.recorder.event(
                d,
                NORMAL,
                SCALING_REPLICA_SET,
                f"Scaled {direction} replica set {rs['metadata']['name']} to {replicas}",
            )
        return updated

    async def _sync(self, d: Obj, rss: list[Obj]) -> float | None:
        """Paused or a scaling event: resize proportionally, clean up history (when paused), write status."""
        d, new_rs, old = await self._new_and_old(d, rss, create=False)
        sizes = rollout.proportional_sizes(d, new_rs, old)
        by_name = {rs["metadata"]["name"]: rs for rs in [*old, *([new_rs] if new_rs else [])]}
        for name, size in sizes.items():
            by_name[name] = await self._scale(d, by_name[name], size)
        new_rs = by_name.get(new_rs["metadata"]["name"]) if new_rs else None
        old = [by_name[rs["metadata"]["name"]] for rs in old]
        if (d.get("spec") or {}).get("paused"):
            await self._cleanup(d, old)
        all_rss = [*old, *([new_rs] if new_rs else [])]
        await self._write_status(d, dstatus.calculate_status(d, all_rss, new_rs, now()))
        return None

    async def _rollout_rolling(self, d: Obj, rss: list[Obj]) -> float | None:
        d, new_rs, old = await self._new_and_old(d, rss, create=True)
        assert new_rs is not None
        replicas = rollout.replicas_of(d)
        size = rollout.replicas_of(new_rs)
        if size != replicas:
            target = replicas if size > replicas else rollout.new_rs_new_replicas(d, [*old, new_rs], new_rs)
            if target != size:
                new_rs = await self._scale(d, new_rs, target)
                return await self._sync_rollout_status(d, [*old, new_rs], new_rs)
        if not all(rollout.status_is_current(rs) for rs in [*old, new_rs]):
            # A ReplicaSet has not caught up with its last resize: its counts would mislead the scale-down.
            # Its status update is an informer event that brings this Deployment back.
            return await self._sync_rollout_status(d, [*old, new_rs], new_rs)
        plan = rollout.plan_old_scale_down(d, new_rs, old)
        if plan:
            old = [
                await self._scale(d, rs, plan[rs["metadata"]["name"]])
                if rs["metadata"]["name"] in plan
                else rs
                for rs in old
            ]
            return await self._sync_rollout_status(d, [*old, new_rs], new_rs)
        if dstatus.deployment_complete(d, d.get("status") or {}):
            await self._cleanup(d, old)
        return await self._sync_rollout_status(d, [*old, new_rs], new_rs)

    async def _rollout_recreate(self, d: Obj, rss: list[Obj]) -> float | None:
        d, new_rs, old = await self._new_and_old(d, rss, create=False)
        live = rollout.active(old)
        if live:
            old = [await self._scale(d, rs, 0) if rs in live else rs for rs in old]
            return await self._sync_rollout_status(d, [*old, *([new_rs] if new_rs else [])], new_rs)
        if self._old_pods_running(old):
            return await self._sync_rollout_status(d, [*old, *([new_rs] if new_rs else [])], new_rs)
        if new_rs is None:
            d, new_rs, old = await self._new_and_old(d, rss, create=True)
            assert new_rs is not None
        if rollout.replicas_of(new_rs) != rollout.replicas_of(d):
            new_rs = await self._scale(d, new_rs, rollout.replicas_of(d))
            return await self._sync_rollout_status(d, [*old, new_rs], new_rs)
        if dstatus.deployment_complete(d, d.get("status") or {}):
            await self._cleanup(d, old)
        return await self._sync_rollout_status(d, [*old, new_rs], new_rs)

    def _old_pods_running(self, old: list[Obj]) -> bool:
        if any(rollout.status_int(rs, "replicas") > 0 for rs in old):
            return True
        uids = {rs["metadata"]["uid"] for rs in old}
        ns = old[0]["metadata"]["namespace"] if old else ""
        for pod in self.pod_informer.store.by_index("namespace", ns):
            ref = controller_ref(pod)
            if (
                ref
                and ref.get("uid") in uids
                and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            ):
                return True
        return False

    async def _cleanup(self, d: Obj, old: list[Obj]) -> None:
        for rs in revisions.history_to_delete(d, old):
            with ignore_not_found():
                await self.client.delete(REPLICASETS, rs["metadata"]["name"], rs["metadata"]["namespace"])

    # -- status ---------------------------------------------------------------------------------------------

    async def _sync_rollout_status(self, d: Obj, all_rss: list[Obj], new_rs: Obj | None) -> float | None:
        at = now()
        status = dstatus.rollout_status(d, all_rss, new_rs, at)
        d = await self._write_status(d, status)
        return dstatus.requeue_after(d, status, at)

    async def _write_status(self, d: Obj, status: Obj) -> Obj:
        if (d.get("status") or {}) == status:
            return d
        body = {**d, "status": status}
        updated = await self.client.update(
            DEPLOYMENTS, body, d["metadata"]["namespace"], subresource="status"
        )
        return with_kind(updated, DEPLOYMENTS)
