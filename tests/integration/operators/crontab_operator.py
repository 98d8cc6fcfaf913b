"""A small kopf operator for the CronTab custom resource of the tests (run by test_kopf.py as `kopf run`).

It records what it saw in the object's status, so the test can tell that each handler ran against kubelite:
created (with the schedule, and an Event), updated (with the new image), and deleted (a log line, before kopf
removes its finalizer).
"""

from __future__ import annotations

import os
from typing import Any

import kopf

GROUP = os.environ["CRONTAB_GROUP"]


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.watching.server_timeout = 30
    settings.peering.priority = 100


@kopf.on.create(GROUP, "v1", "crontabs")
def created(body: kopf.Body, spec: dict[str, Any], patch: kopf.Patch, **_: Any) -> dict[str, Any]:
    patch.status["schedule"] = spec.get("cronSpec")
    kopf.info(body, reason="Scheduled", message=f"runs at {spec.get('cronSpec')}")  # a v1 Event
    return {"replicas": spec.get("replicas")}  # kopf stores it as status.created


@kopf.on.update(GROUP, "v1", "crontabs", field="spec.image")
def image_changed(old: Any, new: Any, patch: kopf.Patch, **_: Any) -> None:
    patch.status["image"] = new


@kopf.on.delete(GROUP, "v1", "crontabs")
def deleted(name: str, logger: Any, **_: Any) -> None:
    logger.info(f"crontab {name} is going")
