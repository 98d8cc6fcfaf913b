"""The four PATCH content types, as pure functions: bytes of a patch + the live object -> the new object.

    application/merge-patch+json            RFC 7386 JSON merge patch
    application/json-patch+json             RFC 6902 JSON patch (add, remove, replace, move, copy, test)
    application/strategic-merge-patch+json  strategic merge patch (see `apiserver.strategic`)
    application/apply-patch+yaml            server-side apply, without managedFields: the applied configuration
                                            merged into the live object with the strategic merge keys

Errors follow kube-apiserver: a body that does not decode is 400 BadRequest; a JSON patch that cannot be applied
(missing path, failed `test`, unknown op) is 422 Invalid with the generic message kubectl prints as
"The request is invalid: the server rejected our request due to an error in our request"; an unknown content
type is 415. The caller (the REST handler) handles creation for apply, preconditions and validation.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from apimachinery import serialization
from apimachinery.errors import StatusError, bad_request, too_large, unsupported_media_type
from apimachinery.serialization import json_equal
from apiserver import decoding
from apiserver.strategic import strategic_merge

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE, APPLY, STRATEGIC)

# The names that clients use for the types (kubectl --type, our client's patch_type=).
SHORT_NAMES = {"merge": MERGE, "json": JSON_PATCH, "strategic": STRATEGIC, "apply": APPLY}

_REJECTED = "the server rejected our request due to an error in our request"
# kube-apiserver's bounds on a JSON patch: operations per patch, and bytes that `copy` (and `add`) may duplicate,
# so a short patch cannot double a document a hundred times.
MAX_JSON_PATCH_OPERATIONS = 10000
MAX_JSON_PATCH_COPY_BYTES = decoding.MAX_DECODED_BYTES


def patch_type(content_type: str | None) -> str:
    """The canonical patch media type for a Content-Type header (parameters and case ignored); 415 if unknown."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/apply-patch+json":  # not registered upstream, but harmless and JSON is YAML
        media = APPLY
    if media not in PATCH_TYPES:
        raise unsupported_media_type(
            f"{content_type or ''} - accepted media types include: {', '.join(PATCH_TYPES)}"
        )
    return media


def apply_patch(
    content_type: str, original: dict[str, Any], body: bytes, *, kind: str, owned: bool = False
) -> dict[str, Any]:
    """Apply a PATCH body of `content_type` to `original` (not mutated) and return the new object.

    `kind` selects the strategic merge keys (Pod, Deployment, ...). For server-side apply of an object that does
    not exist yet, pass `original={}`. `owned`: `original` is the caller's own copy, used for nothing else (an
    update's transform gets a fresh one), which a strategic merge may then change and share instead of copying.
    """
    media = patch_type(content_type)
    if media == APPLY:
        result: Any = strategic_merge(original, parse_apply(body), kind=kind)
    elif media == JSON_PATCH:
        result = json_patch(original, _decode_json(body))
    else:
        patch = _decode_json(body)
        if media == MERGE:
            if patch is None:
                raise bad_request("invalid JSON merge patch: the patch is null")
            result = merge_patch(original, patch)
        else:
            if not isinstance(patch, dict):
                raise bad_request("invalid strategic merge patch: the patch must be a JSON object")
            result = strategic_merge(original, patch, kind=kind, copy_original=not owned)
    if not isinstance(result, dict):
        raise StatusError(422, "Invalid", f"{_REJECTED}: the patched object is not a JSON object")
    return result


def parse_apply(body: bytes) -> dict[str, Any]:
    """The applied configuration of a server-side apply body (YAML, or JSON, which is YAML)."""
    try:
        config = decoding.loads_yaml(body)
    except (decoding.DecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"error decoding YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise bad_request("error decoding YAML: the applied configuration must be an object")
    return config


def _decode_json(body: bytes) -> Any:
    try:
        return decoding.loads_json(body)
    except decoding.DecodeError as exc:
        raise bad_request(f"error decoding patch: {exc}") from exc


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 MergePatch(Target, Patch); `target` is not mutated. The result takes the patch's values as they
    are: the patch must be the caller's own (apply_patch decodes it for this one merge)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


# --- RFC 6902 -------------------------------------------------------------------------------------------------


class _PatchFailed(Exception):
    """A JSON patch operation that cannot be applied (422)."""


def json_patch(document: Any, operations: Any) -> Any:
    """Apply RFC 6902 `operations` to a copy of `document`. 400 if not a list of objects, 422 if one fails."""
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise bad_request("invalid JSON patch: the patch must be a JSON array of operation objects")
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise too_large(
            f"The allowed count of operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, "
            f"but the JSON patch has {len(operations)} operations"
        )
    doc = copy.deepcopy(document)
    copied = 0
    for index, op in enumerate(operations):
        if op.get("op") == "copy":
            try:
                copied += len(serialization.dumps(_get(doc, _pointer(op.get("from")))))
            except _PatchFailed:
                pass  # reported by the operation itself below
            if copied > MAX_JSON_PATCH_COPY_BYTES:
                raise too_large(
                    f"Unable to apply the JSON patch: its copy operations would duplicate more than "
                    f"{MAX_JSON_PATCH_COPY_BYTES} bytes"
                )
        try:
            doc = _apply_operation(doc, op)
        except _PatchFailed as exc:
            # kubectl prints each cause as "field: message"; the field of a JSON patch is the op's path.
            cause = {
                "reason": "FieldValueInvalid",
                "field": str(op.get("path", "")),
                "message": f"{exc} (op {index})",
            }
            raise StatusError(422, "Invalid", _REJECTED, details={"causes": [cause]}) from exc
    return doc


def _member(op: dict[str, Any], name: str) -> Any:
    if name not in op:
        raise _PatchFailed(f"{op.get('op')!s} operation is missing {name!r}")
    return op[name]


def _apply_operation(doc: Any, op: dict[str, Any]) -> Any:
    kind = op.get("op")
    path = _member(op, "path")
    if kind == "add":
        return _add(doc, _pointer(path), copy.deepcopy(_member(op, "value")))
    if kind == "remove":
        return _remove(doc, _pointer(path))[0]
    if kind == "replace":
        tokens = _pointer(path)
        value = copy.deepcopy(_member(op, "value"))
        if not tokens:
            return value
        parent, last = _parent(doc, tokens)
        if isinstance(parent, list):
            parent[_index(parent, last, existing=True)] = value
        else:
            # Stricter RFC 6902 fails on a missing member; kube-apiserver's JSON patch library (evanphx v4) sets it,
            # and kubectl depends on that: `rollout undo` replaces /metadata/annotations, absent or not.
            parent[last] = value
        return doc
    if kind == "move":
        source, target = _pointer(_member(op, "from")), _pointer(path)
        if source == target:
            return doc
        if target[: len(source)] == source:
            raise _PatchFailed(f"cannot move {op['from']!r} into its own child {path!r}")
        doc, value = _remove(doc, source)
        return _add(doc, target, value)
    if kind == "copy":
        value = _get(doc, _pointer(_member(op, "from")))
        return _add(doc, _pointer(path), copy.deepcopy(value))
    if kind == "test":
        actual = _get(doc, _pointer(path))
        if not json_equal(actual, _member(op, "value")):
            raise _PatchFailed(f"test failed: the value is {json.dumps(actual)}")
        return doc
    raise _PatchFailed(f"unexpected kind of operation: {kind!r}")


def _pointer(path: Any) -> list[str]:
    """RFC 6901 JSON pointer -> reference tokens (`~1` is `/`, `~0` is `~`)."""
    if not isinstance(path, str):
        raise _PatchFailed(f"path {path!r} is not a string")
    if path == "":
        return []
    if not path.startswith("/"):
        raise _PatchFailed(f"path {path!r} does not start with '/'")
    tokens = []
    for raw in path[1:].split("/"):
        if "~" in raw.replace("~0", "").replace("~1", ""):
            raise _PatchFailed(f"path {path!r} has an invalid '~' escape")
        tokens.append(raw.replace("~1", "/").replace("~0", "~"))
    return tokens


def _index(container: list[Any], token: str, *, existing: bool) -> int:
    if token == "-" and not existing:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise _PatchFailed(f"invalid array index {token!r}")
    index = int(token)
    limit = len(container) - 1 if existing else len(container)
    if index > limit:
        raise _PatchFailed(f"array index {index} out of bounds")
    return index


def _locate(container: Any, token: str, *, existing: bool) -> Any:
    if isinstance(container, dict):
        if existing and token not in container:
            raise _PatchFailed(f"missing key {token!r}")
        return container.get(token)
    if isinstance(container, list):
        return container[_index(container, token, existing=True)] if existing else None
    raise _PatchFailed(f"cannot traverse into a {type(container).__name__} at {token!r}")


def _get(doc: Any, tokens: list[str]) -> Any:
    for token in tokens:
        doc = _locate(doc, token, existing=True)
    return doc


def _parent(doc: Any, tokens: list[str]) -> tuple[Any, str]:
    parent = _get(doc, tokens[:-1])
    if not isinstance(parent, dict | list):
        raise _PatchFailed(f"the parent of /{'/'.join(tokens)} is not an object or array")
    return parent, tokens[-1]


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent, last = _parent(doc, tokens)
    if isinstance(parent, list):
        parent.insert(_index(parent, last, existing=False), value)
    else:
        parent[last] = value
    return doc


def _remove(doc: Any, tokens: list[str]) -> tuple[Any, Any]:
    if not tokens:
        raise _PatchFailed("cannot remove the whole document")
    parent, last = _parent(doc, tokens)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, existing=True))
    if last not in parent:
        raise _PatchFailed(f"missing key {last!r}")
    return doc, parent.pop(last)
