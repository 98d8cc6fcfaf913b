"""Rollout arithmetic for Deployments: pure functions over Deployment and ReplicaSet dicts.

How many pods a rolling update may add (maxSurge) or have unavailable (maxUnavailable), how far the new ReplicaSet
may grow, how far the old ones may shrink, and proportional scaling when the replica count changes mid-rollout.
The numbers follow kubernetes/pkg/controller/deployment/util and rolling.go; the functions return new sizes and
never write anything, so every case is unit-testable.
"""

from __future__ import annotations

import math

from controller_manager.podutil import Obj, parse_time

DEFAULT_SURGE = "25%"
DEFAULT_UNAVAILABLE = "25%"
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"


def scaled_value(value: int | str | None, total: int, *, round_up: bool) -> int:
    """An IntOrString (`3`, `"3"`, `"25%"`) resolved against `total`; percentages round up or down."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.endswith("%"):
        percent = int(text[:-1])
        exact = percent * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def replicas_of(obj: Obj) -> int:
    """spec.replicas, defaulting to 1 as the apiserver does for Deployments and ReplicaSets."""
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def status_int(obj: Obj | None, field: str) -> int:
    return int(((obj or {}).get("status") or {}).get(field) or 0)


def strategy(deployment: Obj) -> Obj:
    return (deployment.get("spec") or {}).get("strategy") or {"type": "RollingUpdate"}


def is_rolling_update(deployment: Obj) -> bool:
    return strategy(deployment).get("type", "RollingUpdate") == "RollingUpdate"


def resolve_fenceposts(
    max_surge: int | str | None, max_unavailable: int | str | None, desired: int
) -> tuple[int, int]:
    """(surge, unavailable): surge rounds up, unavailable rounds down, and both zero means unavailable = 1."""
    surge = scaled_value(max_surge, desired, round_up=True)
    unavailable = scaled_value(max_unavailable, desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling_params(deployment: Obj) -> tuple[int | str, int | str]:
    ru = strategy(deployment).get("rollingUpdate") or {}
    surge = ru.get("maxSurge", DEFAULT_SURGE)
    unavailable = ru.get("maxUnavailable", DEFAULT_UNAVAILABLE)
    return surge, unavailable


def max_surge(deployment: Obj) -> int:
    if not is_rolling_update(deployment):
        return 0
    surge, _ = resolve_fenceposts(*_rolling_params(deployment), replicas_of(deployment))
    return surge


def max_unavailable(deployment: Obj) -> int:
    """maxUnavailable resolved, never more than spec.replicas; 0 for Recreate or zero replicas."""
    replicas = replicas_of(deployment)
    if not is_rolling_update(deployment) or replicas == 0:
        return 0
    _, unavailable = resolve_fenceposts(*_rolling_params(deployment), replicas)
    return min(unavailable, replicas)


def total_spec_replicas(rss: list[Obj]) -> int:
    return sum(replicas_of(rs) for rs in rss if rs)


def total_status(rss: list[Obj], field: str) -> int:
    return sum(status_int(rs, field) for rs in rss if rs)


def new_rs_new_replicas(deployment: Obj, all_rss: list[Obj], new_rs: Obj) -> int:
    """The size the new ReplicaSet may grow to now (Kubernetes' NewRSNewReplicas)."""
    replicas = replicas_of(deployment)
    if not is_rolling_update(deployment):
        return replicas
    current = total_spec_replicas(all_rss)
    max_total = replicas + max_surge(deployment)
    new_size = replicas_of(new_rs)
    if current >= max_total:
        return new_size
    scale_up = min(max_total - current, replicas - new_size)
    return new_size + max(0, scale_up)


def _by_creation(rss: list[Obj]) -> list[Obj]:
    def key(rs: Obj) -> tuple[float, str]:
        t = parse_time((rs.get("metadata") or {}).get("creationTimestamp"))
        return (t.timestamp() if t else 0.0, rs["metadata"]["name"])

    return sorted(rss, key=key)


def available_of(rs: Obj) -> int:
    """Available replicas, never more than spec.replicas: right after a scale-down the status still counts pods
    that are about to go, and trusting it would let a second step remove more than maxUnavailable allows."""
    return min(status_int(rs, "availableReplicas"), replicas_of(rs))


def status_is_current(rs: Obj) -> bool:
    """The ReplicaSet's status describes its latest spec (observedGeneration caught up with generation)."""
    return status_int(rs, "observedGeneration") >= int((rs.get("metadata") or {}).get("generation") or 0)


def plan_old_scale_down(deployment: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> dict[str, int]:
    """New sizes for old ReplicaSets in a rolling update: {name: replicas} for those that shrink.

    First unhealthy old replicas are removed (they do not count as available, so removing them costs nothing),
    then healthy ones as far as availability allows: available pods never drop below replicas - maxUnavailable.
    """
    old = [rs for rs in old_rss if replicas_of(rs) > 0]
    if not old:
        return {}
    sizes = {rs["metadata"]["name"]: replicas_of(rs) for rs in old}
    all_count = sum(sizes.values()) + (replicas_of(new_rs) if new_rs else 0)
    min_available = replicas_of(deployment) - max_unavailable(deployment)
    new_unavailable = (replicas_of(new_rs) - status_int(new_rs, "availableReplicas")) if new_rs else 0
    max_scaled_down = all_count - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}

    # Step 1: clean up unhealthy replicas, oldest ReplicaSet first.
    cleaned = 0
    for rs in _by_creation(old):
        if cleaned >= max_scaled_down:
            break
        name = rs["metadata"]["name"]
        unhealthy = sizes[name] - available_of(rs)
        if unhealthy <= 0:
            continue
        down = min(max_scaled_down - cleaned, unhealthy)
        sizes[name] -= down
        cleaned += down

    # Step 2: scale down healthy replicas while availability stays at or above the minimum.
    available = (available_of(new_rs) if new_rs else 0) + sum(available_of(rs) for rs in old)
    if available > min_available:
        budget = available - min_available
        done = 0
        for rs in _by_creation(old):
            name = rs["metadata"]["name"]
            if done >= budget:
                break
            if sizes[name] == 0:
                continue
            down = min(sizes[name], budget - done)
            sizes[name] -= down
            done += down
    return {name: size for name, size in sizes.items() if size != replicas_of(_find(old, name))}


def _find(rss: list[Obj], name: str) -> Obj:
    return next(rs for rs in rss if rs["metadata"]["name"] == name)


def active(rss: list[Obj]) -> list[Obj]:
    return [rs for rs in rss if rs and replicas_of(rs) > 0]


def annotation_int(rs: Obj, name: str) -> int | None:
    value = ((rs.get("metadata") or {}).get("annotations") or {}).get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def is_scaling_event(deployment: Obj, rss: list[Obj]) -> bool:
    """Did spec.replicas change since the ReplicaSets were last sized (desired-replicas annotation differs)?"""
    replicas = replicas_of(deployment)
    for rs in active(rss):
        desired = annotation_int(rs, DESIRED_REPLICAS_ANNOTATION)
        if desired is not None and desired != replicas:
            return True
    return False


def is_saturated(deployment: Obj, rs: Obj | None) -> bool:
    if rs is None:
        return False
    replicas = replicas_of(deployment)
    return (
        replicas_of(rs) == replicas
        and annotation_int(rs, DESIRED_REPLICAS_ANNOTATION) == replicas
        and status_int(rs, "availableReplicas") == replicas
    )


def _newest_first(rss: list[Obj]) -> list[Obj]:
    return list(reversed(_by_creation(rss)))


def find_active_or_latest(new_rs: Obj | None, old_rss: list[Obj]) -> Obj | None:
    """The one ReplicaSet with replicas (or the newest when none has any); None when several have replicas."""
    if new_rs is None and not old_rss:
        return None
    old_sorted = _newest_first(old_rss)
    live = active([*old_sorted, *([new_rs] if new_rs else [])])
    if not live:
        return new_rs if new_rs is not None else old_sorted[0]
    return live[0] if len(live) == 1 else None


def proportional_sizes(deployment: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> dict[str, int]:
    """Sizes for every ReplicaSet when spec.replicas changes mid-rollout: {name: replicas}.

    One active ReplicaSet takes the whole count; a saturated new ReplicaSet means old ones go to zero; otherwise
    (rolling update) the difference is spread in proportion to each ReplicaSet's size, leftovers to the largest.
    """
    replicas = replicas_of(deployment)
    target = find_active_or_latest(new_rs, old_rss)
    if target is not None:
        return {target["metadata"]["name"]: replicas}
    if is_saturated(deployment, new_rs):
        return {rs["metadata"]["name"]: 0 for rs in active(old_rss)}
    if not is_rolling_update(deployment):
        return {}
    all_rss = active([*old_rss, *([new_rs] if new_rs else [])])
    allowed = replicas + max_surge(deployment) if replicas > 0 else 0
    to_add = allowed - total_spec_replicas(all_rss)
    if to_add > 0:  # largest first, newer first on ties
        ordered = sorted(_newest_first(all_rss), key=lambda rs: -replicas_of(rs))
    else:  # largest first, older first on ties
        ordered = sorted(_by_creation(all_rss), key=lambda rs: -replicas_of(rs))
    sizes: dict[str, int] = {}
    added = 0
    for rs in ordered:
        proportion = _proportion(rs, deployment, to_add, added) if to_add else 0
        sizes[rs["metadata"]["name"]] = replicas_of(rs) + proportion
        added += proportion
    if ordered and to_add:
        first = ordered[0]["metadata"]["name"]
        sizes[first] = max(0, sizes[first] + to_add - added)
    return sizes


def _proportion(rs: Obj, deployment: Obj, to_add: int, added: int) -> int:
    if replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    replicas = replicas_of(deployment)
    if replicas == 0:
        fraction = -replicas_of(rs)
    else:
        deployment_max = replicas + max_surge(deployment)
        annotated = annotation_int(rs, MAX_REPLICAS_ANNOTATION) or status_int(deployment, "replicas")
        if not annotated:
            return 0
        # Go's integer.RoundToInt32 rounds half away from zero.
        exact = replicas_of(rs) * deployment_max / annotated
        fraction = int(math.floor(exact + 0.5) if exact >= 0 else -math.floor(-exact + 0.5)) - replicas_of(rs)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def replicas_annotations(deployment: Obj) -> dict[str, str]:
    """The desired-replicas / max-replicas annotations a ReplicaSet carries after each sizing."""
    replicas = replicas_of(deployment)
    return {
        DESIRED_REPLICAS_ANNOTATION: str(replicas),
        MAX_REPLICAS_ANNOTATION: str(replicas + max_surge(deployment)),
    }
