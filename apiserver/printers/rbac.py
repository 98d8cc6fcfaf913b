"""RBAC roles and bindings, and ServiceAccounts (as kube-apiserver prints them)."""

from __future__ import annotations

from datetime import datetime

from apiserver.printers.common import DEFAULT_COLUMNS, Obj, Row, age, columns, default_row, name_of

ROLE_COLUMNS = DEFAULT_COLUMNS
role_row = default_row

BINDING_COLUMNS = columns(
    """
    Name
    Role: Role references the role that this binding refers to.
    Age
    Users [wide]: Users in the binding
    Groups [wide]: Groups in the binding
    ServiceAccounts [wide]: ServiceAccounts in the binding
"""
)

SERVICE_ACCOUNT_COLUMNS = columns(
    """
    Name
    Secrets [integer]: Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.
    Age
"""
)


def binding_row(obj: Obj, now: datetime) -> Row:
    ref = obj.get("roleRef") or {}
    users, groups, accounts = [], [], []
    for subject in obj.get("subjects") or []:
        kind, name = subject.get("kind"), subject.get("name", "")
        if kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
        elif kind == "ServiceAccount":
            accounts.append(f"{subject.get('namespace', '')}/{name}")
    role = f"{ref.get('kind', '')}/{ref.get('name', '')}"
    return [name_of(obj), role, age(obj, now), ", ".join(users), ", ".join(groups), ", ".join(accounts)], None


def service_account_row(obj: Obj, now: datetime) -> Row:
    return [name_of(obj), len(obj.get("secrets") or []), age(obj, now)], None
