"""The three changes the dashboard can make: scale, rollout restart, delete.

They exist only when the dashboard was started with `--allow-writes`, and a button is shown only when the
user may do it (a SelfSubjectAccessReview per namespace and resource); the apiserver still decides on the
request itself. Each is asked for on a confirmation page and carried out by a POST that carries the
dashboard's CSRF token.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from apimachinery.client import Client
from apimachinery.resources import ResourceInfo, by_resource
from apimachinery.timefmt import now_rfc3339
from dashboard import cluster, views
from dashboard.cluster import BadRequest

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"  # the annotation `kubectl rollout restart` sets
SCALABLE = frozenset({"deployments", "replicasets", "statefulsets"})
RESTARTABLE = frozenset({"deployments", "daemonsets", "statefulsets"})
DELETABLE = frozenset(
    {"pods", "services", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs"}
)
ACTIONS = {"scale": SCALABLE, "restart": RESTARTABLE, "delete": DELETABLE}
MAX_REPLICAS = 10_000
ANSWER_TTL = 30.0


@dataclass(frozen=True)
class Action:
    verb: str  # scale / restart / delete
    res: ResourceInfo
    namespace: str
    name: str


def parse_action(verb: str, group: str, resource: str, namespace: str, name: str) -> Action:
    """An `Action` from a form's fields; `BadRequest` for anything the dashboard does not offer."""
    res = by_resource(group, resource)
    if verb not in ACTIONS or res is None or resource not in ACTIONS[verb]:
        raise BadRequest("no such action")
    if not cluster.DNS_LABEL.fullmatch(namespace) or not cluster.OBJECT_NAME.fullmatch(name):
        raise BadRequest("invalid name or namespace")
    return Action(verb, res, namespace, name)


def api_verb(verb: str) -> str:
    return "delete" if verb == "delete" else "patch"


class Writes:
    """Which write buttons this user gets; none at all unless the dashboard was started with --allow-writes."""

    def __init__(self, *, enabled: bool, ttl: float = ANSWER_TTL) -> None:
        self.enabled = enabled
        self.ttl = ttl
        self._answers: dict[tuple[str, str, str, str], tuple[float, bool]] = {}

    async def allowed(self, client: Client, verb: str, res: ResourceInfo, namespace: str) -> bool:
        """The apiserver's answer, remembered for `ttl` seconds: a live page re-renders often, and the
        buttons may lag a role change by that long (the apiserver decides on the request itself anyway)."""
        if not self.enabled:
            return False
        key = (verb, res.group, res.resource, namespace)
        now = time.monotonic()
        cached = self._answers.get(key)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        answer = await cluster.allowed(client, verb, res, namespace)
        self._answers[key] = (now, answer)
        return answer

    async def _table(self, client: Client, keys: set[tuple[str, str, str]]) -> dict[str, bool]:
        """ "verb resource namespace" -> allowed, for (group, resource, namespace) keys; asked once each."""
        if not self.enabled:
            return {}
        questions = [
            (verb, res, ns)
            for group, resource, ns in sorted(keys)
            if (res := by_resource(group, resource)) is not None
            for verb in ("patch", "delete")
        ]
        answers = await asyncio.gather(*(self.allowed(client, v, r, ns) for v, r, ns in questions))
        return {f"{v} {r.resource} {ns}": ok for (v, r, ns), ok in zip(questions, answers, strict=True)}

    async def for_workloads(
        self, client: Client, workloads: list[Any], standalone: list[Any]
    ) -> dict[str, bool]:
        keys = {(_group(w.api_version), w.resource, w.namespace) for w in workloads}
        keys |= {("", "pods", p.namespace) for p in [*standalone, *(p for w in workloads for p in w.pods)]}
        return await self._table(client, keys)

    async def for_services(self, client: Client, services: list[dict[str, Any]]) -> dict[str, bool]:
        return await self._table(client, {("", "services", views.namespace_of(s)) for s in services})


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


async def perform(client: Client, action: Action, replicas: int | None = None) -> None:
    """Carry out a confirmed action as the user (a StatusError from the apiserver propagates)."""
    if action.verb == "scale":
        if replicas is None or not 0 <= replicas <= MAX_REPLICAS:
            raise BadRequest(f"replicas must be a number from 0 to {MAX_REPLICAS}")
        await client.patch(action.res, action.name, {"spec": {"replicas": replicas}}, action.namespace)
    elif action.verb == "restart":
        now = now_rfc3339()
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
        await client.patch(action.res, action.name, body, action.namespace, "strategic")
    else:
        await client.delete(action.res, action.name, action.namespace, propagation_policy="Background")
