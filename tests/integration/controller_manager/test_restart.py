"""A controller-manager killed (SIGKILL) in the middle of a rollout: the next one finishes it correctly.

Its own module, so that no other manager (the module-wide one of the other test files) is running meanwhile.
"""

from __future__ import annotations

import pytest

from tests.integration.controller_manager.helpers import PodReadier
from tests.integration.controller_manager.test_deployment import (
    REVISION,
    deployment,
    image_patch,
    replica_sets,
    rolling,
    rollout_complete,
)
from tests.polling import eventually
from tests.resources import DEPLOYMENTS, PODS

pytestmark = [pytest.mark.etcd, pytest.mark.slow]


@pytest.mark.timeout(90)
async def test_restart_mid_rollout_finishes(client, namespace, start_manager):
    m = start_manager("--controllers", "replicaset,deployment")
    async with PodReadier(client, namespace, delay=0.5) as readier:
        await client.create(DEPLOYMENTS, deployment("re", 6, strategy=rolling(1, 0)), namespace)
        await eventually(lambda: rollout_complete(client, namespace, "re"), timeout=40, what="first rollout")
        readier.paused = True  # new pods stay unready: the rollout stalls after its first surge pod
        await client.patch(DEPLOYMENTS, "re", image_patch("busybox:2"), namespace, patch_type="strategic")

        async def stalled():
            rss = await replica_sets(client, namespace, "re")
            return len(rss) == 2 and sum(rs["spec"]["replicas"] for rs in rss.values()) == 7

        await eventually(stalled, what="rollout in progress")
        m.kill()  # SIGKILL: no clean shutdown, nothing flushed
        readier.paused = False
        start_manager("--controllers", "replicaset,deployment")
        d = await eventually(
            lambda: rollout_complete(client, namespace, "re"), timeout=60, what="rollout finished"
        )
        rss = await replica_sets(client, namespace, "re")
        sizes = sorted(rs["spec"]["replicas"] for rs in rss.values())
        assert sizes == [0, 6]
        assert d["metadata"]["annotations"][REVISION] == "2"
        pods = [
            p
            for p in (await client.list(PODS, namespace))["items"]
            if not p["metadata"].get("deletionTimestamp")
        ]
        new_rs = next(rs for rs in rss.values() if rs["spec"]["replicas"] == 6)
        assert len(pods) == 6
        assert all(p["metadata"]["ownerReferences"][0]["uid"] == new_rs["metadata"]["uid"] for p in pods)
