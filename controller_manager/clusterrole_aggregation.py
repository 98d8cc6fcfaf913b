"""The clusterrole-aggregation controller: a ClusterRole with an aggregationRule holds the rules of every
ClusterRole its selectors match (admin, edit and view are built this way: a CRD's author labels a role
`rbac.authorization.k8s.io/aggregate-to-view: "true"` and every viewer may read the new kind).

Any ClusterRole change enqueues every aggregating role; reconcile computes the rules from the cache and writes them
when they differ (resourceVersion-guarded, so a concurrent edit is a conflict to retry, never lost).
"""

from __future__ import annotations

import logging

from apimachinery.errors import StatusError, is_not_found
from apimachinery.rbac import aggregated_rules
from apimachinery.resources import must_resource
from controller_manager.base import Context, Controller

log = logging.getLogger(__name__)

CLUSTERROLES = must_resource("rbac.authorization.k8s.io", "clusterroles")


class ClusterRoleAggregationController(Controller):
    name = "clusterrole-aggregation"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.roles = self.watch(CLUSTERROLES, lambda _role: self._enqueue_aggregating())

    def _enqueue_aggregating(self) -> None:
        for role in self.roles.store.list():
            if role.get("aggregationRule"):
                self.enqueue(role["metadata"]["name"])

    async def reconcile(self, key: str) -> float | None:
        role = self.roles.store.get(key)
        if role is None or not role.get("aggregationRule"):
            return None
        rules = aggregated_rules(role, self.roles.store.list())
        if rules == (role.get("rules") or []):
            return None
        try:
            await self.client.update(CLUSTERROLES, {**role, "rules": rules})
            log.info("aggregated rules", extra={"clusterrole": key, "rules": len(rules)})
        except StatusError as err:
            if not is_not_found(err):
                raise
        return None
