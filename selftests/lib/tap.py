"""TAP (kselftest style) for the tcptimeo selftests.

    from tap import Tap
    t = Tap(plan=3)
    t.ok(x == 1, "x is one", diag=f"x = {x}")
    t.skip("needs setpriv", "not installed")
    t.diag("measured 5.1 s")
    t.exit()

`Tap.run(main, plan)` runs a test body and turns an unexpected exception
into `not ok` points for whatever the plan still expects, so the runner
always sees the plan completed and a failure it can point at. A missing
prerequisite is a skip, never a pass or a failure: run as a user other
than root, or `raise Skip(why)` before the first point (ttmod.load does
when there is no module to load), and the test skips what it planned
with that reason and exits 4 (KSFT_SKIP), as kselftest's runner expects.
Raised after some points, the rest of the plan is skipped and the exit
status is that of the points that ran.
"""
import os
import sys
import traceback

KSFT_SKIP = 4


class Skip(Exception):
    """A prerequisite is missing: the whole test is skipped (Tap.run)."""


class Tap:
    def __init__(self, plan=None):
        sys.stdout.reconfigure(line_buffering=True)
        self.n = 0
        self.failed = 0
        self.planned = None
        print("TAP version 13")
        if plan is not None:
            self.plan(plan)

    def plan(self, n):
        if self.planned is not None:
            raise RuntimeError("plan given twice")
        self.planned = n
        print(f"1..{n}")

    @staticmethod
    def _clean(text):
        return " ".join(str(text).split()).replace("#", "\\#")

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            print(f"# {line}")

    def ok(self, cond, desc, diag=None):
        """One test point; `diag` (string or callable) is printed on failure."""
        self.n += 1
        cond = bool(cond)
        if not cond:
            self.failed += 1
        print(f"{'ok' if cond else 'not ok'} {self.n} - {self._clean(desc)}")
        if not cond and diag is not None:
            self.diag(diag() if callable(diag) else diag)
        return cond

    def eq(self, got, want, desc, diag=None):
        """ok(got == want) with both values (and `diag`, a string) in the
        failure diagnostic."""
        d = f"expected {want!r}, got {got!r}" + (f"; {diag}" if diag else "")
        return self.ok(got == want, desc, diag=d)

    def skip(self, desc, reason):
        self.n += 1
        print(f"ok {self.n} - {self._clean(desc)} # SKIP {self._clean(reason)}")

    def fail_rest(self, why):
        """Mark every point the plan still expects as failed."""
        if self.planned is None:
            self.plan(self.n + 1)
        while self.n < self.planned:
            self.ok(False, f"not reached: {why}")

    def exit(self):
        if self.planned is None:
            self.plan(self.n)
        elif self.n < self.planned:
            self.fail_rest("test ended early")
        elif self.n > self.planned:
            self.diag(f"ran {self.n} points, planned {self.planned}")
            self.failed += 1
        sys.exit(1 if self.failed else 0)

    def skip_all(self, why):
        """Skip what the plan still expects ("1..0 # SKIP why" if there is
        no plan) and exit KSFT_SKIP."""
        if self.planned is None:
            print(f"1..0 # SKIP {self._clean(why)}")
        while self.n < (self.planned or 0):
            self.skip("not run", why)
        sys.exit(KSFT_SKIP)

    @classmethod
    def run(cls, main, plan=None):
        """Run main(tap); an exception fails the rest of the plan, Skip
        before the first point skips the test."""
        if os.geteuid() != 0:
            cls().skip_all("must be run as root")
        t = cls(plan)
        try:
            main(t)
        except BaseException as e:  # noqa: B902 -- report everything
            if isinstance(e, SystemExit):
                raise
            if isinstance(e, Skip):
                if t.n == 0:
                    t.skip_all(str(e))
                # after points: what ran stands, the rest is skipped
                while t.n < (t.planned or 0):
                    t.skip("not run", str(e))
                t.exit()
            t.diag("unexpected exception:")
            t.diag(traceback.format_exc().rstrip())
            why = f"{type(e).__name__}: {e}"
            if t.planned is not None and t.n >= t.planned:
                # No planned point left to carry the failure: add one
                # (an extra `not ok` still counts as a failure).
                t.ok(False, f"test aborted: {why}")
            else:
                t.fail_rest(why)
            sys.exit(1)
        t.exit()
