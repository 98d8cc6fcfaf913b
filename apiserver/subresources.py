"""Subresources: status, scale, binding, eviction, finalize and log."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from apimachinery import errors
from apiserver import podlogs
from apiserver.objectmeta import now
from apiserver.patch import apply_patch, patch_type
from apiserver.registry import Abort, DeleteOptions, Store
from apiserver.request import Target, check_kind, decode_object, read_body, user_of

if TYPE_CHECKING:
    from apiserver.rest import ResourceAPI

Obj = dict[str, Any]


async def handle(api: ResourceAPI, request: Request, store: Store, t: Target) -> Response:
    assert t.name and t.subresource
    sub = t.subresource
    method = request.method
    if sub == "status" and method in ("GET", "PUT", "PATCH"):
        return await status(api, request, store, t)
    if sub == "scale" and method in ("GET", "PUT", "PATCH"):
        return await scale(api, request, store, t)
    if sub == "binding" and method == "POST":
        return await binding(api, request, store, t)
    if sub == "eviction" and method == "POST":
        return await eviction(api, request, store, t)
    if sub == "finalize" and method == "PUT":
        return await finalize(api, request, store, t)
    if sub == "log" and method == "GET":
        return await podlogs.pod_log(api.server, request, store, t.namespace or "", t.name)
    if sub == "token" and method == "POST":
        from apiserver.auth import reviews

        return await reviews.token_request(api, request, store, t)
    raise errors.method_not_allowed()


async def status(api: ResourceAPI, request: Request, store: Store, t: Target) -> Response:
    assert t.name
    info = store.info
    if request.method == "GET":
        return api.object_response(request, store, await store.get(t.namespace, t.name))
    body = await read_body(request, api.server.options.max_request_bytes)
    if request.method == "PUT":
        obj = decode_object(request, body)
        check_kind(obj, info.kind, info.api_version)

        def transform(current: Obj) -> Obj:
            return obj
    else:
        ptype = patch_type(request.headers.get("content-type"))

        def transform(current: Obj) -> Obj:
            return apply_patch(ptype, current, body, kind=info.kind)

    warnings: list[str] = []
    updated, _ = await store.update(
        t.namespace,
        t.name,
        transform,
        subresource="status",
        dry_run=api.dry_run(request),
        user=user_of(request),
        warnings=warnings,
    )
    return api.object_response(request, store, updated, warnings=warnings)


def scale_of(obj: Obj) -> Obj:
    md = obj["metadata"]
    spec = obj.get("spec") or {}
    st = obj.get("status") or {}
    from apimachinery import labels

    try:
        selector = str(labels.from_label_selector(spec.get("selector")))
    except ValueError:
        selector = ""
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in md
        },
        "spec": {"replicas": int(spec.get("replicas", 0))},
        "status": {"replicas": int(st.get("replicas", 0)), "selector": selector},
    }


async def scale(api: ResourceAPI, request: Request, store: Store, t: Target) -> Response:
    assert t.name
    if request.method == "GET":
        return api.json_ok(scale_of(await store.get(t.namespace, t.name)))
    body = await read_body(request, api.server.options.max_request_bytes)
    if request.method == "PUT":
        wanted = decode_object(request, body)
        check_kind(wanted, "Scale", "autoscaling/v1")
        ptype = None
    else:
        wanted = {}
        ptype = patch_type(request.headers.get("content-type"))

    def transform(current: Obj) -> Obj:
        current_scale = scale_of(current)
        new_scale = wanted if ptype is None else apply_patch(ptype, current_scale, body, kind="Scale")
        replicas = (new_scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise Abort(
                errors.invalid(
                    "Scale",
                    t.name or "",
                    [
                        {
                            "reason": "FieldValueInvalid",
                            "field": "spec.replicas",
                            "message": f"Invalid value: {replicas!r}: must be greater than or equal to 0",
                        }
                    ],
                    "autoscaling",
                )
            )
        rv = (new_scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise Abort(errors.conflict(store.info.resource, t.name or "", store.info.group))
        current.setdefault("spec", {})["replicas"] = replicas
        return current

    updated, _ = await store.update(
        t.namespace, t.name, transform, dry_run=api.dry_run(request), user=user_of(request)
    )
    return api.json_ok(scale_of(updated))


async def binding(api: ResourceAPI, request: Request, store: Store, t: Target) -> Response:
    """Bind a pod to a node, once: a pod that already has a node answers 409, as in Kubernetes."""
    assert t.name
    body = await read_body(request, api.server.options.max_request_bytes)
    obj = decode_object(request, body)
    check_kind(obj, "Binding", "v1")
    node = ((obj.get("target") or {}).get("name")) or ""
    if not node:
        raise errors.invalid(
            "Binding",
            t.name,
            [{"reason": "FieldValueRequired", "field": "target.name", "message": "Required value"}],
        )
    name = t.name

    def bind(current: Obj) -> Obj:
        spec = current.setdefault("spec", {})
        if current["metadata"].get("deletionTimestamp"):
            raise Abort(
                errors.conflict(
                    "pods", name, "", f"pod {name} is being deleted, cannot be assigned to a host"
                )
            )
        if spec.get("nodeName"):
            raise Abort(
                errors.conflict(
                    "pods", name, "", f'pod {name} is already assigned to node "{spec["nodeName"]}"'
                )
            )
        spec["nodeName"] = node
        status = current.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conditions.append(
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now()}
        )
        status["conditions"] = conditions
        return current

    await _update_whole(store, t, bind)
    return api.json_ok(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
    )


async def _update_whole(store: Store, t: Target, fn: Any) -> Obj:
    """A server-side write of spec and status together (binding), past the checks meant for clients."""
    assert t.name
    updated, _ = await store.update(
        t.namespace, t.name, lambda current: fn(copy.deepcopy(current)), subresource="*"
    )
    return updated


async def eviction(api: ResourceAPI, request: Request, store: Store, t: Target) -> Response:
    """policy/v1 Eviction: delete the pod (kubelite has no PodDisruptionBudgets, so every eviction is allowed)."""
    assert t.name
    body = await read_body(request, api.server.options.max_request_bytes)
    obj = decode_object(request, body)
    if obj.get("kind") not in (None, "Eviction"):
        raise errors.bad_request(f"the kind of the provided object ({obj.get('kind')}) must be Eviction")
    opts = DeleteOptions()
    delete_options = obj.get("deleteOptions") or {}
    if delete_options.get("gracePeriodSeconds") is not None:
        opts.grace_period_seconds = int(delete_options["gracePeriodSeconds"])
    user = user_of(request)
    if user is not None:
        attrs = store._attributes("CREATE", user, t.namespace, t.name, obj, None, subresource="eviction")
        if attrs is not None:
            await store.admission.admit(attrs)
            await store.admission.validate(attrs)
    # The pod's deletion is the eviction's effect, not a second client request: it is not admitted again.
    await store.delete(t.namespace, t.name, opts)
    return api.json_ok(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
    )


async def finalize(api: ResourceAPI, request: Request, store: Store, t: Target) -> Response:
    """PUT namespaces/{name}/finalize: replace spec.finalizers; a terminating namespace with none left goes."""
    assert t.name
    body = await read_body(request, api.server.options.max_request_bytes)
    obj = decode_object(request, body)
    check_kind(obj, "Namespace", "v1")
    wanted = (obj.get("spec") or {}).get("finalizers") or []

    def transform(current: Obj) -> Obj:
        current.setdefault("spec", {})["finalizers"] = list(wanted)
        if not wanted:
            current["spec"].pop("finalizers")
        return current

    # Past the main resource's rules, which keep spec.finalizers as they are.
    updated, _ = await store.update(None, t.name, transform, subresource="*")
    return api.object_response(request, store, updated)
