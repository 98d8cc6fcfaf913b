"""APIServices with kube-aggregator's columns (`kubectl get apiservices`: NAME SERVICE AVAILABLE AGE)."""

from __future__ import annotations

from datetime import datetime

from apiserver.printers.common import Obj, Row, age, columns, name_of

APISERVICE_COLUMNS = columns(
    """
    Name
    Service: The reference to the service that hosts this API endpoint.
    Available: Whether this service is available.
    Age
"""
)


def available(api_service: Obj) -> str:
    """`True`, or the condition's status with its reason (`False (FailedDiscoveryCheck)`), or `Unknown`."""
    for condition in (api_service.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Available":
            status = str(condition.get("status") or "Unknown")
            return status if status == "True" else f"{status} ({condition.get('reason') or ''})"
    return "Unknown"


def apiservice_row(api_service: Obj, now: datetime) -> Row:
    service = (api_service.get("spec") or {}).get("service")
    where = (
        f"{service.get('namespace', '')}/{service.get('name', '')}" if isinstance(service, dict) else "Local"
    )
    return [name_of(api_service), where, available(api_service), age(api_service, now)], None
