"""What the generic store checks at the storage boundary: resource versions and continue tokens from clients
(400 when they are not ours), and objects on their way in (bounded nesting, 64-bit numbers, a size etcd takes)."""

from __future__ import annotations

from typing import Any

from apimachinery import errors, serialization
from apiserver.storage import decode_continue
from apiserver.storage.interface import StorageError

INT64_MAX = 2**63 - 1
MAX_OBJECT_BYTES = 1572864  # etcd's default --max-request-bytes (1.5 MiB)


def parse_rv(rv: str) -> int:
    try:
        value = int(rv)
    except ValueError:
        raise errors.bad_request(f'invalid resource version "{rv}"') from None
    if not 0 <= value <= INT64_MAX:
        raise errors.bad_request(f'invalid resource version "{rv}"')
    return value


def check_continue(token: str) -> None:
    """A continue token that is not one of ours is the client's mistake (400), as in kube-apiserver."""
    try:
        revision, _ = decode_continue(token)
    except StorageError as exc:
        raise errors.bad_request(f"{exc}") from None
    if revision > INT64_MAX:
        raise errors.bad_request("invalid continue token: the revision is out of range")


def check_storable(obj: dict[str, Any]) -> None:
    """What storage can hold and every reader can decode: bounded nesting, 64-bit numbers, and a size under etcd's
    default request limit (kube-apiserver answers 413 when etcd refuses a large write; kubelite refuses first, the
    same on both backends)."""
    problem = serialization.document_problem(obj)
    if problem:
        raise errors.bad_request(f"the object cannot be stored: {problem}")
    size = len(serialization.dumps(obj))
    if size > MAX_OBJECT_BYTES:
        raise errors.too_large(
            f"Request entity too large: the object is {size} bytes, the limit is {MAX_OBJECT_BYTES}"
        )
