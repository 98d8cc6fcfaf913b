"""The resources this apiserver serves: the built-in ones (apimachinery.resources) and, beside them, the custom
resources of the established CustomResourceDefinitions, which come and go at run time.

Request routing, discovery and the OpenAPI documents all read this one table. Every change bumps `generation`,
which is what the discovery and OpenAPI caches key on, so a new CRD shows in both as soon as it is established.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from apimachinery.resources import RESOURCES, ResourceInfo

_KUBE_VERSION = re.compile(r"v(\d+)(?:(alpha|beta)(\d+))?")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """A sort key that puts the preferred version first, as Kubernetes orders versions: GA before beta before
    alpha, a higher number first, then versions that do not look like Kubernetes ones, by name."""
    match = _KUBE_VERSION.fullmatch(version)
    if match is None:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0), "")


class ResourceTable:
    def __init__(self, builtins: Iterable[ResourceInfo] = RESOURCES) -> None:
        self._builtins = tuple(builtins)
        self._custom: dict[str, tuple[ResourceInfo, ...]] = {}  # by the name of their CRD
        self.generation = 0
        self._rebuild()

    def _rebuild(self) -> None:
        custom = sorted(
            (info for infos in self._custom.values() for info in infos),
            key=lambda i: (i.group, version_priority(i.version), i.resource),
        )
        self._all: tuple[ResourceInfo, ...] = self._builtins + tuple(custom)
        self._by_path = {(i.group, i.version, i.resource): i for i in self._all}
        groups: list[tuple[str, str]] = []
        for info in self._all:
            if (info.group, info.version) not in groups:
                groups.append((info.group, info.version))
        self._groups = groups
        self.generation += 1

    # ---- reading -------------------------------------------------------------------------------------------

    def all(self) -> tuple[ResourceInfo, ...]:
        return self._all

    def lookup(self, group: str, version: str, resource: str) -> ResourceInfo | None:
        """The resource served at /apis/{group}/{version}/{resource} (/api/v1/{resource} for core), or None."""
        return self._by_path.get((group, version, resource))

    def groups(self) -> list[tuple[str, str]]:
        """(group, version) pairs in discovery order: core, the built-in groups, then custom ones by name, each
        group's versions from the preferred one down."""
        return list(self._groups)

    def versions(self, group: str) -> list[str]:
        return [v for g, v in self._groups if g == group]

    def in_group_version(self, group: str, version: str) -> list[ResourceInfo]:
        return [i for i in self._all if i.group == group and i.version == version]

    def custom(self, crd_name: str) -> tuple[ResourceInfo, ...]:
        return self._custom.get(crd_name, ())

    # ---- custom resources ------------------------------------------------------------------------------------

    def set_custom(self, crd_name: str, infos: Iterable[ResourceInfo]) -> None:
        """Serve the versions of one CRD (replacing what it served before)."""
        infos = tuple(infos)
        if self._custom.get(crd_name) == infos:
            return
        self._custom[crd_name] = infos
        self._rebuild()

    def remove_custom(self, crd_name: str) -> None:
        if self._custom.pop(crd_name, None) is not None:
            self._rebuild()
