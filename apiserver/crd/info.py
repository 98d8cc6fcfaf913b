"""The declaration of a custom resource version, made from its CustomResourceDefinition."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from apimachinery.resources import ALL_VERBS, ResourceInfo

Obj = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """One additionalPrinterColumn: a Table column whose cells are a JSONPath into the object."""

    name: str
    type: str
    json_path: str
    format: str = ""
    description: str = ""
    priority: int = 0


@dataclass(frozen=True)
class ScalePaths:
    """The scale subresource of a custom resource: where its replicas and selector are."""

    spec_replicas: str  # ".spec.replicas"
    status_replicas: str  # ".status.replicas"
    label_selector: str = ""  # ".status.selector" (a string in selector syntax), optional


@dataclass(frozen=True)
class CustomResourceInfo(ResourceInfo):
    """A served version of a custom resource. `fingerprint` changes whenever anything served changes."""

    crd: str = ""  # the CRD's name, `crontabs.stable.example.com`
    storage_version: str = ""
    fingerprint: str = ""
    schema: Obj | None = field(default=None, compare=False, hash=False)  # openAPIV3Schema, None: any object
    columns: tuple[Column, ...] = ()
    scale: ScalePaths | None = None

    @property
    def storage_prefix(self) -> str:
        """Custom resources are stored by group and plural (built-ins by plural only): `/registry/g/plural/`."""
        return f"/registry/{self.group}/{self.resource}/"


def _columns(version: Obj) -> tuple[Column, ...]:
    return tuple(
        Column(
            name=str(c.get("name") or ""),
            type=str(c.get("type") or "string"),
            json_path=str(c.get("jsonPath") or ""),
            format=str(c.get("format") or ""),
            description=str(c.get("description") or ""),
            priority=int(c.get("priority") or 0),
        )
        for c in version.get("additionalPrinterColumns") or ()
    )


def _scale(subresources: Obj) -> ScalePaths | None:
    scale = subresources.get("scale")
    if not isinstance(scale, dict):
        return None
    return ScalePaths(
        str(scale.get("specReplicasPath") or ""),
        str(scale.get("statusReplicasPath") or ""),
        str(scale.get("labelSelectorPath") or ""),
    )


def storage_version(crd: Obj) -> str:
    for version in (crd.get("spec") or {}).get("versions") or ():
        if version.get("storage"):
            return str(version.get("name") or "")
    return ""


def infos_from_crd(crd: Obj) -> tuple[CustomResourceInfo, ...]:
    """The served versions of a CRD, as declarations (the CRD is assumed valid)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    storage = storage_version(crd)
    infos = []
    for version in spec.get("versions") or ():
        if not version.get("served"):
            continue
        subresources = version.get("subresources") or {}
        subs = tuple(s for s in ("status", "scale") if isinstance(subresources.get(s), dict))
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        fingerprint = hashlib.sha256(
            json.dumps([names, spec.get("scope"), version], sort_keys=True).encode()
        ).hexdigest()[:16]
        infos.append(
            CustomResourceInfo(
                resource=str(names.get("plural") or ""),
                kind=str(names.get("kind") or ""),
                group=str(spec.get("group") or ""),
                version=str(version.get("name") or ""),
                namespaced=spec.get("scope") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=subs,
                verbs=ALL_VERBS,
                list_kind=str(names.get("listKind") or ""),
                singular_name=str(names.get("singular") or ""),
                crd=str((crd.get("metadata") or {}).get("name") or ""),
                storage_version=storage,
                fingerprint=fingerprint,
                schema=schema if isinstance(schema, dict) else None,
                columns=_columns(version),
                scale=_scale(subresources),
            )
        )
    return tuple(infos)
