"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules.

* Acquire when the Lease is absent, released (holderIdentity ""), or expired (renewTime + leaseDurationSeconds
  is in the past). Taking over from another holder increments `leaseTransitions`.
* The leader renews every `retry_period`. If it cannot renew for `renew_deadline` (or sees another holder), it
  has lost leadership: `on_started_leading`'s task is cancelled and `run` returns.
* Writes carry the Lease's resourceVersion, so two candidates racing for the same Lease cannot both win: the
  loser gets 409 and tries again later.
* When `run` is cancelled while leading, the Lease is released (holderIdentity "" like client-go's
  ReleaseOnCancel), so a standby takes over within one retry period instead of one lease duration.

Keep renew_deadline < lease_duration: a leader that cannot renew must stop before others may start.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_already_exists, is_conflict, is_not_found
from apimachinery.resources import ResourceInfo, must_resource
from apimachinery.timefmt import format_time, parse_time_or_none

log = logging.getLogger(__name__)

LEASES: ResourceInfo = must_resource("coordination.k8s.io", "leases")


def micro_time(t: datetime) -> str:
    """RFC3339 with microseconds (Kubernetes MicroTime)."""
    return format_time(t, micro=True)


def lease_expired(spec: dict[str, Any], now: datetime) -> bool:
    renew = parse_time_or_none(spec.get("renewTime")) or parse_time_or_none(spec.get("acquireTime"))
    if renew is None:
        return True
    return renew + timedelta(seconds=float(spec.get("leaseDurationSeconds") or 0)) < now


class LeadershipLost(Exception):
    """Another candidate holds the Lease."""


class LeaderElector:
    def __init__(
        self,
        client: Client,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: float = 15,
        renew_deadline: float = 10,
        retry_period: float = 2,
        *,
        release_on_cancel: bool = True,
    ) -> None:
        if not 0 < retry_period < renew_deadline < lease_duration:
            raise ValueError("need 0 < retry_period < renew_deadline < lease_duration")
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_on_cancel = release_on_cancel
        self.is_leader = False
        self._lease: dict[str, Any] | None = None  # the last Lease we wrote

    # -- one attempt ---------------------------------------------------------------------------------------

    def _spec(self, now: datetime, old: dict[str, Any] | None) -> dict[str, Any]:
        old = old or {}
        ours = old.get("holderIdentity") == self.identity
        return {
            **old,
            "holderIdentity": self.identity,
            # leaseDurationSeconds is an integer on the wire; round short test durations up.
            "leaseDurationSeconds": max(1, int(-(-self.lease_duration // 1))),
            "acquireTime": old.get("acquireTime") if ours and old.get("acquireTime") else micro_time(now),
            "renewTime": micro_time(now),
            "leaseTransitions": int(old.get("leaseTransitions") or 0) + (0 if ours or not old else 1),
        }

    async def try_acquire_or_renew(self) -> bool:
        """One attempt. True if we hold the Lease now; False if someone else does or we lost a race.

        Raises `LeadershipLost` when another live holder is seen (so a leader stops at once).
        """
        now = datetime.now(UTC)
        try:
            lease = await self.client.get(LEASES, self.name, self.namespace)
        except StatusError as err:
            if not is_not_found(err):
                raise
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": self._spec(now, None),
            }
            try:
                self._lease = await self.client.create(LEASES, body, self.namespace)
            except StatusError as err2:
                if is_already_exists(err2):
                    return False  # somebody created it first
                raise
            return True
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        if holder and holder != self.identity and not lease_expired(spec, now):
            if self.is_leader:
                raise LeadershipLost(f"lease {self.namespace}/{self.name} is held by {holder}")
            return False
        lease["spec"] = self._spec(now, spec)
        try:
            self._lease = await self.client.update(LEASES, lease, self.namespace)
        except StatusError as err:
            if is_conflict(err):
                return False  # a concurrent writer won this round; look again next period
            raise
        return True

    async def _attempt(self, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                return await self.try_acquire_or_renew()
        except LeadershipLost:
            raise
        except (TimeoutError, StatusError, ConnectionError) as exc:
            # Transient: the apiserver is slow, down or refused; the deadlines decide what it means.
            log.info("lease attempt failed", extra={"lease": self.name, "error": repr(exc)})
            return False

    def _jittered(self) -> float:
        return self.retry_period * (1 + 0.2 * random.random())

    # -- the loop ------------------------------------------------------------------------------------------

    async def _acquire(self) -> None:
        while not await self._attempt(self.renew_deadline):
            await asyncio.sleep(self._jittered())
        self.is_leader = True
        log.info("became leader", extra={"lease": self.name, "identity": self.identity})

    async def _renew_until_lost(self, work: asyncio.Task[Any]) -> None:
        """Return when renewal failed for renew_deadline, another holder appeared, or `work` ended."""
        loop = asyncio.get_running_loop()
        while True:
            sleeper = asyncio.create_task(asyncio.sleep(self.retry_period))
            try:
                await asyncio.wait({sleeper, work}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
            if work.done():
                return
            deadline = loop.time() + self.renew_deadline
            try:
                while not await self._attempt(max(0.05, deadline - loop.time())):
                    if loop.time() >= deadline:
                        log.warning("failed to renew lease in time", extra={"lease": self.name})
                        return
                    await asyncio.sleep(min(self.retry_period, max(0.0, deadline - loop.time())))
            except LeadershipLost as exc:
                log.warning("leadership lost", extra={"lease": self.name, "error": str(exc)})
                return

    async def release(self) -> None:
        """Give the Lease up if we still hold it (holderIdentity "")."""
        try:
            async with asyncio.timeout(max(1.0, self.retry_period)):
                lease = await self.client.get(LEASES, self.name, self.namespace)
                spec = lease.get("spec") or {}
                if spec.get("holderIdentity") != self.identity:
                    return
                now = micro_time(datetime.now(UTC))
                lease["spec"] = {**spec, "holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": now}
                await self.client.update(LEASES, lease, self.namespace)
                log.info("released lease", extra={"lease": self.name, "identity": self.identity})
        except (TimeoutError, StatusError, ConnectionError) as exc:
            # Best effort: the lease then simply expires after leaseDurationSeconds.
            log.warning("could not release lease", extra={"lease": self.name, "error": repr(exc)})

    async def run(
        self,
        on_started_leading: Callable[[], Coroutine[Any, Any, Any]],
        on_stopped_leading: Callable[[], Any] | None = None,
    ) -> None:
        """Wait to become leader, run `on_started_leading()` as a task while leading, return once not leading.

        If `on_started_leading` raises, leadership is given up and the error re-raised. `on_stopped_leading`
        (sync or async) is called whenever leadership ends, including on cancellation.
        """
        await self._acquire()
        work = asyncio.create_task(on_started_leading(), name=f"leader-{self.name}")
        cancelled = False
        try:
            await self._renew_until_lost(work)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            lost = not work.done()
            work.cancel()
            try:
                await asyncio.wait({work})
            finally:
                self.is_leader = False
                if self.release_on_cancel and (cancelled or not lost):
                    await self.release()
                if on_stopped_leading is not None:
                    result = on_stopped_leading()
                    if inspect.isawaitable(result):
                        await result
        if not work.cancelled() and work.exception() is not None:
            raise work.exception()  # type: ignore[misc]
