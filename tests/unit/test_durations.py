import pytest

from apimachinery.durations import parse_flag_duration, parse_go_duration
from scheduler.__main__ import parse_args


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("2h45m", 9900.0),
        ("1.5h", 5400.0),
        ("500ms", 0.5),
        ("250us", 0.00025),
        ("250µs", 0.00025),
        ("10ns", 1e-8),
        ("1h0m0.5s", 3600.5),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)
    assert parse_flag_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "15", "s", "1", "1x", "1m 30s", "-1s", "1s\n", "1d", "m1"])
def test_not_go_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_go_duration(text)


def test_flag_durations_take_bare_seconds() -> None:
    assert parse_flag_duration("15") == 15.0
    assert parse_flag_duration(" 2.5 ") == 2.5
    with pytest.raises(ValueError):
        parse_flag_duration("15 s")


def test_scheduler_flags_take_any_go_duration() -> None:
    """The scheduler's own parser used to stop at one suffix: `1m30s` and `1h` were refused."""
    args = parse_args(["--leader-elect-lease-duration", "1m30s", "--leader-elect-renew-deadline", "1h"])
    assert args.leader_elect_lease_duration == 90.0
    assert args.leader_elect_renew_deadline == 3600.0
    with pytest.raises(SystemExit):
        parse_args(["--leader-elect-lease-duration", "soon"])
