"""Server-side apply and field ownership: who manages which field of an object, kept in `metadata.managedFields`.

Two operations, as kube-apiserver's field manager (k8s.io/apimachinery/pkg/util/managedfields/internal):

    update(live, new, manager)          any write that is not an apply (create, PUT, the other patches): the
                                        manager takes the fields it changed, from whoever had them, and keeps the
                                        ones it had that are still there; an Update entry per manager and version
    apply(live, config, manager, force) server-side apply: the configuration is merged into the object; its
                                        fields become the manager's Apply set; fields the manager applied before
                                        and no longer applies are removed unless another manager owns them; a
                                        change to a field another manager owns is a 409 Conflict unless `force`

Around the structured merge, as upstream: the object's own metadata (name, uid, resourceVersion, ...) belongs to
nobody; with a status subresource the main resource's writes do not own status; an object that has no managed
fields is not tracked by updates until it is first applied, when its fields go to "before-first-apply"; at most
ten Update managers are kept. For the manager `kubectl` (kubectl apply --server-side), conflicts with fields whose
values still match the last-applied-configuration annotation are not conflicts (the migration from client-side
apply), and that annotation is kept in step with what was applied.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from apimachinery import errors, fieldpath
from apimachinery.fieldpath import FieldSet, Path
from apimachinery.serialization import dumps_go, json_equal
from apimachinery.timefmt import now_rfc3339
from apiserver.fieldmanager import managed as mf
from apiserver.fieldmanager import schema, typed
from apiserver.fieldmanager.typed import MISSING, SchemaError

Obj = dict[str, Any]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL = "kubectl"
BEFORE_FIRST_APPLY = "before-first-apply"
MAX_ANNOTATIONS_BYTES = 256 * 1024
# The object's own metadata, owned by no manager (stripmeta.go).
STRIPPED: frozenset[Path] = frozenset(
    {fieldpath.path("apiVersion"), fieldpath.path("kind"), fieldpath.path("metadata")}
    | {
        fieldpath.path("metadata", name)
        for name in (
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion",
        )
    }
)
STATUS = fieldpath.path("status")


class Conflicts(Exception):
    """Fields the apply would change that other managers own: (manager identity, path) pairs."""

    def __init__(self, conflicts: list[tuple[mf.Identity, Path]]) -> None:
        super().__init__(f"{len(conflicts)} conflicts")
        self.conflicts = conflicts

    def status_error(self) -> errors.StatusError:
        """internal.NewConflictError: one FieldManagerConflict cause per field, and the summary message."""
        causes = [
            {
                "reason": "FieldManagerConflict",
                "message": f"conflict with {describe(who)}",
                "field": fieldpath.path_string(p),
            }
            for who, p in self.conflicts
        ]
        if len(self.conflicts) == 1:
            who, p = self.conflicts[0]
            message = (
                f"Apply failed with 1 conflict: conflict with {describe(who)}: {fieldpath.path_string(p)}"
            )
        else:
            lines = []
            for who in sorted({w for w, _ in self.conflicts}, key=_identity_json):
                lines.append(f"conflicts with {describe(who)}:")
                lines += [f"- {fieldpath.path_string(p)}" for w, p in self.conflicts if w == who]
            message = f"Apply failed with {len(self.conflicts)} conflicts: " + "\n".join(lines)
        return errors.apply_conflict(causes, message)


def describe(who: mf.Identity) -> str:
    """printManager: `"kubectl-client-side-apply" using apps/v1`, `"kubelet" with subresource "status" ...`."""
    manager, operation, api_version, subresource = who
    text = errors.go_quote(manager)
    if subresource:
        text += f" with subresource {errors.go_quote(subresource)}"
    if operation == mf.UPDATE:
        text += f" using {api_version}"
    return text


def _identity_json(who: mf.Identity) -> str:
    """The order upstream sorts managers in: by their JSON identifier."""
    manager, operation, api_version, subresource = who
    raw: dict[str, str] = {"manager": manager, "operation": operation}
    if api_version:
        raw["apiVersion"] = api_version
    if subresource:
        raw["subresource"] = subresource
    return json.dumps(raw, separators=(",", ":"))


def now() -> str:
    return now_rfc3339()


@dataclass
class FieldManager:
    """Field ownership for one kind at one API version, for writes to the object or to one of its subresources."""

    kind: str
    api_version: str
    subresource: str = ""
    status_subresource: bool = False  # writes to the main resource do not own status (the reset fields)

    @property
    def _type(self) -> schema.TypeRef:
        return schema.root(self.kind)

    @property
    def _ignored(self) -> Path | None:
        return STATUS if self.status_subresource and not self.subresource else None

    # ---- update ----------------------------------------------------------------------------------------------

    def update(self, live: Obj | None, new: Obj, manager: str) -> None:
        """Record a non-apply write of `new` over `live` (None on create) by `manager`: sets
        new.metadata.managedFields. A write the field manager cannot follow keeps the live managed fields."""
        md = new.setdefault("metadata", {})
        managed = self._live_or_new(live, md.get("managedFields"))
        md.pop("managedFields", None)
        live_exists = live is not None and bool((live.get("metadata") or {}).get("uid"))
        if not managed and live_exists:
            return  # not tracked until the first apply (skipnonapplied.go)
        try:
            self._update(managed, live, new, manager)
        except SchemaError:
            managed = self._live_or_new(live, None)
        mf.cap_updates(managed)
        _set_managed(new, managed)

    def _update(self, managed: mf.Managed, live: Obj | None, new: Obj, manager: str) -> None:
        old = _strip(live) if live is not None else self._zero(new)
        cmp = typed.compare(old, _strip(new), self._type).without(self._ignored)
        self._take(managed, cmp, exclude=None)
        changed = (cmp.modified | cmp.added) - STRIPPED
        who = mf.identity(manager, mf.UPDATE, self.api_version, self.subresource)
        entry = managed.get(who)
        if not changed:
            return
        if entry is None:
            entry = mf.Entry(who[0], mf.UPDATE, self.api_version, set(), subresource=self.subresource)
            managed[who] = entry
        entry.fields |= changed
        entry.time = now()

    def _take(self, managed: mf.Managed, cmp: typed.Comparison, exclude: mf.Identity | None) -> None:
        """Every other manager loses what the write changed or removed (the conflicts of a forced write)."""
        taken = cmp.modified | cmp.added | cmp.removed
        for who in list(managed):
            if who == exclude:
                continue
            managed[who].fields -= taken
            if not managed[who].fields:
                del managed[who]

    def _live_or_new(self, live: Obj | None, sent: Any) -> mf.Managed:
        """decodeLiveOrNew: the managed fields a client sent win (`[{}]` clears them), unless they are empty or
        malformed, or the write is to a subresource; then the live object's."""
        if not self.subresource and sent is not None:
            if mf.is_reset(sent):
                return {}
            try:
                decoded = mf.decode(sent)
            except ValueError:
                decoded = {}
            if decoded:
                return decoded
        try:
            return mf.decode(((live or {}).get("metadata") or {}).get("managedFields"))
        except ValueError:
            return {}

    def _zero(self, new: Obj) -> Obj:
        """The empty object a create is compared with: what Go's zero value of the kind holds (the structs held
        by value and the required lists), so that creating them does not own the containers themselves."""
        return _zero_of(new, self._type, root=True)

    # ---- apply -----------------------------------------------------------------------------------------------

    def apply(self, live: Obj | None, config: Obj, manager: str, *, force: bool) -> Obj:
        """The object after applying `config` by `manager` (live is None on create), with its managed fields.
        Raises Conflicts, or StatusError 400 for a configuration its schema does not allow."""
        if (config.get("metadata") or {}).get("managedFields") is not None:
            raise errors.bad_request("metadata.managedFields must be nil")
        try:
            typed.to_field_set(config, self._type, strict=True)  # duplicates and missing keys are errors here
            return self._apply_tracking_last_applied(copy.deepcopy(live or {}), config, manager, force)
        except SchemaError as exc:
            raise errors.bad_request(f"failed to create typed patch object: {exc}") from None

    def _apply_tracking_last_applied(self, live: Obj, config: Obj, manager: str, force: bool) -> Obj:
        try:
            result = self._apply(live, config, manager, force)
        except Conflicts as conflicts:
            # lastappliedmanager.go: kubectl's first server-side apply of an object it applied client-side may
            # take the fields whose values are still the last-applied ones.
            if manager != KUBECTL:
                raise
            allowed = self._last_applied_fields(live)
            if allowed is None:
                raise
            left = [(who, p) for who, p in conflicts.conflicts if p not in allowed]
            if left:
                raise Conflicts(left) from None
            result = self._apply(live, config, manager, True)
        if manager == KUBECTL:
            _update_last_applied(result, config)
        return result

    def _apply(self, live: Obj, config: Obj, manager: str, force: bool) -> Obj:
        managed = self._live_or_new(live, None)
        live = _strip_managed(live)
        if not managed and live:
            self._update(managed, None, live, BEFORE_FIRST_APPLY)
        merged = typed.merge(live, config, self._type)
        merged = {} if merged is MISSING else merged
        who = mf.identity(manager, mf.APPLY, "", self.subresource)
        previous = managed.get(who)
        applied = typed.to_field_set(config, self._type)
        if self._ignored is not None:
            applied = fieldpath.recursive_difference(applied, {self._ignored})
        entry = mf.Entry(who[0], mf.APPLY, self.api_version, applied, subresource=self.subresource)
        entry.time = previous.time if previous else None
        managed[who] = entry
        if previous is not None:
            merged = self._prune(merged, managed, previous.fields)
        cmp = typed.compare(_strip(live), _strip(merged), self._type).without(self._ignored)
        conflicts = [
            (other, p)
            for other, e in sorted(managed.items(), key=lambda item: _identity_json(item[0]))
            if other != who
            for p in _iterate(e.fields & (cmp.modified | cmp.added))
        ]
        if conflicts and not force:
            raise Conflicts(conflicts)
        self._take(managed, cmp, exclude=who)
        entry.fields -= STRIPPED
        if not json_equal(merged, live):
            entry.time = now()
        _set_managed(merged, managed)
        return merged

    def _prune(self, merged: Obj, managed: mf.Managed, last: FieldSet) -> Obj:
        """Remove what the manager applied last time and no longer does, unless another manager owns it
        (Updater.prune with addBackOwnedItems and addBackDanglingItems)."""
        t = self._type
        owned: FieldSet = set()
        for e in managed.values():
            owned |= e.fields
        last_named = typed.ensure_named_fields(last)
        pruned = _or_empty(typed.remove_items(merged, last_named, t))
        merged_set = typed.ensure_named_fields(typed.to_field_set(merged, t))
        pruned_set = typed.ensure_named_fields(typed.to_field_set(pruned, t))
        removed = merged_set - (pruned_set | typed.ensure_named_fields(owned))
        pruned = _or_empty(typed.remove_items(merged, removed, t))
        pruned_set = typed.ensure_named_fields(typed.to_field_set(pruned, t))
        dangling = (merged_set - pruned_set) & last_named
        return _or_empty(typed.remove_items(merged, dangling, t))

    def _last_applied_fields(self, live: Obj) -> FieldSet | None:
        """The fields of the last-applied-configuration whose values the object still has; None without one."""
        text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
        if not text:
            return None
        try:
            last = json.loads(text)
        except ValueError:
            return None
        if not isinstance(last, dict) or last.get("apiVersion") != self.api_version:
            return None
        t = self._type
        fields = typed.to_field_set(last, t)
        cmp = typed.compare(last, _strip_managed(live), t)
        return fields - cmp.modified - cmp.added - cmp.removed


def _iterate(paths: FieldSet) -> list[Path]:
    """A set's paths in the order structured-merge-diff iterates them (members before children, sorted)."""
    return sorted(
        paths, key=lambda p: [(1, fieldpath.sort_key(pe)) for pe in p[:-1]] + [(0, fieldpath.sort_key(p[-1]))]
    )


def _or_empty(v: Any) -> Obj:
    return {} if v is MISSING else v


def _strip_managed(obj: Obj) -> Obj:
    """A shallow copy without metadata.managedFields."""
    md = obj.get("metadata")
    if not isinstance(md, dict) or "managedFields" not in md:
        return obj
    out = dict(obj)
    out["metadata"] = {k: v for k, v in md.items() if k != "managedFields"}
    return out


def _strip(obj: Obj) -> Obj:
    """What the comparison looks at: the object without its managed fields."""
    return _strip_managed(obj)


def _set_managed(obj: Obj, managed: mf.Managed) -> None:
    md = obj.setdefault("metadata", {})
    md.pop("managedFields", None)
    encoded = mf.encode(managed)
    if encoded is not None:
        md["managedFields"] = encoded  # last, where ObjectMeta declares it


def _update_last_applied(obj: Obj, config: Obj) -> None:
    """lastappliedupdater.go: an object that has the annotation gets the applied configuration in it."""
    annotations = (obj.get("metadata") or {}).get("annotations")
    if not annotations or not annotations.get(LAST_APPLIED):
        return
    clean = copy.deepcopy(config)
    clean_annotations = (clean.get("metadata") or {}).get("annotations")
    if isinstance(clean_annotations, dict):
        clean_annotations.pop(LAST_APPLIED, None)
    annotations[LAST_APPLIED] = dumps_go(clean, sort_keys=True).decode()
    size = sum(len(k) + len(v) for k, v in annotations.items() if isinstance(v, str))
    if size > MAX_ANNOTATIONS_BYTES:
        del annotations[LAST_APPLIED]


def _zero_of(new: Any, t: schema.TypeRef, *, root: bool = False) -> Any:
    held = schema.ZERO_VALUE_ROOT if root else schema.ZERO_VALUE_FIELDS.get(schema.short(t.type_name), ())
    out: Obj = {}
    for name in held:
        value = new.get(name) if isinstance(new, dict) else None
        if isinstance(value, dict):
            out[name] = _zero_of(value, t.child(name))
        elif isinstance(value, list):
            out[name] = None
    return out
