"""Decoding untrusted JSON and YAML bodies (objects, patches, apply configurations) within limits.

Every body the API server reads comes through here, so the limits hold for all of them:

* nesting depth (`serialization.MAX_DEPTH`): deeper input is refused before a parser can recurse on it;
* YAML aliases: the composer counts the nodes each anchor expands to, and a document whose aliases expand to
  many times its own size is refused ("document contains excessive aliasing", go-yaml's words) before anything
  is built, so a 242-byte alias bomb never becomes megabytes; what expands legitimately must still fit the
  request size limit once encoded;
* integers outside 64 bits and non-finite floats, which no Kubernetes field can hold.

Failures are `DecodeError` (a ValueError); callers turn them into a 400 Status.
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml

from apimachinery import serialization

MAX_DECODED_BYTES = 3 * 1024 * 1024  # what an alias-expanded YAML document may grow to (the body limit)
_ALIAS_RATIO = 10  # expanded nodes per node written, at most
_ALIAS_FLOOR = 10_000  # expansions always allowed (a few anchors in a manifest)


class DecodeError(ValueError):
    """A body that is not acceptable JSON or YAML; the message says why."""


def loads_json(body: bytes | str) -> Any:
    data = body or b"null"
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        pass  # what orjson refuses, serialization.loads decides (and _check below)
    else:
        # orjson yields only 64-bit integers and finite floats, so depth is all that is left to check; a
        # document with no more brackets than the depth limit cannot be nested deeper (the common case,
        # decided without walking the object).
        if isinstance(data, str):
            brackets = data.count("{") + data.count("[")
        else:
            brackets = data.count(b"{") + data.count(b"[")
        if brackets > serialization.MAX_DEPTH:
            _check(value)
        return value
    try:
        value = serialization.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(str(exc)) from None
    _check(value)
    return value


def loads_yaml(body: bytes | str, max_bytes: int = MAX_DECODED_BYTES) -> Any:
    text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
    loader = _BoundedLoader(text)
    try:
        value = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise DecodeError(str(exc)) from None
    except RecursionError:
        raise DecodeError(f"the document is nested more than {serialization.MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()
    _check(value)
    try:
        serialization.refuse_surrogates(value)
    except ValueError as exc:
        raise DecodeError(str(exc)) from None
    if loader.expanded > loader.composed and len(serialization.dumps(value)) > max_bytes:
        raise DecodeError(f"the document expands to more than {max_bytes} bytes")
    return value


def _check(value: Any) -> None:
    problem = serialization.document_problem(value)
    if problem:
        raise DecodeError(problem)


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a depth limit and an alias budget, both enforced while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.composed = 0  # nodes written in the document
        self.expanded = 0  # nodes after alias expansion
        self._weights: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            anchor = self.peek_event().anchor
            node = self.anchors.get(anchor)
            if node is not None:
                self.expanded += self._weights.get(id(node), 1)
                if self.expanded > max(_ALIAS_FLOOR, _ALIAS_RATIO * self.composed):
                    raise yaml.YAMLError("document contains excessive aliasing")
            return super().compose_node(parent, index)
        self.depth += 1
        if self.depth > serialization.MAX_DEPTH:
            raise yaml.YAMLError(f"the document is nested more than {serialization.MAX_DEPTH} levels deep")
        start = self.expanded
        node = super().compose_node(parent, index)
        self.depth -= 1
        self.composed += 1
        self.expanded += 1
        self._weights[id(node)] = self.expanded - start
        return node
