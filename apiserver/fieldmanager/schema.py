"""What server-side apply needs to know of a field's type: is it atomic, and how do the elements of its list merge.

structured-merge-diff reads this from the OpenAPI extensions `x-kubernetes-list-type` (atomic | set | map),
`x-kubernetes-list-map-keys` and `x-kubernetes-map-type` (atomic); where a list declares no list type, the patch
strategy decides (`merge` with a merge key is a list-map with that one key, `merge` alone a set), as kube-openapi's
schema conversion does. The patch metadata comes from `apimachinery.patchmeta`; when its fields carry the list
type and keys (`list_type`, `map_keys`) those win. What patchmeta does not say yet, the tables below add: they are
the `x-kubernetes-map-type: atomic` types and the multi-key list-maps of Kubernetes' v1.32 schemas.

Anything without type information is treated as structured-merge-diff treats an untyped ("deduced") value: maps
merge field by field, lists are atomic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from apimachinery import patchmeta

# Types declared `x-kubernetes-map-type: atomic` (owned and replaced as a whole).
ATOMIC_TYPES = frozenset(
    {
        "LabelSelector",
        "ObjectReference",
        "LocalObjectReference",
        "TypedLocalObjectReference",
        "OwnerReference",
        "ConfigMapKeySelector",
        "SecretKeySelector",
        "ObjectFieldSelector",
        "ResourceFieldSelector",
        "NodeSelector",
        "NodeSelectorTerm",
        "TopologySelectorTerm",
        "EndpointAddress",
        "EndpointPort",
        "SecretReference",
        "CrossVersionObjectReference",
        "ScopeSelector",
        "RoleRef",
        "Subject",
    }
)
# Atomic fields of types whose field types the patch metadata may not name (struct -> fields).
ATOMIC_FIELDS: Mapping[str, frozenset[str]] = {
    "DeploymentSpec": frozenset({"selector"}),
    "ReplicaSetSpec": frozenset({"selector"}),
    "DaemonSetSpec": frozenset({"selector"}),
    "StatefulSetSpec": frozenset({"selector"}),
    "JobSpec": frozenset({"selector"}),
    "ServiceSpec": frozenset({"selector"}),
    "ReplicationControllerSpec": frozenset({"selector"}),
    "PodSpec": frozenset({"nodeSelector"}),
}
# Lists whose elements are atomic though their item type may be unnamed: (struct, field).
ATOMIC_ITEMS = frozenset({("ObjectMeta", "ownerReferences"), ("PodSpec", "imagePullSecrets")})
# List types and keys that differ from what the patch strategy implies: (struct, field) -> (list type, keys).
LISTS: Mapping[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("Container", "ports"): ("map", ("containerPort", "protocol")),
    ("ServiceSpec", "ports"): ("map", ("port", "protocol")),
    ("PodSpec", "topologySpreadConstraints"): ("map", ("topologyKey", "whenUnsatisfiable")),
    ("PodStatus", "hostIPs"): ("atomic", ()),
}
# What Go's zero value of a kind holds besides nothing: the structs held by value and the lists marshalled as null
# (no omitempty). A create is compared with that, so the creator does not own these containers themselves.
ZERO_VALUE_ROOT = ("metadata", "spec", "status")
ZERO_VALUE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "DeploymentSpec": ("selector", "template", "strategy"),
    "ReplicaSetSpec": ("selector", "template"),
    "DaemonSetSpec": ("selector", "template", "updateStrategy"),
    "StatefulSetSpec": ("selector", "template", "updateStrategy"),
    "JobSpec": ("template",),
    "PodTemplateSpec": ("metadata", "spec"),
    "PodSpec": ("containers",),
}
# Defaults of list-map keys that an element may leave out (the schema's `default`).
KEY_DEFAULTS: Mapping[str, str] = {"protocol": "TCP"}


def short(type_name: str | None) -> str:
    """`PodSpec` for `PodSpec` and for `io.k8s.api.core.v1.PodSpec`."""
    return (type_name or "").rsplit(".", 1)[-1]


@dataclass(frozen=True)
class TypeRef:
    """The type of one value. As a map: its fields and whether it is atomic; as a list: how elements merge."""

    type_name: str | None = None  # the struct (for a map) or the element type (for a list)
    atomic: bool = False  # a map (struct) owned and replaced as a whole
    list_type: str = ""  # "set" or "map"; anything else is an atomic list
    keys: tuple[str, ...] = ()  # the keys of a list-map
    item_atomic: bool = False  # the elements of a list-map are atomic
    root_kind: str | None = None  # set for the root of an object: fields come from patchmeta.root_fields
    # child() memoized on the instance: hashing the dataclass for the shared memo costs more than the walk's step
    _children: dict[str, TypeRef] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def fields(self) -> Mapping[str, patchmeta.Field]:
        if self.root_kind is not None:
            return patchmeta.root_fields(self.root_kind)
        return patchmeta.fields_of(self.type_name) if self.type_name else {}

    def child(self, name: str) -> TypeRef:
        """The type of the field `name` of this map (memoized: the walks ask it for every field of every write)."""
        found = self._children.get(name)
        if found is None:
            key = (self, name)
            found = _CHILDREN.get(key)
            if found is None:
                found = _CHILDREN[key] = self._child(name)
            self._children[name] = found
        return found

    def _child(self, name: str) -> TypeRef:
        owner = "" if self.root_kind is not None else short(self.type_name)
        f = self.fields().get(name)
        if f is None:
            return TypeRef(atomic=name in ATOMIC_FIELDS.get(owner, ()))
        return _from_field(f, owner, name)

    def item(self) -> TypeRef:
        """The type of this list's elements."""
        return _item(self)

    @property
    def associative(self) -> bool:
        return self.list_type in ("set", "map")


_CHILDREN: dict[tuple[TypeRef, str], TypeRef] = {}


def _from_field(f: patchmeta.Field, owner: str, name: str) -> TypeRef:
    list_type = str(getattr(f, "list_type", "") or "")
    keys = tuple(getattr(f, "map_keys", ()) or ())
    if (owner, name) in LISTS:
        list_type, keys = LISTS[(owner, name)]
    elif not list_type and f.merges:
        list_type = "map" if f.merge_key else "set"
    if list_type == "map" and not keys and f.merge_key:
        keys = (f.merge_key,)
    return TypeRef(
        f.type,
        atomic=short(f.type) in ATOMIC_TYPES or name in ATOMIC_FIELDS.get(owner, ()),
        list_type=list_type,
        keys=keys,
        item_atomic=(owner, name) in ATOMIC_ITEMS,
    )


@cache
def _item(t: TypeRef) -> TypeRef:
    return TypeRef(t.type_name, atomic=t.item_atomic or short(t.type_name) in ATOMIC_TYPES)


@cache
def root(kind: str) -> TypeRef:
    """The type of a whole object of `kind`."""
    return TypeRef(root_kind=kind)
