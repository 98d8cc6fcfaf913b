"""The generic store's option types (list and delete), its one translation of storage failures into Kubernetes
Status errors, and `Abort`, which stops a guaranteed update without writing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apimachinery import errors
from apimachinery.errors import StatusError
from apimachinery.resources import ResourceInfo
from apiserver.storage.interface import ErrorCode, StorageError

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]


@dataclass
class ListOptions:
    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str | None = None
    resource_version: str | None = None
    resource_version_match: str | None = None


@dataclass
class DeleteOptions:
    propagation_policy: str | None = None
    grace_period_seconds: int | None = None
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    dry_run: bool = False
    orphan_dependents: bool | None = None  # as the client sent it (None: not sent)


def storage_error(exc: StorageError, info: ResourceInfo, name: str) -> StatusError:
    """Translate a storage failure once, at the boundary."""
    if exc.code is ErrorCode.NOT_FOUND:
        return errors.not_found(info.resource, name, info.group)
    if exc.code is ErrorCode.EXISTS:
        return errors.already_exists(info.resource, name, info.group)
    if exc.code is ErrorCode.CONFLICT:
        return errors.conflict(info.resource, name, info.group)
    if exc.code is ErrorCode.COMPACTED:
        return errors.gone(
            f"The provided continue parameter is too old to display a consistent list result. "
            f"You can start a new list without the continue parameter. ({exc})"
        )
    if exc.code is ErrorCode.UNAVAILABLE:
        return errors.unavailable(f"storage is unavailable: {exc}")
    if exc.code is ErrorCode.CORRUPT:
        return errors.internal(f"{exc}")
    if exc.code is ErrorCode.TOO_LARGE:
        return errors.too_large(f"Request entity too large: {exc}")
    if exc.code is ErrorCode.INVALID:
        # A read at a revision the store has not reached yet: Kubernetes answers 504, which clients retry.
        return errors.timeout(f"Too large resource version: {exc}", retry_after=1)
    return errors.internal(str(exc))


class Abort(Exception):
    """Raised inside a guaranteed_update callback to stop without writing; carries the Status to answer."""

    def __init__(self, error: StatusError) -> None:
        self.error = error
