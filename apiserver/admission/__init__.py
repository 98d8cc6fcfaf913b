"""Admission: what a create/update/delete must pass after validation and before storage.

PROVISIONAL (issue #15): this module holds only the attributes dataclass that issue #14's admission chain defines;
the lead replaces it with #14's module at merge. Validating plugins implement
`async def validate(self, a: Attributes) -> None` and raise StatusError to refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apimachinery.resources import ResourceInfo


@dataclass
class Attributes:
    operation: str  # "CREATE" | "UPDATE" | "DELETE" | "CONNECT"
    info: ResourceInfo
    subresource: str  # "" for the main resource
    namespace: str  # "" for cluster-scoped
    name: str
    obj: dict | None
    old: dict | None
    user: Any
    dry_run: bool
    warnings: list[str] = field(default_factory=list)  # become `Warning: 299 - "..."` headers
    audit_annotations: dict[str, str] = field(default_factory=dict)
