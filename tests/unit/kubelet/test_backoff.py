from kubelet.backoff import CrashLoopBackoff


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_first_restart_is_immediate_then_delays_double_to_the_cap() -> None:
    clock = Clock()
    b = CrashLoopBackoff(initial=10, cap=40, reset_after=600, clock=clock)
    key = ("uid", "c")
    assert b.remaining(key, since=clock.now) == 0  # never failed: restart at once
    delays = [b.next(key) for _ in range(5)]
    assert delays == [10, 20, 40, 40, 40]


def test_remaining_counts_from_when_the_container_finished() -> None:
    clock = Clock()
    b = CrashLoopBackoff(initial=10, cap=300, clock=clock)
    key = ("uid", "c")
    b.next(key)  # first restart recorded: the next one waits 10 s after the container exits
    finished = clock.now + 2
    clock.now += 5
    assert b.remaining(key, since=finished) == 7
    clock.now = finished + 10
    assert b.remaining(key, since=finished) == 0
    assert b.delay(key) == 10


def test_reset_after_ten_quiet_minutes() -> None:
    clock = Clock()
    b = CrashLoopBackoff(initial=10, cap=300, reset_after=600, clock=clock)
    key = ("uid", "c")
    for _ in range(4):
        b.next(key)
    assert b.delay(key) == 80
    clock.now += 601
    assert b.remaining(key, since=clock.now) == 0
    assert b.next(key) == 10


def test_forget_prefix_drops_a_pods_keys() -> None:
    b = CrashLoopBackoff()
    b.next(("u1", "a"))
    b.next(("u1", "b"))
    b.next(("u2", "a"))
    b.forget_prefix("u1")
    assert b.delay(("u1", "a")) == 0 and b.delay(("u1", "b")) == 0 and b.delay(("u2", "a")) == 10
