"""The HTTP handlers of the resource API: one function per verb, dispatched from the request path.

Each handler reads the request (apiserver.request), calls the generic store (apiserver.registry) and writes the
answer in the form the client asked for: the object, a List, a Table (kubectl's human output) or a watch stream.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from apimachinery import errors, serialization
from apimachinery.errors import StatusError
from apiserver import fieldcheck, metrics, printers, subresources, warning, watchlist, watchstream, writeopts
from apiserver.fieldmanager import Conflicts
from apiserver.patch import APPLY, apply_patch, parse_apply
from apiserver.registry import Store
from apiserver.registry_types import Abort, DeleteOptions, ListOptions
from apiserver.registry_writes import replacing
from apiserver.request import (
    Target,
    check_kind,
    check_namespace,
    decode_object,
    flag,
    int_param,
    parse_path,
    read_body,
    read_delete_options,
    user_of,
    wants_table,
)
from apiserver.server import APIServer
from apiserver.watchcache import CachedList, frame

log = logging.getLogger("apiserver.rest")

Obj = dict[str, Any]

_VERB_BY_METHOD = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_METRIC_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT"})


def encode(obj: Any) -> bytes:
    """Response bytes as kube-apiserver writes them (Go's json.Encoder: HTML-escaped, newline-terminated)."""
    return serialization.dumps_go(obj)


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(encode(obj), status_code=status, media_type="application/json")


def status_response(err: StatusError) -> Response:
    body = err.status()
    # responsewriters.ErrorNegotiated: a Status that asks for a delay also says so in Retry-After.
    retry = (body.get("details") or {}).get("retryAfterSeconds")
    headers = {"Retry-After": str(retry)} if retry else None
    return Response(encode(body), status_code=err.code, media_type="application/json", headers=headers)


def metric_labels(
    request: Request, group: str, version: str, target: Target | None, verb: str
) -> dict[str, str]:
    """The labels of apiserver_request_total for one request, as kube-apiserver's CleanVerb and CleanScope derive
    them: GET of a collection is LIST, a watch WATCH, an apply patch APPLY, the rest the method; the scope is
    `resource` for one object (and for a create), else `namespace` or `cluster`."""
    method = request.method
    if verb in ("list", "watch"):
        reported = verb.upper()
    elif method == "PATCH" and request.headers.get("content-type", "").split(";")[0].strip() == APPLY:
        reported = "APPLY"
    else:
        reported = method if method in _METRIC_METHODS else "other"  # label values stay bounded
    if target is None:  # an unknown resource: nothing of the client's path becomes a label value
        group, version, scope, resource, subresource = "", "", "", "", ""
    else:
        resource, subresource = target.info.resource, target.subresource or ""
        if target.name or verb == "create":
            scope = "resource"
        else:
            scope = "namespace" if target.namespace else "cluster"
    dry_runs = set(request.query_params.getlist("dryRun"))
    dry_run = ",".join(sorted(dry_runs)) if dry_runs <= {"All"} else "invalid"
    return {
        "verb": reported,
        "dry_run": dry_run,
        "group": group,
        "version": version,
        "resource": resource,
        "subresource": subresource,
        "scope": scope,
        "component": "apiserver",
    }


class ResourceAPI:
    def __init__(self, server: APIServer) -> None:
        self.server = server

    async def handle(self, request: Request, group: str, version: str, rest: str) -> Response:
        start = time.perf_counter()
        verb = _VERB_BY_METHOD.get(request.method, request.method.lower())
        target: Target | None = None
        with warning.collecting() as warnings:
            try:
                target = parse_path(self.server.table, group, version, rest.strip("/").split("/"))
                if request.method == "GET" and not target.name:
                    verb = "watch" if flag(request.query_params.get("watch")) or target.watch_path else "list"
                elif request.method == "DELETE" and not target.name:
                    verb = "deletecollection"
                response = await self._dispatch(request, target, verb)
            except StatusError as err:
                response = status_response(err)
            except RecursionError:
                # Input nested deeper than the decoders allow is refused before this; an object stored deeply
                # nested by an older server (or written past the API) must not make its readers fail with 500.
                response = status_response(errors.bad_request("the object is nested too deeply to process"))
            except Exception:
                log.exception("request failed", extra={"method": request.method, "path": request.url.path})
                response = status_response(errors.internal())
        response.raw_headers.extend(warning.headers(warnings))
        labels = metric_labels(request, group, version, target, verb)
        seconds = None if verb == "watch" else time.perf_counter() - start
        metrics.observe_request(labels, response.status_code, seconds)
        return response

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

    def object_response(self, request: Request, store: Store, obj: Obj, status: int = 200) -> Response:
        if wants_table(request):
            return json_response(
                self.table(
                    request, store, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
                ),
                status,
            )
        return json_response(obj, status)

    def table(self, request: Request, store: Store, objs: list[Obj], list_meta: Obj) -> Obj:
        include = request.query_params.get("includeObject") or "Metadata"
        return printers.to_table(store.info, objs, include_object=include, list_meta=list_meta)

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
        watchlist.send_initial_events(request, watch=False)
        opts = self.list_options(request)
        items, rv, token, remaining = await store.list(t.namespace, opts)
        list_meta: Obj = {"resourceVersion": rv}
        if token:
            list_meta["continue"] = token
            if remaining is not None:
                list_meta["remainingItemCount"] = remaining
        if wants_table(request):
            return json_response(self.table(request, store, items, list_meta))
        body: Obj = {
            "kind": store.info.list_kind_name,
            "apiVersion": store.info.api_version,
            "metadata": list_meta,
        }
        if isinstance(items, CachedList):
            # The cached objects' bytes, joined: the same document as encoding the whole list.
            head = encode(body)[: -len(b"}\n")] + b',"items":'
            return Response(items.encoded_list(head, b"}\n"), media_type="application/json")
        body["items"] = items
        return json_response(body)

    async def watch(self, request: Request, store: Store, t: Target) -> Response:
        opts = self.list_options(request)
        initial = watchlist.send_initial_events(request, watch=True)
        timeout = int_param(request, "timeoutSeconds")
        bookmarks = flag(request.query_params.get("allowWatchBookmarks"))
        events = store.watch(
            t.namespace,
            opts,
            timeout=float(timeout) if timeout else None,
            bookmarks=bookmarks,
            initial_events=initial,
        )
        table = None
        if wants_table(request):

            def table(etype: str, obj: Obj) -> bytes:
                meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
                return frame(etype, self.table(request, store, [obj], meta))

        return watchstream.response(events, store.info, table)

    # ---- writes ------------------------------------------------------------------------------------------------

    async def read_object(self, request: Request, t: Target, kind: str, api_version: str) -> Obj:
        body = await read_body(request, self.server.options)
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
            raise errors.method_not_allowed()  # no POST route on the all-namespaces path
        manager = writeopts.field_manager(request, "CreateOptions")
        how = fieldcheck.directive(request.query_params.get("fieldValidation"), "CreateOptions")
        obj = await self.read_object(request, t, info.kind, info.api_version)
        fieldcheck.enforce(obj, self.server.schema_of(info), how)
        md = obj.get("metadata") or {}
        if info.namespaced and t.namespace:
            await self.server.check_namespace(t.namespace, info.resource, info.group, md.get("name") or "")
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
        created = await store.create(
            t.namespace, obj, dry_run=self.dry_run(request), manager=manager, user=user_of(request)
        )
        return self.object_response(request, store, created, 201)

    async def update(self, request: Request, store: Store, t: Target) -> Response:
        info = store.info
        manager = writeopts.field_manager(request, "UpdateOptions")
        how = fieldcheck.directive(request.query_params.get("fieldValidation"), "UpdateOptions")
        obj = await self.read_object(request, t, info.kind, info.api_version)
        fieldcheck.enforce(obj, self.server.schema_of(info), how)
        assert t.name
        body_name = (obj.get("metadata") or {}).get("name")
        if body_name and body_name != t.name:
            raise errors.bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({t.name})"
            )
        updated, created = await store.update(
            t.namespace,
            t.name,
            replacing(obj),
            dry_run=self.dry_run(request),
            manager=manager,
            user=user_of(request),
        )
        return self.object_response(request, store, updated, 201 if created else 200)

    async def patch(self, request: Request, store: Store, t: Target) -> Response:
        info = store.info
        assert t.name
        patch = await writeopts.read_patch(request, info, self.server.options)
        dry_run = self.dry_run(request)
        if patch.type == APPLY:
            return await self.server_side_apply(
                request, store, t, patch.body, patch.manager, force=patch.force
            )
        schema = self.server.schema_of(info)

        def transform(current: Obj) -> Obj:
            patched = apply_patch(patch.type, current, patch.body, kind=info.kind, owned=True)
            check_kind(patched, info.kind, info.api_version)
            fieldcheck.enforce(patched, schema, patch.validation)
            return patched

        updated, _ = await store.update(
            t.namespace, t.name, transform, dry_run=dry_run, manager=patch.manager, user=user_of(request)
        )
        return self.object_response(request, store, updated)

    async def server_side_apply(
        self,
        request: Request,
        store: Store,
        t: Target,
        body: bytes,
        manager: str,
        *,
        force: bool,
        subresource: str | None = None,
    ) -> Response:
        """An apply patch: the configuration merged into the object with field ownership (apiserver.fieldmanager),
        creating the object when it does not exist (201)."""
        info = store.info
        name = t.name or ""
        config = parse_apply(body)
        check_kind(config, info.kind, info.api_version)
        check_namespace(config, t.namespace)
        group_version = f"{info.group}/{info.version}" if info.group else f"/{info.version}"
        fieldcheck.refuse_in_apply(
            config,
            self.server.schema_of(info),
            f"{t.namespace or ''}/{name}; {group_version}, Kind={info.kind}",
        )
        fields = store.field_manager(subresource)

        def apply(current: Obj | None) -> Obj:
            try:
                return fields.apply(current, config, manager, force=force)
            except Conflicts as conflicts:
                raise Abort(conflicts.status_error()) from None

        def create() -> Obj:
            obj = apply(None)
            obj.setdefault("metadata", {})["name"] = name
            return obj

        if info.namespaced and t.namespace and subresource is None:
            await self.server.check_namespace(t.namespace, info.resource, info.group, name)
        updated, created = await store.update(
            t.namespace,
            name,
            apply,
            subresource=subresource,
            dry_run=self.dry_run(request),
            create_if_missing=create if subresource is None else None,
            user=user_of(request),
        )
        return self.object_response(request, store, updated, 201 if created else 200)

    async def delete_options(self, request: Request) -> DeleteOptions:
        q = request.query_params
        opts = DeleteOptions(
            propagation_policy=q.get("propagationPolicy"),
            grace_period_seconds=int_param(request, "gracePeriodSeconds"),
            dry_run=self.dry_run(request),
        )
        if q.get("orphanDependents") is not None:
            opts.orphan_dependents = flag(q.get("orphanDependents"))
        body = await read_body(request, self.server.options)
        if body.strip():
            data = decode_object(request, body)
            read_delete_options(data, opts)
        if opts.orphan_dependents is True:
            opts.propagation_policy = "Orphan"
        if opts.propagation_policy not in (None, "Background", "Foreground", "Orphan"):
            raise errors.bad_request(
                f"invalid propagationPolicy {opts.propagation_policy!r}: "
                "must be one of Background, Foreground, Orphan"
            )
        return opts

    async def delete(self, request: Request, store: Store, t: Target) -> Response:
        """What kube-apiserver's delete handler answers: the object when the kind's registry returns deleted
        objects (pods, services, namespaces) or when it is not gone yet (finalizers, graceful deletion), otherwise
        a Success Status naming it. 200, or 202 for an object left behind when the client asked
        orphanDependents=false (the one case the handler marks Accepted)."""
        assert t.name
        opts = await self.delete_options(request)
        obj, gone = await store.delete(t.namespace, t.name, opts, user=user_of(request))
        code = 202 if not gone and opts.orphan_dependents is False else 200
        if store.strategy.returns_deleted_object or not gone:
            return self.object_response(request, store, obj, code)
        info = store.info
        return json_response(
            errors.success_status(
                name=t.name, group=info.group, kind=info.resource, uid=obj["metadata"].get("uid")
            ),
            code,
        )

    async def delete_collection(self, request: Request, store: Store, t: Target) -> Response:
        """Delete every object the list selects; answer that list, as listed before the deletes
        (genericregistry.Store.DeleteCollection)."""
        opts = await self.delete_options(request)
        items, rv, _, _ = await store.list(t.namespace, self.list_options(request))
        for item in items:
            md = item["metadata"]
            try:
                await store.delete(md.get("namespace"), md["name"], opts, user=user_of(request))
            except StatusError as err:
                if not errors.is_not_found(err):
                    raise
        info = store.info
        return json_response(
            {
                "kind": info.list_kind_name,
                "apiVersion": info.api_version,
                "metadata": {"resourceVersion": rv},
                "items": items,
            }
        )
