"""CronJob schedules: parse, validate, and step through the times they name (in a time zone).

Accepted, as Kubernetes' `cron.ParseStandard` accepts them: five fields (minute hour day-of-month month
day-of-week, with lists, ranges, steps, names and `?`), the macros `@yearly`/`@annually`, `@monthly`,
`@weekly`, `@daily`/`@midnight`, `@hourly`, and `@every <duration>` (a Go duration of at least one second).
The five-field grammar is croniter's; we only refuse what Kubernetes refuses (six fields, `TZ=` prefixes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from apimachinery.durations import parse_go_duration

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class ScheduleError(ValueError):
    """A schedule or time zone Kubernetes would not accept."""


def _go_duration(text: str) -> float:
    try:
        return parse_go_duration(text)
    except ValueError:
        raise ScheduleError(f"failed to parse duration @every {text}: invalid duration") from None


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: `next(t)` is the first activation strictly after `t` (an aware datetime)."""

    expression: str  # five fields, or "" for @every
    every: float = 0.0  # seconds, for @every

    def next(self, after: datetime) -> datetime:
        if self.every:
            # robfig/cron's ConstantDelaySchedule: whole seconds, counted from `after` rounded down.
            return after.replace(microsecond=0) + timedelta(seconds=self.every)
        return croniter(self.expression, after).get_next(datetime)  # type: ignore[no-any-return]

    def previous(self, at: datetime) -> datetime:
        """The last activation at or before `at` (five-field schedules only)."""
        # Activations fall on whole minutes, and croniter looks strictly before its base: start just after `at`.
        base = at.replace(microsecond=0) + timedelta(seconds=1)
        found: datetime = croniter(self.expression, base).get_prev(datetime)
        return found.replace(fold=0)


def parse(schedule: str) -> Schedule:
    """The Schedule for a CronJob's `spec.schedule`; ScheduleError naming the problem when it is invalid."""
    text = schedule.strip()
    if not text:
        raise ScheduleError("empty spec string")
    if text.startswith(("TZ=", "CRON_TZ=")):
        raise ScheduleError("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
    if text.startswith("@every "):
        seconds = _go_duration(text.removeprefix("@every ").strip())
        if seconds < 1:
            raise ScheduleError("@every duration must be at least 1 second")
        return Schedule("", every=float(int(seconds)))
    if text.startswith("@"):
        if text not in MACROS:
            raise ScheduleError(f"unrecognized descriptor: {text}")
        return Schedule(MACROS[text])
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: {text}")
    if not croniter.is_valid(text):
        raise ScheduleError(f"invalid schedule: {text}")
    return Schedule(" ".join(fields))


def time_zone(name: str | None) -> tzinfo:
    """The zone of `spec.timeZone` (None: UTC, the controller-manager's zone here); ScheduleError if unknown."""
    if not name:
        return UTC
    if name.startswith(("/", ".")) or ".." in name or name.lower() == "local":
        raise ScheduleError(f"unknown time zone {name}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone {name}") from exc


def most_recent(
    schedule: Schedule, earliest: datetime, now: datetime, zone: tzinfo, limit: int = 100
) -> tuple[datetime | None, int]:
    """(the latest activation t with earliest < t <= now, how many activations fell in that window).

    Times are evaluated in `zone` and returned in it. The count stops a little above `limit` (Kubernetes warns
    past 100 missed start times; counting further would cost time and tell nothing).
    """
    if schedule.every:
        start = earliest.astimezone(zone).replace(microsecond=0)
        steps = int((now - start).total_seconds() // schedule.every)
        if steps < 1:
            return None, 0
        return start + timedelta(seconds=steps * schedule.every), steps
    t = schedule.next(earliest.astimezone(zone))
    if t > now:
        return None, 0
    count, last = 0, t
    while t <= now and count <= limit:
        last = t
        count += 1
        t = schedule.next(t)
    if count > limit:
        last = schedule.previous(now.astimezone(zone))
    return last, count
