"""The options every write carries: who is writing (the field manager) and, for server-side apply, `force`.

As kube-apiserver reads them (k8s.io/apiserver/pkg/endpoints/handlers/rest.go and the option validation of
k8s.io/apimachinery/pkg/apis/meta/v1/validation): `?fieldManager=` names the manager; without it, the part of the
User-Agent before the first `/` does (`kubectl/v1.32.0 (linux/amd64)` -> `kubectl`), unprintable characters
dropped, cut at 128 bytes. A fieldManager that is too long or unprintable, an apply without one, or `force` on a
patch that is not an apply is 422 Invalid on the request's options kind (CreateOptions, UpdateOptions,
PatchOptions of meta.k8s.io).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from starlette.requests import Request

from apimachinery import errors
from apimachinery.resources import ResourceInfo
from apiserver import fieldcheck
from apiserver.crd.store import check_patch_type
from apiserver.patch import APPLY, patch_type
from apiserver.request import BodyLimits, flag, read_body

MAX_LENGTH = 128
GROUP = "meta.k8s.io"


def _invalid(options_kind: str, causes: list[dict[str, str]]) -> errors.StatusError:
    return errors.invalid(options_kind, "", causes, GROUP)


def _printable(ch: str) -> bool:
    return ch.isprintable() or ch == " "


@functools.lru_cache(maxsize=256)  # every write asks; a client sends the same User-Agent each time
def from_user_agent(user_agent: str) -> str:
    """prefixFromUserAgent: what the User-Agent says before its first `/`, printable, at most 128 bytes."""
    out = ""
    for ch in user_agent.split("/", 1)[0]:
        if not _printable(ch):
            continue
        if len((out + ch).encode()) > MAX_LENGTH:
            break
        out += ch
    return out


def field_manager(request: Request, options_kind: str, *, required: bool = False) -> str:
    """The manager of this write; 422 for an invalid ?fieldManager= (or a missing one when `required`)."""
    given = request.query_params.get("fieldManager") or ""
    causes: list[dict[str, str]] = []
    if required and not given:
        causes.append(
            {
                "reason": "FieldValueRequired",
                "message": "Required value: is required for apply patch",
                "field": "fieldManager",
            }
        )
    if len(given.encode()) > MAX_LENGTH:
        causes.append(
            {
                "reason": "FieldValueTooLong",
                "message": f"Too long: may not be more than {MAX_LENGTH} bytes",
                "field": "fieldManager",
            }
        )
    for i, ch in enumerate(given):
        if not _printable(ch):
            causes.append(
                {
                    "reason": "FieldValueInvalid",
                    "message": f"Invalid value: {errors.go_quote(given)}: "
                    f"invalid character U+{ord(ch):04X} (at position {i})",
                    "field": "fieldManager",
                }
            )
    if causes:
        raise _invalid(options_kind, causes)
    return given or from_user_agent(request.headers.get("user-agent", ""))


def force(request: Request, *, apply: bool) -> bool:
    """?force= of a patch: only an apply may set it."""
    raw = request.query_params.get("force")
    if raw is not None and not apply:
        raise _invalid(
            "PatchOptions",
            [
                {
                    "reason": "FieldValueForbidden",
                    "message": "Forbidden: may not be specified for non-apply patch",
                    "field": "force",
                }
            ],
        )
    return flag(raw)


@dataclass(frozen=True)
class Patch:
    """What a PATCH request asks for: the patch type, the field manager, `force` (apply only), the field
    validation directive and the patch itself."""

    type: str
    manager: str
    force: bool
    validation: str
    body: bytes


async def read_patch(request: Request, info: ResourceInfo, limits: BodyLimits) -> Patch:
    """A PATCH request's options and body, each checked (415, 422, 413) before anything is read from storage."""
    ptype = patch_type(request.headers.get("content-type"))
    check_patch_type(info, ptype)
    manager = field_manager(request, "PatchOptions", required=ptype == APPLY)
    apply_force = force(request, apply=ptype == APPLY)
    validation = fieldcheck.directive(request.query_params.get("fieldValidation"), "PatchOptions")
    return Patch(ptype, manager, apply_force, validation, await read_body(request, limits))
