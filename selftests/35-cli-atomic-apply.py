#!/usr/bin/env python3
# timeout: 900
"""Rule edits go live whole: no connection ever sees an intermediate rule.

- one rule alternated ROUNDS (200) times by `tcptimeoctl apply` between
  `remote-addr 10.0.0.0/8 user-timeout 600000` and
  `cgroup /tt-atomic user-timeout 5000 force`, while another process opens
  loopback connections that match neither shape: none of them (client or
  accepted side) is stamped, read back with getsockopt TCP_USER_TIMEOUT.
  Written one attribute at a time, clearing remote_addrs first makes the
  rule match every connection for a moment, with the old options.
- two rules that both match the churn swap priorities (and the loser's
  options change) ROUNDS times: every connection gets the outcome of the old
  table (11000 ms) or of the new one (22000 ms), never a third (33000 ms:
  one rule changed and not the other).
- the `line` file: one write swaps a live rule; reads back canonical.
- sysfs hold/commit: changes made during a hold are not live until the
  commit; a hold nobody commits commits itself when it runs out, with a
  kernel log line.
"""
import json
import os
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "cli"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
import cgroup as cg                                   # noqa: E402
from deadline import poll                             # noqa: E402
from ctl import ctl, show                             # noqa: E402

ROUNDS = int(os.environ.get("TCPTIMEO_ATOMIC_ROUNDS", "200"))
CG = "/tt-atomic"
TCP_USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", 18)

SHAPE_A = "r remote-addr 10.0.0.0/8 user-timeout 600000\n"
SHAPE_B = f"r cgroup {CG} user-timeout 5000 force\n"
# both match every loopback connection; a wins ties by name
SWAP_X = ("a priority 10 remote-addr 127.0.0.0/8 user-timeout 11000 force\n"
          "b priority 20 remote-addr 127.0.0.0/8 user-timeout 22000 force\n")
SWAP_Y = ("a priority 20 remote-addr 127.0.0.0/8 user-timeout 33000 force\n"
          "b priority 10 remote-addr 127.0.0.0/8 user-timeout 22000 force\n")

PLAN = 12


def uto(sock):
    return struct.unpack("i", sock.getsockopt(socket.IPPROTO_TCP,
                                              TCP_USER_TIMEOUT, 4))[0]


def churn(out_fd, stop_path):
    """Child: loopback connections until stop_path exists; report
    {timeout: count} of client and accepted sockets as JSON."""
    seen = {}
    n = 0
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", 0))
    lst.listen(64)
    addr = lst.getsockname()
    while not os.path.exists(stop_path):
        c = socket.socket()
        c.connect(addr)
        s, _ = lst.accept()
        for v in (uto(c), uto(s)):
            seen[v] = seen.get(v, 0) + 1
        n += 1
        s.close()
        c.close()
    os.write(out_fd, json.dumps({"n": n, "seen": seen}).encode())
    os._exit(0)


class Churn:
    def __init__(self, tag):
        self.stop = f"/tmp/tt-atomic-stop-{tag}"
        if os.path.exists(self.stop):
            os.unlink(self.stop)
        self.r, w = os.pipe()
        self.pid = os.fork()
        if not self.pid:
            os.close(self.r)
            try:
                churn(w, self.stop)
            finally:
                os._exit(1)
        os.close(w)

    def finish(self):
        open(self.stop, "w").close()
        data = b""
        while True:
            chunk = os.read(self.r, 65536)
            if not chunk:
                break
            data += chunk
        os.waitpid(self.pid, 0)
        os.close(self.r)
        res = json.loads(data or b'{"n": 0, "seen": {}}')
        res["seen"] = {int(k): v for k, v in res["seen"].items()}
        return res


def alternate(t, files, what):
    """Apply the files in turn ROUNDS times each pair; a churn runs
    throughout. Returns (churn result, failures, seconds)."""
    fails = []
    ch = Churn(what)
    t0 = time.monotonic()
    for i in range(ROUNDS):
        p = ctl("apply", "-q", files[i % 2])
        if p.returncode != 0:
            fails.append(show(p))
            if len(fails) > 3:
                break
    secs = time.monotonic() - t0
    res = ch.finish()
    return res, fails, secs


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def main(t):
    ttmod.load()
    ttmod.remove_all_rules()
    cg.ensure_mounted()
    cg.create(CG)
    a = write(os.path.abspath("a.conf"), SHAPE_A)
    b = write(os.path.abspath("b.conf"), SHAPE_B)
    x = write(os.path.abspath("x.conf"), SWAP_X)
    y = write(os.path.abspath("y.conf"), SWAP_Y)

    # 1. one rule between two shapes that both miss the churn
    p = ctl("apply", "-q", a)
    t.ok(p.returncode == 0, "apply the first shape", diag=show(p))
    res, fails, secs = alternate(t, (b, a), "shape")
    t.ok(not fails, f"{ROUNDS} applies alternating the rule's shape succeed "
         f"({secs:.1f} s)", diag="\n".join(fails))
    t.ok(res["n"] >= 100, f"the churn opened {res['n']} connections meanwhile "
         "(at least 100)")
    t.eq(res["seen"], {0: 2 * res["n"]},
         "no churn connection was stamped: every TCP_USER_TIMEOUT is 0 "
         "(no intermediate form of the rule was ever live)")

    # 2. two rules swapping priorities: old table or new, never a mix
    ttmod.remove_all_rules()
    p = ctl("apply", "-q", x)
    t.ok(p.returncode == 0, "apply the first pair", diag=show(p))
    res, fails, secs = alternate(t, (y, x), "swap")
    t.ok(not fails, f"{ROUNDS} applies swapping two rules' priorities succeed "
         f"({secs:.1f} s)", diag="\n".join(fails))
    t.ok(res["n"] >= 100, f"the churn opened {res['n']} connections meanwhile "
         "(at least 100)")
    third = {v: c for v, c in res["seen"].items() if v not in (11000, 22000)}
    t.ok(not third and sum(res["seen"].values()) == 2 * res["n"],
         "every churn connection got the old table's outcome (11000 ms) or "
         f"the new one's (22000 ms), never another: {res['seen']}",
         diag=f"other outcomes: {third}")

    # 3. line: one write, canonical; hold/commit; a hold that runs out
    ttmod.remove_all_rules()
    r = ttmod.Rule("l", enable=False)
    r.set("line", "dir out remote-port 9,7-8 idle 2m cnt 3 clamp")
    t.eq(r.get("line"), "priority 1000 dir out remote-port 7-9 idle 120s "
         "cnt 3 clamp", "line reads back canonical")
    r.enable()
    ttmod.sysfs_set("hold", 30)
    r.set("line", "priority 5 dir in local-port 80 keepalive")
    ttmod.Rule("m", line="priority 6 dir out")
    held_live = ttmod.live_rules()
    left = int(ttmod.sysfs_get("hold"))
    ttmod.sysfs_set("commit", 1)
    t.ok(held_live == ["l priority 1000 dir out remote-port 7-9 idle 120s "
                       "cnt 3 clamp"] and 0 < left <= 30,
         f"during a hold (hold reads {left}) the live table is the old one",
         diag=f"{held_live}")
    t.eq(ttmod.live_rules(), ["l priority 5 dir in local-port 80 keepalive",
                              "m priority 6 dir out"],
         "commit publishes every staged change at once")
    log = ttmod.KernelLog()
    ttmod.sysfs_set("hold", 1)
    r.set("line", "priority 7 dir any")
    t0 = time.monotonic()
    done = poll(lambda: ttmod.sysfs_get("hold") == "0" and
                [ln for ln in log.ours() if "hold ran out" in ln], 30)
    waited = time.monotonic() - t0
    t.ok(done and ttmod.live_rules()[-1] == "l priority 7 dir any",
         f"a hold nobody commits commits itself when it runs out "
         f"({waited:.1f} s) and says so in the kernel log",
         diag=f"{log.ours()} {ttmod.live_rules()}")


if __name__ == "__main__":
    Tap.run(main, plan=PLAN)
