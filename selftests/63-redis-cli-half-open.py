#!/usr/bin/env python3
# timeout: 150
"""An unmodified redis-cli (hiredis) under a force rule, its server's node gone.

redis-cli sets its own keepalive right after connect() (anetKeepAlive:
idle 15, intvl 5, cnt 3), after tcptimeo decided the socket. Under

    dir out remote-port 6390 keepalive idle 3 intvl 1 cnt 3
    user-timeout auto force

its socket must carry the rule's values while it waits in BLPOP q 0
(read from /proc/net/tcptimeo in its namespace), stats/restamped must
count the two values put back (keepidle, keepintvl), and when the server's node vanishes redis-cli
must fail with ETIMEDOUT (hiredis: "recv timeout") within idle + intvl x cnt (6 s)
+1 s of the last packet it received (at most the moment the node
vanished), not after redis-cli's own 15 + 5 x 3 s.
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Skip, Tap                             # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent                                # noqa: E402
from deadline import poll                             # noqa: E402
import incident                                       # noqa: E402

PORT = 6390
RULE = dict(direction="out", remote_ports=PORT, keepalive=1, keepidle=3,
            keepintvl=1, keepcnt=3, user_timeout="auto", mode="force")
WANT = {"keepalive": 1, "idle": 3, "intvl": 1, "cnt": 3, "user_timeout": 6000}
BOUND, SLACK = 3 + 1 * 3, 1.0
PLAN = 5


def main(t):
    if not shutil.which("redis-cli"):
        raise Skip("no redis-cli (make deps installs redis-tools)")
    ttmod.load()
    pair = Pair()
    srv = Agent(pair.srv)
    ls = srv.listen(4, "0.0.0.0", PORT)
    rule = Rule("redis", **RULE)
    r0 = ttmod.stats()["restamped"]
    cli = subprocess.Popen(pair.cli.exec_cmd(
        ["redis-cli", "-h", pair.addr("srv", 4), "-p", str(PORT),
         "BLPOP", "q", "0"]), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    a = srv.accept(ls, timeout=20)
    cmd = srv.call("recv", id=a["id"], timeout=20)["data"]
    t.diag(f"the server got {cmd!r}: redis-cli has connected, set its "
           "keepalive and waits for the reply")
    row = poll(lambda: next((r for r in incident.proc_view(pair.cli)
                             if r.get("remote", "").endswith(f":{PORT}")), None), 10)
    got = {k: (row or {}).get(k) for k in WANT}
    t.ok(got == WANT, "redis-cli's socket carries the rule's values after its "
         "own setsockopt() (idle 3 intvl 1 cnt 3 user_timeout 6000)",
         diag=f"got {got}; row {row}")
    dr = ttmod.stats()["restamped"] - r0
    t.eq(dr, 2, "stats/restamped +2: keepidle 15 and keepintvl 5 put back "
         "(keepcnt 3 is the rule's, SO_KEEPALIVE 1 undoes nothing)")

    pair.kill("srv")
    t_kill = time.monotonic()
    try:
        out, _ = cli.communicate(timeout=BOUND + SLACK + 30)
    except subprocess.TimeoutExpired:
        cli.kill()
        out, _ = cli.communicate()
    took = time.monotonic() - t_kill
    t.diag(f"redis-cli exited {cli.returncode} {took:.2f} s after the node "
           f"vanished: {out.strip()!r}")
    # hiredis reports ETIMEDOUT from read() as "recv timeout"
    t.ok(cli.returncode != 0 and "timeout" in out.lower(),
         "redis-cli fails with a timeout (hiredis: ETIMEDOUT -> 'recv timeout')",
         diag=f"exit {cli.returncode}: {out}")
    t.ok(took <= BOUND + SLACK, f"within idle + intvl x cnt ({BOUND} s) + "
         f"{SLACK:g} s of the node vanishing", diag=f"{took:.2f} s")
    rule.remove()
    srv.close_agent()
    pair.delete()
    ttmod.unload_point(t)


Tap.run(main, PLAN)
