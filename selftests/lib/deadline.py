"""Deadlines and polling: wait for a condition, never sleep blindly.

    wait_until(lambda: stats()["stamped_in"] > 0, 3, "a stamped accept")
    v = poll(lambda: read_value(), 2)      # None if it never became truthy
"""
import os
import time

# How much slower than a stock kernel under TCG this one runs (the
# harness's per-kernel SCALE; 4 for the KASAN/lockdep debug kernel):
# multiply waits and timing slack by it, never the values under test.
SCALE = float(os.environ.get("TCPTIMEO_TIME_SCALE", "1") or 1)


class Deadline:
    def __init__(self, seconds):
        self.start = time.monotonic()
        self.end = self.start + seconds

    def remaining(self):
        return max(0.0, self.end - time.monotonic())

    def expired(self):
        return time.monotonic() >= self.end

    def elapsed(self):
        return time.monotonic() - self.start


def poll(pred, timeout, interval=0.05):
    """Call pred() until it returns something truthy or timeout passes.

    Returns that value, or the last (falsy) value on timeout.
    """
    d = Deadline(timeout)
    while True:
        v = pred()
        if v or d.expired():
            return v
        time.sleep(min(interval, d.remaining()) or 0.001)


def wait_until(pred, timeout, what="condition", interval=0.05):
    """Like poll(), but raise TimeoutError naming `what` on timeout."""
    v = poll(pred, timeout, interval)
    if not v:
        raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
    return v


def sleep_until(t):
    """Sleep until monotonic time t (used to hold a measured limit)."""
    while True:
        left = t - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.5))
