"""The StatefulSet controller: members `<set>-0 .. <set>-(n-1)` with stable names and hostnames, started in order,
scaled down from the highest ordinal, rolled to a new template from the highest ordinal down to `partition`.

Informers on StatefulSets, Pods and ControllerRevisions feed one queue of StatefulSet keys. `reconcile` keeps
the template history (`history.py`: the current and the update revision), claims the members (pods whose name
is `<set>-<n>` and that the selector selects), takes the step `statefulset_util.plan` decides and writes the status.

Member names are fixed, so a controller that restarts, or that acts on a cache that is behind, can never make a
second pod for an ordinal: the create answers AlreadyExists.

volumeClaimTemplates: before a member is created, its claims `<template>-<set>-<ordinal>` are (an existing claim
is kept as it is: a member that is deleted, rolled or rescheduled finds its data again). The claims are not owned
by the set (persistentVolumeClaimRetentionPolicy Retain, Kubernetes' default): deleting or scaling the set keeps
them.
"""

from __future__ import annotations

import logging
from typing import Any

from apimachinery.errors import StatusError, ignore_not_found, is_already_exists, is_conflict, is_not_found
from apimachinery.events import NORMAL, WARNING
from apimachinery.resources import must_resource
from controller_manager import history, replicaset_util
from controller_manager import statefulset_util as util
from controller_manager.base import PODS, PVCS, Context, Controller, working_copy
from controller_manager.ownership import (
    FAILED_CREATE,
    FAILED_DELETE,
    SUCCESSFUL_CREATE,
    SUCCESSFUL_DELETE,
    claim_pods,
    patch_pod_metadata,
)
from controller_manager.podutil import Obj, is_terminating, key_of, now

log = logging.getLogger(__name__)

STATEFULSETS = must_resource("apps", "statefulsets")


class StatefulSetController(Controller):
    name = "statefulset"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.sts_informer = self.watch(STATEFULSETS, self.enqueue_object)
        self.pod_informer = self.watch_owned(PODS, self.sts_informer, on_orphan=self._enqueue_matching)
        self.cr_informer = self.watch_owned(history.CONTROLLERREVISIONS, self.sts_informer)

    # -- handlers -------------------------------------------------------------------------------------------

    def _enqueue_matching(self, pod: Obj) -> None:
        name = str(pod["metadata"].get("name"))
        for sts in self.sts_informer.store.by_index("namespace", pod["metadata"].get("namespace") or ""):
            if util.ordinal_of(sts["metadata"]["name"], name) is not None:
                self.enqueue(key_of(sts))

    # -- reconcile ------------------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        sts = working_copy(self.sts_informer, key)
        if sts is None:
            return None
        selector = self.selector_of(sts, key, "statefulset")
        if selector is None:
            return None
        revisions, update = await history.revisions_of(
            self.client, sts, self.cr_informer.store, self._write_status
        )
        if update is None:
            return history.COLLISION_RETRY
        status = sts.get("status") or {}
        revisions = [r for r in revisions if r["metadata"]["name"] != update["metadata"]["name"]] + [update]
        current = next(
            (r for r in revisions if r["metadata"]["name"] == status.get("currentRevision")), update
        )
        pods = await self._claim(sts, selector.matches)
        at = now()
        if not is_terminating(sts):
            step = util.plan(sts, pods, current, update, at)
            await self._act(sts, step)
            await self._cleanup_history(
                sts, revisions, {current["metadata"]["name"], update["metadata"]["name"]}, pods
            )
        await self._write_status(sts, util.compute_status(sts, pods, current, update, at))
        min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
        return float(min_ready) if min_ready > 0 else None

    async def _claim(self, sts: Obj, matches: Any) -> list[Obj]:
        """The set's members: owned pods that still match, plus orphans named like members (adopted)."""
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        candidates = [
            p
            for p in self.pod_informer.store.by_index("namespace", ns)
            if util.ordinal_of(name, str(p["metadata"].get("name"))) is not None
        ]
        owned, adopt, release = replicaset_util.classify_pods(sts, candidates, matches)
        owned += await claim_pods(self.client, STATEFULSETS, sts, adopt, release)
        return owned

    async def _act(self, sts: Obj, step: util.Step) -> None:
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        for pod in step.create:
            pod_name = pod["metadata"]["name"]
            await self._create_claims(sts, pod_name)
            try:
                await self.client.create(PODS, pod, ns)
            except StatusError as err:
                if is_already_exists(err):
                    continue  # our cache had not seen it: the member exists, which is all we wanted
                self._pod_event(sts, "create", pod_name, err)
                raise
            self._pod_event(sts, "create", pod_name)
        for pod in step.delete:
            pod_name = pod["metadata"]["name"]
            try:
                await self.client.delete(PODS, pod_name, ns, preconditions={"uid": pod["metadata"]["uid"]})
            except StatusError as err:
                if is_not_found(err) or is_conflict(err):
                    continue  # gone already, or a new member took the name
                self._pod_event(sts, "delete", pod_name, err)
                raise
            self._pod_event(sts, "delete", pod_name)
        for pod in step.relabel:
            ordinal = util.ordinal_of(name, pod["metadata"]["name"]) or 0
            labels = {**(pod["metadata"].get("labels") or {}), **util.identity_labels(sts, ordinal)}
            await patch_pod_metadata(self.client, pod, {"labels": labels})

    def _pod_event(self, sts: Obj, verb: str, pod_name: str, err: StatusError | None = None) -> None:
        """The event of a member created or deleted, or of the attempt that failed (upstream's recordPodEvent)."""
        what = f"{verb} Pod {pod_name} in StatefulSet {sts['metadata']['name']}"
        if err is None:
            reason = SUCCESSFUL_CREATE if verb == "create" else SUCCESSFUL_DELETE
            self.recorder.event(sts, NORMAL, reason, f"{what} successful")
        else:
            reason = FAILED_CREATE if verb == "create" else FAILED_DELETE
            self.recorder.event(sts, WARNING, reason, f"{what} failed error: {err.message}")

    async def _create_claims(self, sts: Obj, pod_name: str) -> None:
        """The member's claims that do not exist yet (an existing one, bound to its data, is kept)."""
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        for claim in util.new_claims(sts, util.ordinal_of(name, pod_name) or 0):
            claim_name = claim["metadata"]["name"]
            try:
                await self.client.create(PVCS, claim, ns)
            except StatusError as err:
                if is_already_exists(err):
                    continue
                self.recorder.event(
                    sts, WARNING, FAILED_CREATE,
                    f"create Claim {claim_name} for Pod {pod_name} in StatefulSet {name} failed error: {err.message}",
                )  # fmt: skip
                raise
            self.recorder.event(
                sts, NORMAL, SUCCESSFUL_CREATE, f"create Claim {claim_name} for Pod {pod_name} in StatefulSet {name} success"
            )  # fmt: skip

    async def _cleanup_history(self, sts: Obj, revisions: list[Obj], live: set[str], pods: list[Obj]) -> None:
        hashes = {util.pod_revision(p) for p in pods}
        live = live | {r["metadata"]["name"] for r in revisions if util.revision_hash(r) in hashes}
        limit = (sts.get("spec") or {}).get("revisionHistoryLimit", 10)
        ordered = sorted(revisions, key=lambda r: int(r.get("revision") or 0))
        for revision in history.to_delete(ordered, live, limit):
            with ignore_not_found():
                await self.client.delete(
                    history.CONTROLLERREVISIONS, revision["metadata"]["name"], sts["metadata"]["namespace"]
                )

    async def _write_status(self, sts: Obj, status: Obj) -> None:
        if (sts.get("status") or {}) == status:
            return
        with ignore_not_found():
            await self.client.update(
                STATEFULSETS, {**sts, "status": status}, sts["metadata"]["namespace"], subresource="status"
            )
