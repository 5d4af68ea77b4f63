"""Undo, when the test exits, what it made and has not removed itself.

kselftest's runner starts the tests one after another and cleans nothing
up between them (selftests/README.md), so a test that fails half-way must
not leave its rules, namespaces or agent processes behind, nor the module
loaded if it loaded it. The helpers register what they make (ttmod.Rule,
ttmod.load, netns.Netns, peer.Agent) and drop it when the test removes
it; whatever is left is undone at exit, last made first, also on SIGTERM
(the runner's timeout). Every step tolerates what is already gone. Under
`make check` the VM runner cleans up after each test as well.
"""
import atexit
import signal
import sys

_steps = {}             # key -> callable, in the order made


def add(key, fn):
    """At exit, call fn() unless drop(key) came first."""
    _steps[key] = fn


def drop(key):
    _steps.pop(key, None)


def run():
    """Undo everything still registered, last made first."""
    for key in reversed(list(_steps)):
        fn = _steps.pop(key, None)
        if fn is None:
            continue
        try:
            fn()
        except Exception:       # noqa: B902 -- best effort, never mask the test
            pass


def _on_term(signum, _frame):
    sys.exit(128 + signum)      # unwinds, so that atexit runs


atexit.register(run)
if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _on_term)
