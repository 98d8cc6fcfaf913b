"""The HTTP handlers of the resource API: one function per verb, dispatched from the request path.

Each handler reads the request (apiserver.request), calls the generic store (apiserver.registry) and writes the
answer in the form the client asked for: the object, a List, a Table (kubectl's human output) or a watch stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from apimachinery import errors, serialization
from apimachinery.errors import StatusError
from apiserver import metrics, printers, subresources
from apiserver.patch import APPLY, apply_patch, parse_apply, patch_type
from apiserver.registry import DeleteOptions, ListOptions, Store
from apiserver.request import (
    Target,
    check_kind,
    check_namespace,
    decode_object,
    flag,
    int_param,
    parse_path,
    read_body,
    user_of,
    wants_table,
)
from apiserver.server import APIServer
from apiserver.watchcache import frame

log = logging.getLogger("apiserver.rest")

Obj = dict[str, Any]

_VERB_BY_METHOD = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def encode(obj: Any) -> bytes:
    return serialization.dumps(obj)


def json_response(obj: Any, status: int = 200, warnings: list[str] | None = None) -> Response:
    headers = warning_headers(warnings)
    response = Response(encode(obj), status_code=status, media_type="application/json")
    for value in headers:
        response.headers.append("Warning", value)
    return response


def warning_headers(warnings: list[str] | None) -> list[str]:
    """`Warning: 299 - "text"` values (RFC 7234 warn-code 299, as kube-apiserver sends admission warnings)."""
    out = []
    for text in dict.fromkeys(warnings or []):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        out.append(f'299 - "{escaped}"')
    return out


def status_response(err: StatusError) -> Response:
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after else None
    return Response(
        encode(err.status()), status_code=err.code, media_type="application/json", headers=headers
    )


def success_status(info_kind: str, name: str, group: str, uid: str | None) -> Obj:
    details: Obj = {"name": name, "kind": info_kind}
    if group:
        details["group"] = group
    if uid:
        details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


class ResourceAPI:
    def __init__(self, server: APIServer) -> None:
        self.server = server

    async def handle(self, request: Request, group: str, version: str, rest: str) -> Response:
        start = time.perf_counter()
        verb = _VERB_BY_METHOD.get(request.method, request.method.lower())
        resource = "unknown"
        code = 500
        try:
            target = parse_path(group, version, rest.strip("/").split("/"))
            resource = target.info.resource + (f"/{target.subresource}" if target.subresource else "")
            if request.method == "GET" and not target.name:
                verb = "watch" if flag(request.query_params.get("watch")) or target.watch_path else "list"
            elif request.method == "DELETE" and not target.name:
                verb = "deletecollection"
            response = await self._dispatch(request, target, verb)
            code = response.status_code
            return response
        except StatusError as err:
            code = err.code
            return status_response(err)
        except Exception:
            log.exception("request failed", extra={"method": request.method, "path": request.url.path})
            code = 500
            return status_response(errors.internal())
        finally:
            metrics.requests_total.labels(verb, resource, str(code)).inc()
            if verb != "watch":
                metrics.request_duration.labels(verb, resource).observe(time.perf_counter() - start)

    async def _dispatch(self, request: Request, t: Target, verb: str) -> Response:
        if t.info.namespaced and t.name and not t.namespace:
            raise errors.path_not_found()
        if not t.info.stored:
            from apiserver.auth import reviews

            return await reviews.handle(self, request, t)
        store = self.server.store(t.info)
        if t.subresource:
            return await subresources.handle(self, request, store, t)
        if verb == "watch":
            return await self.watch(request, store, t)
        if verb == "list":
            return await self.list(request, store, t)
        if verb == "deletecollection":
            return await self.delete_collection(request, store, t)
        if request.method == "POST":
            if t.name:
                raise errors.method_not_allowed()
            return await self.create(request, store, t)
        if not t.name:
            raise errors.method_not_allowed()
        if request.method == "GET":
            return self.object_response(request, store, await store.get(t.namespace, t.name))
        if request.method == "PUT":
            return await self.update(request, store, t)
        if request.method == "PATCH":
            return await self.patch(request, store, t)
        if request.method == "DELETE":
            return await self.delete(request, store, t)
        raise errors.method_not_allowed()

    # ---- responses --------------------------------------------------------------------------------------------

    def json_ok(self, obj: Any, status: int = 200) -> Response:
        return json_response(obj, status)

    def object_response(
        self, request: Request, store: Store, obj: Obj, status: int = 200, warnings: list[str] | None = None
    ) -> Response:
        if wants_table(request):
            return json_response(
                self.table(
                    request, store, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
                ),
                status,
                warnings,
            )
        return json_response(obj, status, warnings)

    def table(self, request: Request, store: Store, objs: list[Obj], list_meta: Obj) -> Obj:
        include = request.query_params.get("includeObject") or "Metadata"
        return printers.to_table(store.info.resource, objs, include_object=include, list_meta=list_meta)

    # ---- reads -------------------------------------------------------------------------------------------------

    def list_options(self, request: Request) -> ListOptions:
        q = request.query_params
        return ListOptions(
            label_selector=q.get("labelSelector", ""),
            field_selector=q.get("fieldSelector", ""),
            limit=int_param(request, "limit") or 0,
            continue_token=q.get("continue") or None,
            resource_version=q.get("resourceVersion"),
            resource_version_match=q.get("resourceVersionMatch") or None,
        )

    async def list(self, request: Request, store: Store, t: Target) -> Response:
        opts = self.list_options(request)
        items, rv, token, remaining = await store.list(t.namespace, opts)
        list_meta: Obj = {"resourceVersion": rv}
        if token:
            list_meta["continue"] = token
            if remaining is not None:
                list_meta["remainingItemCount"] = remaining
        if wants_table(request):
            return json_response(self.table(request, store, items, list_meta))
        body = {
            "kind": store.info.list_kind_name,
            "apiVersion": store.info.api_version,
            "metadata": list_meta,
            "items": items,
        }
        return json_response(body)

    async def watch(self, request: Request, store: Store, t: Target) -> Response:
        opts = self.list_options(request)
        timeout = int_param(request, "timeoutSeconds")
        bookmarks = flag(request.query_params.get("allowWatchBookmarks"))
        events = store.watch(
            t.namespace, opts, timeout=float(timeout) if timeout else None, bookmarks=bookmarks
        )
        table = wants_table(request)
        info = store.info

        async def stream() -> AsyncIterator[bytes]:
            metrics.watchers.labels(info.resource).inc()
            sent = metrics.watch_events.labels(info.resource)
            try:
                while True:
                    try:
                        etype, obj, cached = await anext(events)
                    except StopAsyncIteration:
                        return
                    except StatusError as err:
                        # Kubernetes answers 200 and reports watch errors (410 Expired) as an ERROR frame.
                        yield frame("ERROR", err.status())
                        return
                    sent.inc()
                    if etype == "BOOKMARK":
                        bookmark = {
                            "kind": info.kind,
                            "apiVersion": info.api_version,
                            "metadata": obj["metadata"],
                        }
                        yield frame("BOOKMARK", bookmark)
                    elif table:
                        yield frame(
                            etype,
                            self.table(
                                request,
                                store,
                                [obj],
                                {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                            ),
                        )
                    elif cached is not None:
                        yield cached.encoded()
                    else:
                        yield frame(etype, obj)
            finally:
                metrics.watchers.labels(info.resource).dec()
                await events.aclose()

        return StreamingResponse(stream(), media_type="application/json")

    # ---- writes ------------------------------------------------------------------------------------------------

    async def read_object(self, request: Request, t: Target, kind: str, api_version: str) -> Obj:
        body = await read_body(request, self.server.options.max_request_bytes)
        obj = decode_object(request, body)
        check_kind(obj, kind, api_version)
        check_namespace(obj, t.namespace)
        return obj

    def dry_run(self, request: Request) -> bool:
        values = request.query_params.getlist("dryRun")
        for v in values:
            if v != "All":
                raise errors.bad_request(f'unsupported dry run value "{v}": only "All" is supported')
        return bool(values)

    async def create(self, request: Request, store: Store, t: Target) -> Response:
        info = store.info
        if info.namespaced and not t.namespace:
            raise errors.method_not_allowed(
                "the server does not allow this method on the requested resource: "
                "create needs a namespace in the path"
            )
        obj = await self.read_object(request, t, info.kind, info.api_version)
        self.strict_fields(request, obj)
        if info.namespaced and t.namespace:
            await self.server.check_namespace(t.namespace)
        md = obj.get("metadata") or {}
        if not md.get("name") and not md.get("generateName"):
            raise errors.invalid(
                info.kind,
                "",
                [
                    {
                        "reason": "FieldValueRequired",
                        "field": "metadata.name",
                        "message": "Required value: name or generateName is required",
                    }
                ],
                info.group,
            )
        warnings: list[str] = []
        created = await store.create(
            t.namespace, obj, dry_run=self.dry_run(request), user=user_of(request), warnings=warnings
        )
        return self.object_response(request, store, created, 201, warnings)

    async def update(self, request: Request, store: Store, t: Target) -> Response:
        info = store.info
        obj = await self.read_object(request, t, info.kind, info.api_version)
        self.strict_fields(request, obj)
        assert t.name
        body_name = (obj.get("metadata") or {}).get("name")
        if body_name and body_name != t.name:
            raise errors.bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({t.name})"
            )
        warnings: list[str] = []
        updated, created = await store.update(
            t.namespace,
            t.name,
            lambda _current: obj,
            dry_run=self.dry_run(request),
            create_if_missing=None,
            user=user_of(request),
            warnings=warnings,
        )
        return self.object_response(request, store, updated, 201 if created else 200, warnings)

    async def patch(self, request: Request, store: Store, t: Target) -> Response:
        info = store.info
        assert t.name
        name = t.name
        ptype = patch_type(request.headers.get("content-type"))
        body = await read_body(request, self.server.options.max_request_bytes)
        manager = request.query_params.get("fieldManager")
        if ptype == APPLY and not manager:
            raise errors.invalid(
                info.kind,
                name,
                [
                    {
                        "reason": "FieldValueRequired",
                        "field": "fieldManager",
                        "message": "Required value: is required for apply patch",
                    }
                ],
                info.group,
            )
        dry_run = self.dry_run(request)

        def transform(current: Obj) -> Obj:
            patched = apply_patch(ptype, current, body, kind=info.kind)
            check_kind(patched, info.kind, info.api_version)
            return patched

        create_if_missing = None
        if ptype == APPLY:

            def create_if_missing() -> Obj:
                config = parse_apply(body)
                check_kind(config, info.kind, info.api_version)
                check_namespace(config, t.namespace)
                config.setdefault("metadata", {})["name"] = name
                return config

            if info.namespaced and t.namespace:
                await self.server.check_namespace(t.namespace)
        warnings: list[str] = []
        updated, created = await store.update(
            t.namespace,
            name,
            transform,
            dry_run=dry_run,
            create_if_missing=create_if_missing,
            user=user_of(request),
            warnings=warnings,
        )
        return self.object_response(request, store, updated, 201 if created else 200, warnings)

    async def delete_options(self, request: Request) -> DeleteOptions:
        q = request.query_params
        opts = DeleteOptions(
            propagation_policy=q.get("propagationPolicy"),
            grace_period_seconds=int_param(request, "gracePeriodSeconds"),
            dry_run=self.dry_run(request),
        )
        body = await read_body(request, self.server.options.max_request_bytes)
        if body.strip():
            data = decode_object(request, body)
            opts.propagation_policy = data.get("propagationPolicy") or opts.propagation_policy
            if data.get("orphanDependents") is True:
                opts.propagation_policy = "Orphan"
            if data.get("gracePeriodSeconds") is not None:
                opts.grace_period_seconds = int(data["gracePeriodSeconds"])
            pre = data.get("preconditions") or {}
            opts.precondition_uid = pre.get("uid")
            opts.precondition_rv = pre.get("resourceVersion")
            if data.get("dryRun"):
                opts.dry_run = True
        if opts.propagation_policy not in (None, "Background", "Foreground", "Orphan"):
            raise errors.bad_request(
                f"invalid propagationPolicy {opts.propagation_policy!r}: "
                "must be one of Background, Foreground, Orphan"
            )
        return opts

    async def delete(self, request: Request, store: Store, t: Target) -> Response:
        assert t.name
        opts = await self.delete_options(request)
        obj, gone = await store.delete(t.namespace, t.name, opts, user=user_of(request))
        if store.info.resource == "pods" or not gone:
            # Pods come back whole (the Python client types the answer as V1Pod); so does anything still
            # terminating, as in Kubernetes.
            return self.object_response(
                request, store, obj, 200 if gone or store.info.resource == "pods" else 202
            )
        info = store.info
        return json_response(success_status(info.resource, t.name, info.group, obj["metadata"].get("uid")))

    async def delete_collection(self, request: Request, store: Store, t: Target) -> Response:
        opts = await self.delete_options(request)
        items, rv, _, _ = await store.list(t.namespace, self.list_options(request))
        deleted: list[Obj] = []
        for item in items:
            md = item["metadata"]
            try:
                obj, _ = await store.delete(md.get("namespace"), md["name"], opts, user=user_of(request))
                deleted.append(obj)
            except StatusError as err:
                if err.code != 404:
                    raise
        info = store.info
        return json_response(
            {
                "kind": info.list_kind_name,
                "apiVersion": info.api_version,
                "metadata": {"resourceVersion": rv},
                "items": deleted,
            }
        )

    def strict_fields(self, request: Request, obj: Obj) -> None:
        """fieldValidation=Strict: unknown fields are an error (400), as in the real server."""
        if request.query_params.get("fieldValidation") != "Strict":
            return
        from apiserver import openapi

        unknown = openapi.unknown_fields(obj)
        if unknown:
            raise errors.bad_request(
                "strict decoding error: " + ", ".join(f'unknown field "{f}"' for f in unknown)
            )
