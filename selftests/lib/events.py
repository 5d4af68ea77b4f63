"""tcptimeo's tracepoints (tcptimeo:stamp, :timeout, :abort) as the tests
read them: a tracefs instance of the test's own, so neither the global
trace buffer nor another reader is disturbed, read through its `trace`
file (not consumed: every wait sees every event since the start).

    tr = events.Trace()                 # Skip if there is no tracefs
    ...
    ev = tr.wait(lambda e: e["event"] == "timeout" and e["dport"] == 80, 10)
    tr.close()                          # also at exit (lib/undo.py)

Each event is a dict: "event", "time" (the trace clock, seconds), and the
event's fields as docs/ABI.md (Events) lists them, numbers as ints,
set/skipped as lists, src/dst split into "src", "sport", "dst", "dport".
"""
import itertools
import os
import re

import undo
from tap import Skip
from deadline import poll

_seq = itertools.count()

LINE = re.compile(r"^\s*(?P<comm>.*?)-(?P<pid>\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[(?P<cpu>\d+)\]"
                  r"\s+(?:\S+\s+)?(?P<ts>\d+\.\d+):\s+(?P<event>\w+):\s+(?P<rest>.*)$")
LOST = re.compile(r"CPU:(\d+) \[LOST (\d+ )?EVENTS\]")
LISTS = ("set", "skipped")
TEXT = ("rule", "dir", "origin", "mode", "cause", "state")


def tracefs():
    """The tracefs mount, mounted if need be; Skip if there is none."""
    for d in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        if os.path.isdir(os.path.join(d, "instances")):
            return d
    d = "/sys/kernel/tracing"
    if os.path.isdir(d) and os.system(f"mount -t tracefs nodev {d} 2>/dev/null") == 0 and \
            os.path.isdir(os.path.join(d, "instances")):
        return d
    raise Skip("no tracefs (CONFIG_FTRACE, /sys/kernel/tracing)")


def _endpoint(s):
    """'10.0.0.1:80' or '[fd00::1]:80' -> ('10.0.0.1', 80)."""
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def parse_fields(rest):
    ev = {}
    for word in rest.split():
        k, _, v = word.partition("=")
        if k in ("src", "dst"):
            ev[k], ev["sport" if k == "src" else "dport"] = _endpoint(v)
        elif k in LISTS:
            ev[k] = [] if v == "none" else v.split(",")
        elif k in TEXT:
            ev[k] = None if (k == "rule" and v == "-") else v
        else:
            ev[k] = int(v)
    return ev


def parse(text, system_events=("stamp", "timeout", "abort")):
    """trace text -> (events, lost): lost counts the LOST lines."""
    evs, lost = [], 0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if LOST.search(line):
            lost += 1
            continue
        m = LINE.match(line)
        if not m or m["event"] not in system_events:
            continue
        ev = {"event": m["event"], "time": float(m["ts"]), "cpu": int(m["cpu"])}
        ev.update(parse_fields(m["rest"]))
        evs.append(ev)
    return evs, lost


class Trace:
    def __init__(self, events=("stamp", "timeout", "abort"), buffer_kb=512):
        root = tracefs()
        self.dir = os.path.join(root, "instances", f"tt-test.{os.getpid()}.{next(_seq)}")
        os.mkdir(self.dir)
        self._key = ("trace", self.dir)
        undo.add(self._key, self.close)
        sysdir = os.path.join(self.dir, "events", "tcptimeo")
        if not os.path.isdir(sysdir):
            self.close()
            raise AssertionError(f"{sysdir} missing: the module defines no tcptimeo events")
        self._write("buffer_size_kb", buffer_kb)
        for e in events:
            self._write(f"events/tcptimeo/{e}/enable", 1)

    def _write(self, rel, value):
        with open(os.path.join(self.dir, rel), "w") as f:
            f.write(f"{value}\n")

    def format(self, event):
        with open(os.path.join(self.dir, "events", "tcptimeo", event, "format")) as f:
            return f.read()

    def text(self):
        with open(os.path.join(self.dir, "trace")) as f:
            return f.read()

    def events(self, event=None):
        evs, _ = parse(self.text())
        return [e for e in evs if event is None or e["event"] == event]

    def lost(self):
        return parse(self.text())[1]

    def find(self, pred):
        return [e for e in self.events() if pred(e)]

    def wait(self, pred, timeout, count=1):
        """The first `count` events matching pred, polled for up to timeout s
        ([] if they did not all come)."""
        got = poll(lambda: len(self.find(pred)) >= count, timeout)
        return self.find(pred) if got else []

    def clear(self):
        self._write("trace", "")

    def close(self):
        if not os.path.isdir(self.dir):
            undo.drop(self._key)
            return
        try:
            self._write("tracing_on", 0)
        except OSError:
            pass
        for _ in range(50):
            try:
                os.rmdir(self.dir)
                break
            except OSError:
                poll(lambda: False, 0.1)
        undo.drop(self._key)


def optional():
    """A Trace, or (None, why) where there is no tracefs: for tests whose
    other points do not need the events."""
    try:
        return Trace(), None
    except Skip as e:
        return None, str(e)


def check(tr, cases, event="timeout", timeout=5):
    """cases: {name: (match, want)}. Each name must have exactly one
    `event` whose fields equal `match`, and that event's fields must equal
    `want` (a key ending in _min: at least that). Polls up to `timeout` s
    for them to come. Returns the mismatches, one line each ([]: all
    good)."""
    def hits(match):
        return tr.find(lambda e: e["event"] == event and
                       all(e.get(k) == v for k, v in match.items()))
    poll(lambda: all(hits(m) for m, _ in cases.values()), timeout)
    bad = []
    for name, (match, want) in cases.items():
        got = hits(match)
        if len(got) != 1:
            bad.append(f"{name}: {len(got)} {event} events matching {match}")
            continue
        e = got[0]
        for k, v in want.items():
            if k.endswith("_min") and not e.get(k[:-4], -1) >= v:
                bad.append(f"{name}: {k[:-4]} {e.get(k[:-4])} < {v}: {e}")
            elif not k.endswith("_min") and e.get(k) != v:
                bad.append(f"{name}: {k} {e.get(k)!r}, want {v!r}: {e}")
    return bad
