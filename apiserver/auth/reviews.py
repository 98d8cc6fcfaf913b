"""The create-only review resources and the TokenRequest subresource: answered at once, never stored.

    tokenreviews.authentication.k8s.io             is this token good, and whose is it?
    selfsubjectreviews.authentication.k8s.io       who am I? (`kubectl auth whoami`)
    subjectaccessreviews.authorization.k8s.io      may user U do V? (the kubelet's webhook authorizer asks this)
    localsubjectaccessreviews (namespaced)         the same, in one namespace
    selfsubjectaccessreviews                       may I do V? (`kubectl auth can-i`)
    selfsubjectrulesreviews                        what may I do in namespace N? (`kubectl auth can-i --list`)
    serviceaccounts/{name}/token                   a new token for a ServiceAccount (`kubectl create token`)

The answer is the request with `status` filled in (and `metadata.creationTimestamp: null`, as Kubernetes sends).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from apimachinery import errors
from apimachinery.timefmt import format_time
from apimachinery.user import UserInfo
from apiserver.auth.authenticators import Credentials
from apiserver.auth.authorizer import Attributes, Decision
from apiserver.auth.requestinfo import RequestInfo
from apiserver.auth.tokens import DEFAULT_EXPIRATION, MIN_EXPIRATION, InvalidToken
from apiserver.objectmeta import now
from apiserver.request import Target, user_of

if TYPE_CHECKING:
    from apiserver.registry import Store
    from apiserver.rest import ResourceAPI

Obj = dict[str, Any]


async def handle(api: ResourceAPI, request: Request, t: Target) -> Response:
    if request.method != "POST" or t.name:
        raise errors.method_not_allowed()
    info = t.info
    obj = await api.read_object(request, t, info.kind, info.api_version)
    user = user_of(request)
    if user is None:
        raise errors.unauthorized()
    obj.setdefault("apiVersion", info.api_version)
    obj.setdefault("kind", info.kind)
    md = obj.setdefault("metadata", {})
    md.setdefault("creationTimestamp", None)
    spec = obj.get("spec") or {}
    if not isinstance(spec, dict):
        raise errors.bad_request("spec must be an object")
    auth = api.server.auth
    if info.resource == "selfsubjectreviews":
        obj["status"] = {"userInfo": user.to_json()}
    elif info.resource == "tokenreviews":
        obj["status"] = await token_review(api, spec)
    elif info.resource == "selfsubjectrulesreviews":
        namespace = spec.get("namespace") or ""
        obj["status"] = rules_review(api, user, str(namespace))
    else:
        subject = user if info.resource == "selfsubjectaccessreviews" else _subject(info.kind, spec)
        attrs = _review_attributes(info.resource, subject, spec, t.namespace or "")
        decision, reason = auth.authorizer.authorize(attrs)
        status: Obj = {"allowed": decision is Decision.ALLOW}
        if decision is Decision.DENY:
            status["denied"] = True
        if reason:
            status["reason"] = reason
        obj["status"] = status
    return api.json_ok(obj, 201)


def _invalid(kind: str, field: str, message: str) -> errors.StatusError:
    """The 422 of a review with one invalid field (the review itself has no name)."""
    cause = {"reason": "FieldValueInvalid", "field": field, "message": message}
    return errors.invalid(kind, "", [cause], "authorization.k8s.io")


def _subject(kind: str, spec: Obj) -> UserInfo:
    user = spec.get("user") or ""
    groups = spec.get("groups") or []
    if not user and not groups:
        raise _invalid(
            kind, "spec.user", 'Invalid value: "": at least one of user or group must be specified'
        )
    extra = spec.get("extra") or {}
    return UserInfo(
        str(user),
        uid=str(spec.get("uid") or ""),
        groups=tuple(str(g) for g in groups),
        extra={str(k): tuple(map(str, v)) for k, v in extra.items()} if isinstance(extra, dict) else {},
    )


def _review_attributes(resource: str, user: UserInfo, spec: Obj, path_namespace: str) -> Attributes:
    res = spec.get("resourceAttributes")
    non = spec.get("nonResourceAttributes")
    kind = {
        "subjectaccessreviews": "SubjectAccessReview",
        "localsubjectaccessreviews": "LocalSubjectAccessReview",
        "selfsubjectaccessreviews": "SelfSubjectAccessReview",
    }[resource]
    if (res is None) == (non is None):
        message = 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified'
        raise _invalid(kind, "spec.resourceAttributes", message)
    if isinstance(non, dict):
        if resource == "localsubjectaccessreviews":
            raise errors.bad_request("disallowed on this kind of request")
        info = RequestInfo(verb=str(non.get("verb") or ""), path=str(non.get("path") or ""))
        return Attributes(user, info)
    if not isinstance(res, dict):
        raise errors.bad_request("spec.resourceAttributes must be an object")
    namespace = str(res.get("namespace") or "")
    if resource == "localsubjectaccessreviews":
        if namespace and namespace != path_namespace:
            raise errors.bad_request(
                f"spec.resourceAttributes.namespace must match metadata.namespace: {namespace!r}"
            )
        namespace = path_namespace
    info = RequestInfo(
        verb=str(res.get("verb") or ""),
        path="",
        resource_request=True,
        api_group=str(res.get("group") or ""),
        api_version=str(res.get("version") or ""),
        namespace=namespace,
        resource=str(res.get("resource") or ""),
        subresource=str(res.get("subresource") or ""),
        name=str(res.get("name") or ""),
    )
    return Attributes(user, info)


def rules_review(api: ResourceAPI, user: UserInfo, namespace: str) -> Obj:
    """What RBAC grants `user` in `namespace`; incomplete for users other authorizers decide for (nodes)."""
    rbac = api.server.rbac
    resource_rules: list[Obj] = []
    non_resource_rules: list[Obj] = []
    incomplete = False
    error = ""
    if any(g in api.server.privileged_groups for g in user.groups):
        resource_rules.append({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
        non_resource_rules.append({"verbs": ["*"], "nonResourceURLs": ["*"]})
    if rbac is not None:
        for rule in rbac.rules_for(user, namespace):
            if rule.get("nonResourceURLs"):
                non_resource_rules.append(
                    {"verbs": rule.get("verbs") or [], "nonResourceURLs": rule["nonResourceURLs"]}
                )
            else:
                entry = {
                    k: rule[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if rule.get(k)
                }
                entry.setdefault("verbs", [])
                resource_rules.append(entry)
    from apimachinery.user import node_name

    if node_name(user) is not None:
        incomplete = True
        error = "node authorizer does not support user rule resolution"
    status: Obj = {
        "resourceRules": resource_rules,
        "nonResourceRules": non_resource_rules,
        "incomplete": incomplete,
    }
    if error:
        status["evaluationError"] = error
    return status


async def token_review(api: ResourceAPI, spec: Obj) -> Obj:
    token = spec.get("token")
    if not token or not isinstance(token, str):
        raise errors.invalid(
            "TokenReview",
            "",
            [{"reason": "FieldValueRequired", "field": "spec.token", "message": "Required value: token must not be empty"}],
            "authentication.k8s.io",
        )  # fmt: skip
    wanted = tuple(str(a) for a in spec.get("audiences") or [])
    server = api.server
    user: UserInfo | None = None
    audiences: list[str] = []
    issuer = server.token_issuer
    if issuer is not None and server.sa_authenticator is not None and token.count(".") == 2:
        try:
            claims = issuer.verify(token, wanted or None)
            await server.sa_authenticator.check_alive(claims)
            user = claims.user()
            accepted = wanted or issuer.api_audiences
            audiences = [a for a in accepted if a in claims.audiences]
        except InvalidToken:
            user = None
    if user is None and not wanted:
        found = await server.auth.authenticator.authenticate(Credentials(bearer_token=token))
        if found is not None:
            user = found
            audiences = list(server.token_issuer.api_audiences) if server.token_issuer else []
    if user is None:
        return {"authenticated": False, "user": {}, "error": "[invalid bearer token, token lookup failed]"}
    from apiserver.auth.authenticators import with_authenticated

    status: Obj = {"authenticated": True, "user": with_authenticated(user).to_json()}
    if audiences:
        status["audiences"] = audiences
    return status


async def token_request(api: ResourceAPI, request: Request, store: Store, t: Target) -> Response:
    """POST serviceaccounts/{name}/token: a signed token for that ServiceAccount."""
    assert t.name
    server = api.server
    issuer = server.token_issuer
    if issuer is None or issuer.signing_key is None:
        raise errors.StatusError(
            500,
            "InternalError",
            "this apiserver has no --service-account-signing-key-file to sign tokens with",
        )
    obj = await api.read_object(request, t, "TokenRequest", "authentication.k8s.io/v1")
    obj.setdefault("apiVersion", "authentication.k8s.io/v1")
    obj.setdefault("kind", "TokenRequest")
    spec = obj.setdefault("spec", {})
    expiration = spec.get("expirationSeconds")
    expiration = DEFAULT_EXPIRATION if expiration in (None, 0) else expiration
    causes = []
    if not isinstance(expiration, int) or expiration < MIN_EXPIRATION:
        causes.append({"reason": "FieldValueInvalid", "field": "spec.expirationSeconds",
                       "message": f"Invalid value: {expiration}: may not specify a duration less than 10 minutes"})  # fmt: skip
    elif expiration > 2**32:
        causes.append({"reason": "FieldValueTooLong", "field": "spec.expirationSeconds",
                       "message": f"Invalid value: {expiration}: may not specify a duration larger than 2^32 seconds"})  # fmt: skip
    if causes:
        raise errors.invalid("TokenRequest", t.name, causes, "authentication.k8s.io")
    expiration = min(int(expiration), issuer.max_expiration)
    sa = await store.get(t.namespace, t.name)
    user = user_of(request)
    if user is not None:
        attrs = store._attributes("CREATE", user, t.namespace, t.name, obj, None, subresource="token")
        if attrs is not None:
            await store.admission.admit(attrs)
            await store.admission.validate(attrs)
    pod, node = await _bound_pod(server, t.namespace or "", spec.get("boundObjectRef"))
    audiences = tuple(str(a) for a in spec.get("audiences") or []) or issuer.api_audiences
    token, expires = issuer.sign(
        namespace=t.namespace or "",
        name=t.name,
        uid=str(sa["metadata"].get("uid") or ""),
        audiences=audiences,
        expiration=expiration,
        pod=pod,
        node=node,
    )
    spec["audiences"] = list(audiences)
    spec["expirationSeconds"] = expiration
    obj["metadata"] = {"name": t.name, "namespace": t.namespace, "creationTimestamp": now()}
    obj["status"] = {"token": token, "expirationTimestamp": _rfc3339(expires)}
    return api.json_ok(obj, 201)


async def _bound_pod(
    server: Any, namespace: str, ref: Obj | None
) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """(pod name, uid) and (node name, uid) a token is bound to; 400/404/409 for a bad reference."""
    if not ref:
        return None, None
    if ref.get("kind") != "Pod" or ref.get("apiVersion") not in ("v1", None):
        raise errors.bad_request(
            f"cannot bind token for serviceaccount to a {ref.get('kind')!r}: only Pods are supported here"
        )
    from apimachinery.resources import must_resource

    pod = await server.store(must_resource("", "pods")).get(namespace, str(ref.get("name") or ""))
    uid = pod["metadata"].get("uid", "")
    if ref.get("uid") and ref["uid"] != uid:
        raise errors.conflict(
            "pods", pod["metadata"]["name"], "", f"the UID in the bound object reference ({ref['uid']}) does not "
            f"match the UID in record. The object might have been deleted and then recreated",
        )  # fmt: skip
    node: tuple[str, str] | None = None
    node_name = (pod.get("spec") or {}).get("nodeName")
    if node_name:
        try:
            node_obj = await server.store(must_resource("", "nodes")).get(None, node_name)
            node = (node_name, str(node_obj["metadata"].get("uid") or ""))
        except errors.StatusError:
            node = (node_name, "")
    return (pod["metadata"]["name"], uid), node


def _rfc3339(epoch: int) -> str:
    return format_time(dt.datetime.fromtimestamp(epoch, dt.UTC))
