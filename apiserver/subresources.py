"""Subresources: status, scale, binding, eviction, finalize and log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from apimachinery import errors
from apimachinery.validation import check_int, invalid, is_qualified_name, required
from apimachinery.validation.nodes import validate_binding
from apiserver import fieldcheck, podlogs, writeopts
from apiserver.crd.info import CustomResourceInfo, ScalePaths
from apiserver.objectmeta import now
from apiserver.patch import APPLY, apply_patch, patch_type
from apiserver.registry import Store
from apiserver.registry_types import Abort, DeleteOptions
from apiserver.registry_writes import replacing
from apiserver.request import Target, check_kind, decode_object, read_body, read_delete_options, user_of

if TYPE_CHECKING:
    from apiserver.rest import ResourceAPI

Obj = dict[str, Any]


async def handle(api: ResourceAPI, request: Request, store: Store, t: Target) -> Response:
    assert t.name and t.subresource
    sub = t.subresource
    method = request.method
    if sub in ("status", "approval") and method in ("GET", "PUT", "PATCH"):
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
    if sub in ("exec", "attach", "portforward") and method in ("GET", "POST"):
        from apiserver import podstream

        await podstream.plan(api.server, t.namespace or "", t.name, sub, request.query_params)
        raise podstream.not_upgraded(request.headers)
    if sub == "token" and method == "POST":
        from apiserver.auth import reviews

        return await reviews.token_request(api, request, store, t)
    raise errors.method_not_allowed()


async def status(api: ResourceAPI, request: Request, store: Store, t: Target) -> Response:
    """GET, PUT and PATCH of /status (and of a CSR's /approval, which writes status.conditions only)."""
    assert t.name and t.subresource
    info = store.info
    sub = t.subresource
    if request.method == "GET":
        return api.object_response(request, store, await store.get(t.namespace, t.name))
    schema = api.server.schema_of(info)
    if request.method == "PUT":
        manager = writeopts.field_manager(request, "UpdateOptions")
        how = fieldcheck.directive(request.query_params.get("fieldValidation"), "UpdateOptions")
        obj = decode_object(request, await read_body(request, api.server.options))
        check_kind(obj, info.kind, info.api_version)
        fieldcheck.enforce(obj, schema, how)
        transform = replacing(obj)
    else:
        patch = await writeopts.read_patch(request, info, api.server.options)
        manager = patch.manager
        if patch.type == APPLY:
            return await api.server_side_apply(
                request, store, t, patch.body, manager, force=patch.force, subresource=sub
            )

        def transform(current: Obj) -> Obj:
            patched = apply_patch(patch.type, current, patch.body, kind=info.kind, owned=True)
            fieldcheck.enforce(patched, schema, patch.validation)
            return patched

    updated, _ = await store.update(
        t.namespace,
        t.name,
        transform,
        subresource=sub,
        dry_run=api.dry_run(request),
        manager=manager,
        user=user_of(request),
    )
    return api.object_response(request, store, updated)


def scale_of(obj: Obj, paths: ScalePaths | None = None) -> Obj:
    """The autoscaling/v1 Scale of an object: of a Deployment or ReplicaSet, or of a custom resource whose CRD
    says where its replicas and selector are (`paths`)."""
    md = obj["metadata"]
    if paths is not None:
        replicas = _at(obj, paths.spec_replicas)
        status_replicas = _at(obj, paths.status_replicas)
        selector_value = _at(obj, paths.label_selector) if paths.label_selector else ""
        selector = selector_value if isinstance(selector_value, str) else ""
    else:
        spec = obj.get("spec") or {}
        replicas = spec.get("replicas", 0)
        status_replicas = (obj.get("status") or {}).get("replicas", 0)
        from apimachinery import labels

        raw = spec.get("selector")
        try:
            if obj.get("kind") == "ReplicationController" and isinstance(raw, dict):
                selector = str(labels.selector_from_set(raw))  # v1 RCs select with a plain map
            else:
                selector = str(labels.from_label_selector(raw))
        except ValueError:
            selector = ""
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in md
        },
        "spec": {"replicas": _int(replicas)},
        "status": {"replicas": _int(status_replicas), "selector": selector},
    }


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _at(obj: Obj, path: str) -> Any:
    """The value at a simple JSONPath (`.spec.replicas`), or None."""
    value: Any = obj
    for part in path.strip(".").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _set_at(obj: Obj, path: str, value: Any) -> None:
    *parents, last = path.strip(".").split(".")
    for part in parents:
        obj = obj.setdefault(part, {})
    obj[last] = value


async def scale(api: ResourceAPI, request: Request, store: Store, t: Target) -> Response:
    assert t.name
    paths = store.info.scale if isinstance(store.info, CustomResourceInfo) else None
    if request.method == "GET":
        return api.json_ok(scale_of(await store.get(t.namespace, t.name), paths))
    if request.method == "PUT":
        manager = writeopts.field_manager(request, "UpdateOptions")
        body = await read_body(request, api.server.options)
        wanted = decode_object(request, body)
        check_kind(wanted, "Scale", "autoscaling/v1")
        ptype = None
    else:
        wanted = {}
        ptype = patch_type(request.headers.get("content-type"))
        manager = writeopts.field_manager(request, "PatchOptions", required=ptype == APPLY)
        writeopts.force(request, apply=ptype == APPLY)
        body = await read_body(request, api.server.options)

    def transform(current: Obj) -> Obj:
        current_scale = scale_of(current, paths)
        new_scale = wanted if ptype is None else apply_patch(ptype, current_scale, body, kind="Scale")
        spec = new_scale.get("spec")
        replicas = spec.get("replicas") if isinstance(spec, dict) else None
        causes: list[dict[str, str]] = []
        if replicas is None:
            causes.append(required("spec.replicas", ""))
        else:
            check_int(replicas, "spec.replicas", causes)
        if causes:
            raise Abort(errors.invalid("Scale", t.name or "", causes, "autoscaling"))
        rv = (new_scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise Abort(errors.conflict(store.info.resource, t.name or "", store.info.group))
        _set_at(current, paths.spec_replicas if paths else ".spec.replicas", replicas)
        return current

    # Recorded on the object as an Update through the scale subresource (the managed fields' scale handler).
    updated, _ = await store.update(
        t.namespace,
        t.name,
        transform,
        subresource="scale",
        dry_run=api.dry_run(request),
        manager=manager,
        user=user_of(request),
    )
    return api.json_ok(scale_of(updated, paths))


async def binding(api: ResourceAPI, request: Request, store: Store, t: Target) -> Response:
    """Bind a pod to a node, once: a pod that already has a node answers 409, as in Kubernetes."""
    assert t.name
    body = await read_body(request, api.server.options)
    obj = decode_object(request, body)
    check_kind(obj, "Binding", "v1")
    causes: list[dict[str, str]] = []
    validate_binding(obj, causes)
    if causes:
        raise errors.invalid("Binding", t.name, causes)
    node = str(obj["target"]["name"])
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
    """A server-side write of spec and status together (binding), past the checks meant for clients. `fn` may
    change the object it is given: store.update hands it a copy of its own."""
    assert t.name
    updated, _ = await store.update(t.namespace, t.name, fn, subresource="*")
    return updated


async def eviction(api: ResourceAPI, request: Request, store: Store, t: Target) -> Response:
    """policy/v1 Eviction: delete the pod (kubelite has no PodDisruptionBudgets, so every eviction is allowed)."""
    assert t.name
    body = await read_body(request, api.server.options)
    obj = decode_object(request, body)
    if obj.get("kind") not in (None, "Eviction"):
        raise errors.bad_request(f"the kind of the provided object ({obj.get('kind')}) must be Eviction")
    opts = DeleteOptions()
    delete_options = obj.get("deleteOptions") or {}
    if not isinstance(delete_options, dict):
        raise errors.bad_request("Eviction: deleteOptions must be an object")
    read_delete_options(delete_options, opts)
    attrs = store._attributes(
        "CREATE", user_of(request), t.namespace, t.name, obj, None, subresource="eviction"
    )
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
    body = await read_body(request, api.server.options)
    obj = decode_object(request, body)
    check_kind(obj, "Namespace", "v1")
    wanted = (obj.get("spec") or {}).get("finalizers") or []
    if not isinstance(wanted, list) or not all(isinstance(f, str) for f in wanted):
        raise errors.bad_request("spec.finalizers must be a list of strings")
    causes = [
        invalid(f"spec.finalizers[{i}]", f, m) for i, f in enumerate(wanted) for m in is_qualified_name(f)
    ]
    if causes:
        raise errors.invalid("Namespace", t.name, causes)

    def transform(current: Obj) -> Obj:
        current.setdefault("spec", {})["finalizers"] = list(wanted)
        if not wanted:
            current["spec"].pop("finalizers")
        return current

    # Past the main resource's rules, which keep spec.finalizers as they are.
    updated, _ = await store.update(None, t.name, transform, subresource="*")
    return api.object_response(request, store, updated)
