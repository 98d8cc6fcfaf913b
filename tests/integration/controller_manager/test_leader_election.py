"""Two controller-managers: one leads and works, the other waits; when the leader goes, the other takes over."""

from __future__ import annotations

import pytest

from tests.integration.controller_manager.helpers import FAST_LEASE, LivePodCounter, replicaset
from tests.polling import eventually
from tests.resources import LEASES, REPLICASETS

pytestmark = [pytest.mark.etcd, pytest.mark.slow]


@pytest.mark.timeout(60)
async def test_two_managers_one_leader(client, namespace, start_manager):
    args = ("--leader-elect", *FAST_LEASE, "--controllers", "replicaset")
    a = start_manager(*args)
    b = start_manager(*args)

    def leaders():
        return [m for m in (a, b) if "became leader" in m.logs()]

    (leader,) = await eventually(lambda: leaders() or None, what="a leader")
    standby = b if leader is a else a
    lease = await client.get(LEASES, "kube-controller-manager", "kube-system")
    assert lease["spec"]["holderIdentity"]

    async with LivePodCounter(client, namespace) as counter:
        await client.create(REPLICASETS, replicaset("le", 5), namespace)
        await eventually(lambda: len(counter.live) == 5, what="5 pods")
        assert "caches synced" not in standby.logs()  # the standby runs no controllers

        holder = lease["spec"]["holderIdentity"]
        leader.stop()  # SIGTERM: it releases the Lease on the way out
        await eventually(lambda: "became leader" in standby.logs(), timeout=15, what="standby takes over")
        lease = await client.get(LEASES, "kube-controller-manager", "kube-system")
        assert lease["spec"]["holderIdentity"] != holder

        await client.patch(REPLICASETS, "le", {"spec": {"replicas": 7}}, namespace)
        await eventually(lambda: len(counter.live) == 7, what="7 pods after takeover")
        assert counter.max == 7
