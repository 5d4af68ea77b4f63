#!/usr/bin/env python3
# timeout: 200
"""Go's net.Dialer and ListenConfig under force, clamp and fill-auto rules.

Every Go service sets SO_KEEPALIVE 1, TCP_KEEPINTVL 15 and TCP_KEEPIDLE 15
on each connection right after connect() or accept() returned, after
tcptimeo decided the socket. selftests/go/ttgo.go is such a program,
built with Debian's golang-go; it reads its socket's options back with
its own getsockopt() right after Go set them. Topology: two namespaces
on a veth (netns.Pair), ttgo on one side, the Python agent on the other.

- force, ttgo dialing (IPv4 and IPv6): ttgo reads the rule's 3/1/3 and
  user timeout 6000, stats/restamped counts the two values put back, and
  /proc/net/tcptimeo says every value is the rule's; a later
  SetKeepAlivePeriod(30 s), as a pool re-applying options does, is put
  back too.
- clamp, ttgo serving (accepted sockets): Go's 15/15 is above the rule's
  5/2 and is put back; a client dialing with KeepAlive 1 s (below the
  rule's) keeps its values, and the auto user timeout, the ceiling
  computed from the values in effect, comes down with them.
- fill with user-timeout auto, ttgo dialing: Go's 15/15 stays, each
  override of a stamped value counts in stats/skipped_app_set, and the
  user timeout follows: (15 + 15 x 3) s = 60000 ms.
- half-open: under the force rule ttgo waits in read(); the server's node
  vanishes; read() fails with ETIMEDOUT within idle + intvl x cnt (6 s)
  + 1 s, not after Go's 15 + 15 x 3 s.
"""
import json
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Skip, Tap                             # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, wildcard                      # noqa: E402
import incident                                       # noqa: E402

TTGO = os.path.join(os.path.dirname(ttmod.CTL), "ttgo") if ttmod.CTL else ""
P_FORCE, P_CLAMP, P_CLAMP_OUT, P_FILL = 7741, 7742, 7743, 7744
KA = dict(keepalive=1, keepidle=3, keepintvl=1, keepcnt=3,
          user_timeout="auto")
RULES = {
    "go-force": dict(direction="out", remote_ports=P_FORCE, mode="force", **KA),
    "go-clamp": dict(direction="in", local_ports=P_CLAMP, mode="clamp",
                     keepalive=1, keepidle=5, keepintvl=2, keepcnt=3,
                     user_timeout="auto"),
    "go-clamp-out": dict(direction="out", remote_ports=P_CLAMP_OUT,
                         mode="clamp", keepalive=1, keepidle=5, keepintvl=2,
                         keepcnt=3, user_timeout="auto"),
    "go-fill": dict(direction="out", remote_ports=P_FILL, mode="fill", **KA),
}
OPTS = ("keepalive", "idle", "intvl", "cnt", "user_timeout")
FORCE = dict(keepalive=1, idle=3, intvl=1, cnt=3, user_timeout=6000)
BOUND, SLACK = 3 + 1 * 3, 1.0
PLAN = 2 * 3 + 1 + 2 + 1 + 3 + 2 + 1


class Go:
    """ttgo in a namespace; its JSON lines read with a deadline."""

    def __init__(self, ns, *args):
        self.p = subprocess.Popen(ns.exec_cmd([TTGO, *args]),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.buf = b""

    def event(self, timeout=30):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.p.stdout], [], [], left)[0]:
                raise TimeoutError(f"ttgo: no event in {timeout} s")
            chunk = os.read(self.p.stdout.fileno(), 4096)
            if not chunk:
                err = self.p.stderr.read().decode(errors="replace")
                raise EOFError(f"ttgo exited {self.p.wait()}: {err.strip()}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        ev = json.loads(line)
        if ev["event"] == "error":
            raise RuntimeError(f"ttgo: {ev['err']}")
        return ev

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        self.p.stdout.close()
        self.p.stderr.close()


def pick(opts):
    return {k: opts.get(k) for k in OPTS}


def row_of(ns, local, remote):
    return next((r for r in incident.proc_view(ns)
                 if (r["local"], r["remote"]) == (local, remote)), None)


def dial(t, pair, srv, ls, f, port, *args):
    """ttgo dials srv:port; returns (go, its "connected" event, the
    agent's accepted socket, the stats delta over the dial)."""
    s0 = ttmod.stats()
    go = Go(pair.cli, "dial", incident.addr_str(f, pair.addr("srv", f), port),
            *args)
    ev = go.event()
    a = srv.accept(ls[f, port], timeout=20)
    s1 = ttmod.stats()
    return go, ev, a, {k: s1[k] - s0[k] for k in s0}


def main(t):
    if not (TTGO and os.access(TTGO, os.X_OK)):
        raise Skip(f"no {TTGO or 'ttgo'} (make deps installs golang-go, "
                   "make tools builds it)")
    ttmod.load()
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    ls = {(f, p): srv.listen(f, wildcard(f), p, v6only=(True if f == 6 else None))
          for f in (4, 6) for p in (P_FORCE, P_CLAMP_OUT, P_FILL)}
    rules = [Rule(n, **a) for n, a in RULES.items()]

    # force, ttgo dialing, both families
    for f in (4, 6):
        go, ev, a, ds = dial(t, pair, srv, ls, f, P_FORCE)
        v = f"IPv{f}"
        t.eq(pick(ev["opts"]), FORCE, f"{v} force: Go's getsockopt() right "
             "after its own keepalive 15/15 reads the rule's 3/1/3, 6000 ms")
        t.eq(ds["restamped"], 2, f"{v} force: stats/restamped +2 "
             "(keepidle and keepintvl put back; SO_KEEPALIVE 1 undoes nothing)")
        row = row_of(pair.cli, ev["local"], ev["remote"])
        t.eq((row or {}).get("from", "")[:5], "rrrrr", f"{v} force: "
             "/proc/net/tcptimeo says keepalive..user_timeout are the rule's",
             diag=f"row {row}")
        srv.close(a["id"])
        go.stop()

    # a pool re-applying its options later
    go, ev, a, _ = dial(t, pair, srv, ls, 4, P_FORCE, "-reset", "30s")
    r0 = ttmod.stats()["restamped"]
    ev = go.event()
    t.eq(pick(ev["opts"]), FORCE, "force: a later SetKeepAlivePeriod(30 s) "
         "is put back before Go reads the options again",
         diag=f"restamped +{ttmod.stats()['restamped'] - r0}")
    srv.close(a["id"])
    go.stop()

    # clamp, ttgo serving: accepted sockets
    go = Go(pair.srv, "serve", f"0.0.0.0:{P_CLAMP}")
    go.event()
    r0 = ttmod.stats()["restamped"]
    c = cli.connect(4, pair.addr("srv", 4), P_CLAMP)
    ev = go.event()
    dr = ttmod.stats()["restamped"] - r0
    t.eq(pick(ev["opts"]), dict(keepalive=1, idle=5, intvl=2, cnt=3,
                                user_timeout=11000),
         "clamp: Go's accepted socket reads the rule's 5/2 after Go's 15/15 "
         "(above the rule's)")
    t.eq(dr, 2, "clamp: stats/restamped +2")
    cli.close(c["id"])
    go.stop()
    # clamp, a Go client asking for less than the rule
    go, ev, a, ds = dial(t, pair, srv, ls, 4, P_CLAMP_OUT, "-keepalive", "1s")
    t.eq(pick(ev["opts"]), dict(keepalive=1, idle=1, intvl=1, cnt=3,
                                user_timeout=4000),
         "clamp: Go's KeepAlive 1 s (below the rule's 5/2) stays, and the "
         "auto user timeout is lowered with it: (1 + 1 x 3) s",
         diag=f"restamped +{ds['restamped']}")
    srv.close(a["id"])
    go.stop()

    # fill + auto, ttgo dialing
    go, ev, a, ds = dial(t, pair, srv, ls, 4, P_FILL)
    t.eq(pick(ev["opts"]), dict(keepalive=1, idle=15, intvl=15, cnt=3,
                                user_timeout=60000),
         "fill auto: Go's 15/15 stays and the user timeout follows it: "
         "(15 + 15 x 3) s = 60000 ms")
    t.eq(ds["skipped_app_set"], 2, "fill auto: stats/skipped_app_set +2 "
         "(keepidle and keepintvl stamped, then replaced)")
    row = row_of(pair.cli, ev["local"], ev["remote"])
    t.eq((row or {}).get("from", "")[:5], "raarr", "fill auto: "
         "/proc/net/tcptimeo: idle and intvl the application's, the user "
         "timeout the rule's (auto)", diag=f"row {row}")
    srv.close(a["id"])
    go.stop()

    # half-open under force: ttgo blocked in read(), the server's node gone
    go, ev, a, _ = dial(t, pair, srv, ls, 4, P_FORCE)
    pair.kill("srv")
    t_kill = time.monotonic()
    try:
        end = go.event(timeout=BOUND + SLACK + 60)
    except (TimeoutError, EOFError, RuntimeError) as e:
        end = {"err": str(e), "errno": ""}
    took = time.monotonic() - t_kill
    t.diag(f"ttgo's read() ended {took:.2f} s after the node vanished: "
           f"{end.get('err')}")
    t.eq(end.get("errno"), "ETIMEDOUT", "half-open: Go's read() fails with "
         "ETIMEDOUT", diag=f"{end}")
    t.ok(took <= BOUND + SLACK, f"half-open: within idle + intvl x cnt "
         f"({BOUND} s) + {SLACK:g} s of the node vanishing",
         diag=f"{took:.2f} s")
    go.stop()

    for r in rules:
        r.remove()
    cli.close_agent()
    srv.close_agent()
    pair.delete()
    ttmod.unload_point(t)


Tap.run(main, PLAN)
