"""The exact bytes of kube-apiserver's Status bodies, against what our builders and encoder write.

Each expected body is written down from Kubernetes' source (v1.32: k8s.io/apimachinery v0.32.0 and
k8s.io/apiserver v0.32.0), as the comment above it says: the constructor in pkg/api/errors/errors.go that builds the
Status, metav1.Status/StatusDetails/StatusCause in pkg/apis/meta/v1/types.go for the field order and `omitempty`,
and the JSON serializer (pkg/runtime/serializer/json/json.go: `json.NewEncoder(w).Encode(obj)`) for the compact
form, Go's HTML escaping and the trailing newline. Where the official Python client's end-to-end suite
(kubernetes-client/python, kubernetes/e2e_test/test_utils.py) spells a body out, the test quotes it.
"""

from __future__ import annotations

import pytest

from apimachinery import errors
from apimachinery.serialization import dumps_go


def body(err: errors.StatusError) -> bytes:
    return dumps_go(err.status())


def test_already_exists_core_as_the_python_e2e_suite_expects() -> None:
    # NewAlreadyExists(GroupResource{"", "services"}, "mock-2"); test_utils.py
    # test_create_from_multi_resource_yaml_with_conflict expects these bytes (after "Error from server (Conflict): ").
    assert body(errors.already_exists("services", "mock-2")) == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"services \\"mock-2\\" already exists","reason":"AlreadyExists",'
        b'"details":{"name":"mock-2","kind":"services"},"code":409}\n'
    )


def test_already_exists_grouped_as_the_python_e2e_suite_expects() -> None:
    # test_create_from_multi_resource_yaml_with_multi_conflicts: details in Go order name, group, kind.
    assert body(errors.already_exists("deployments", "triple-nginx", "apps")) == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"deployments.apps \\"triple-nginx\\" already exists","reason":"AlreadyExists",'
        b'"details":{"name":"triple-nginx","group":"apps","kind":"deployments"},"code":409}\n'
    )


GOLDEN: list[tuple[str, errors.StatusError, bytes]] = [
    (
        # NewNotFound(GroupResource{"", "pods"}, "zzz")
        "404 NotFound",
        errors.not_found("pods", "zzz"),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"zzz\\" not found",'
        b'"reason":"NotFound","details":{"name":"zzz","kind":"pods"},"code":404}\n',
    ),
    (
        # go-restful's 404 ("404: Not Found") through serviceErrorHandler -> NewGenericServerResponse(404, ...):
        # its message, and a non-nil but empty StatusDetails.
        "404 no route",
        errors.path_not_found(),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}\n',
    ),
    (
        # NewConflict(GroupResource{"apps", "deployments"}, "web", <etcd3 store's stale-RV error>)
        "409 Conflict",
        errors.conflict("deployments", "web", "apps"),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"Operation cannot be fulfilled on deployments.apps \\"web\\": the object has been modified; '
        b'please apply your changes to the latest version and try again",'
        b'"reason":"Conflict","details":{"name":"web","group":"apps","kind":"deployments"},"code":409}\n',
    ),
    (
        # NewInvalid(GroupKind{"", "Pod"}, "Bad_Pod", one field.Required): details.kind is the Kind; one error
        # aggregates to itself.
        "422 Invalid, one cause",
        errors.invalid(
            "Pod",
            "Bad_Pod",
            [
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value",
                    "field": "spec.containers[0].image",
                }
            ],
        ),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"Pod \\"Bad_Pod\\" is invalid: spec.containers[0].image: Required value","reason":"Invalid",'
        b'"details":{"name":"Bad_Pod","kind":"Pod","causes":[{"reason":"FieldValueRequired",'
        b'"message":"Required value","field":"spec.containers[0].image"}]},"code":422}\n',
    ),
    (
        # NewInvalid(GroupKind{"apps", "Deployment"}, ...): qualifiedKind.String() is "Deployment.apps"; two errors
        # aggregate as "[a, b]" (utilerrors.aggregate.Error); details carry the group.
        "422 Invalid, two causes, grouped",
        errors.invalid(
            "Deployment",
            "web",
            [
                {
                    "reason": "FieldValueInvalid",
                    "message": "Invalid value: -1: must be >= 0",
                    "field": "spec.replicas",
                },
                {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"},
            ],
            "apps",
        ),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"Deployment.apps \\"web\\" is invalid: [spec.replicas: Invalid value: -1: must be \\u003e= 0, '
        b'spec.selector: Required value]","reason":"Invalid","details":{"name":"web","group":"apps",'
        b'"kind":"Deployment","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: -1: must be '
        b'\\u003e= 0","field":"spec.replicas"},{"reason":"FieldValueRequired","message":"Required value",'
        b'"field":"spec.selector"}]},"code":422}\n',
    ),
    (
        # NewResourceExpired (the watch cache's "too old resource version"): no details at all.
        "410 Expired",
        errors.gone("too old resource version: 1 (140)"),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"too old resource version: 1 (140)","reason":"Expired","code":410}\n',
    ),
    (
        # NewForbidden(GroupResource{"", "pods"}, "", err) as responsewriters.Forbidden builds it for RBAC.
        "403 Forbidden",
        errors.forbidden_resource(
            "pods",
            "",
            "",
            'User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"',
        ),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: '
        b'User \\"system:anonymous\\" cannot list resource \\"pods\\" in API group \\"\\" in the namespace '
        b'\\"default\\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}\n',
    ),
    (
        # NewUnauthorized("Unauthorized"), as the authentication filter answers (genericapifilters.Unauthorized).
        "401 Unauthorized",
        errors.unauthorized(),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized",'
        b'"reason":"Unauthorized","code":401}\n',
    ),
    (
        # go-restful's 405 through NewGenericServerResponse(405, ...): the generic message, empty details.
        "405 MethodNotAllowed",
        errors.method_not_allowed(),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"the server does not allow this method on the requested resource","reason":"MethodNotAllowed",'
        b'"details":{},"code":405}\n',
    ),
    (
        # NewMethodNotSupported(GroupResource{"", "pods"}, "watch") (the get handler for a resource without watch).
        "405 method not supported",
        errors.method_not_supported("pods", "", "watch"),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"watch is not supported on resources of kind \\"pods\\"","reason":"MethodNotAllowed",'
        b'"details":{"kind":"pods"},"code":405}\n',
    ),
    (
        # go-restful's 415 for a body no PATCH route consumes ("415: Unsupported Media Type", jsr311.go) through
        # NewGenericServerResponse(415, ...), which keeps the server's message.
        "415 UnsupportedMediaType",
        errors.unsupported_media_type("text/plain"),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"415: Unsupported Media Type",'
        b'"reason":"UnsupportedMediaType","details":{},"code":415}\n',
    ),
    (
        # NewRequestEntityTooLargeError("limit is 3145728") (handlers/rest.go limitedReadBody).
        "413 RequestEntityTooLarge",
        errors.too_large("limit is 3145728"),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"Request entity too large: limit is 3145728","reason":"RequestEntityTooLarge","code":413}\n',
    ),
    (
        # NewBadRequest: no details.
        "400 BadRequest",
        errors.bad_request("the name of the object (a) does not match the name on the URL (b)"),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"the name of the object (a) does not match the name on the URL (b)","reason":"BadRequest",'
        b'"code":400}\n',
    ),
    (
        # NewTooManyRequests("storage is (re)initializing", 1) (the cacher while it is not ready).
        "429 TooManyRequests",
        errors.too_many_requests("storage is (re)initializing", 1),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"storage is (re)initializing","reason":"TooManyRequests","details":{"retryAfterSeconds":1},'
        b'"code":429}\n',
    ),
    (
        # NewInternalError(err): the message prefixed, the error's text as the one cause.
        "500 InternalError",
        errors.internal("etcdserver: leader changed"),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"Internal error occurred: etcdserver: leader changed","reason":"InternalError",'
        b'"details":{"causes":[{"message":"etcdserver: leader changed"}]},"code":500}\n',
    ),
    (
        # NewServiceUnavailable with RetryAfterSeconds set, as the not-found handler does before the server is
        # ready (pkg/util/notfoundhandler).
        "503 ServiceUnavailable",
        errors.unavailable(
            "the request has been made before all known HTTP paths have been installed, please try again", 5
        ),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"the request has been made before all known HTTP paths have been installed, please try again",'
        b'"reason":"ServiceUnavailable","details":{"retryAfterSeconds":5},"code":503}\n',
    ),
    (
        # storage.NewTooLargeResourceVersionError(15, 12, 1): NewTimeoutError with a ResourceVersionTooLarge cause.
        "504 Timeout",
        errors.too_large_resource_version(15, 12),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"Timeout: Too large resource version: 15, current: 12","reason":"Timeout",'
        b'"details":{"causes":[{"reason":"ResourceVersionTooLarge","message":"Too large resource version"}],'
        b'"retryAfterSeconds":1},"code":504}\n',
    ),
    (
        # internal.NewConflictError for one apply conflict (managedfields/internal/conflict.go): the manager of an
        # Update entry printed with its API version, no object details.
        "409 apply conflict",
        errors.apply_conflict(
            [
                {
                    "reason": "FieldManagerConflict",
                    "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
                    "field": ".spec.replicas",
                }
            ],
            'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
        ),
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Apply failed with 1 '
        b'conflict: conflict with \\"kubectl-client-side-apply\\" using apps/v1: .spec.replicas","reason":"Conflict",'
        b'"details":{"causes":[{"reason":"FieldManagerConflict","message":"conflict with '
        b'\\"kubectl-client-side-apply\\" using apps/v1","field":".spec.replicas"}]},"code":409}\n',
    ),
]


@pytest.mark.parametrize(("case", "err", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_status_bytes(case: str, err: errors.StatusError, expected: bytes) -> None:
    assert body(err) == expected, case


def test_success_status_of_a_delete() -> None:
    # genericregistry.Store.finalizeDelete: Status{Status: Success, Details{Name, Group, Kind: resource, UID}},
    # no code (the handler fills one in only when the store returns nil).
    status = errors.success_status(name="web", group="apps", kind="deployments", uid="6b3c-uid")
    assert dumps_go(status) == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success",'
        b'"details":{"name":"web","group":"apps","kind":"deployments","uid":"6b3c-uid"}}\n'
    )


def test_names_are_quoted_as_go_quotes_them() -> None:
    # %q of a name with a quote, a backslash and a control character (strconv.Quote).
    err = errors.not_found("configmaps", 'a"b\\c\x01é')
    assert err.message == 'configmaps "a\\"b\\\\c\\x01é" not found'


def test_html_characters_and_line_separators_are_escaped_as_go_escapes_them() -> None:
    assert dumps_go({"m": "<a> & \u2028"}) == b'{"m":"\\u003ca\\u003e \\u0026 \\u2028"}\n'


def test_a_client_reads_a_status_back() -> None:
    err = errors.StatusError.from_status(errors.too_many_requests("slow down", 3).status(), 429)
    assert (err.code, err.reason, err.retry_after) == (429, "TooManyRequests", 3)
    assert body(err) == body(errors.too_many_requests("slow down", 3))
