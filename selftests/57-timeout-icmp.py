#!/usr/bin/env python3
# timeout: 120
"""A dead peer behind a router that answers ICMP host unreachable.

tcp_write_err() ends a timed-out connection with sk_err_soft if an ICMP
error came meanwhile (EHOSTUNREACH here), ETIMEDOUT only otherwise. Both
are timeouts of the rule's policy and both count in its counters.

The server node holds 10.77.9.9 (on its lo, reached by the client through
the server's veth address as a router). The node "dies behind its
router": the address goes, forwarding comes on, and an unreachable route
for 10.77.9.9 makes the server namespace answer every segment of the
client with ICMP host unreachable. Rule "icmp" (direction out, remote
port P, user_timeout 3000) on a busy connection (request unacked):
  recv() fails with EHOSTUNREACH
  icmp timeouts_busy +1, stats/timeouts_unmatched unchanged
"""
import errno
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, connect_pair                  # noqa: E402
from deadline import poll, SCALE                      # noqa: E402
import incident as inc                                # noqa: E402

P = 7571
VIP = "10.77.9.9"
UT_MS = 3000
PLAN = 3


def main(t):
    ttmod.load()
    pair = Pair()
    pair.srv.ip("addr", "add", f"{VIP}/32", "dev", "lo")
    pair.cli.ip("route", "add", f"{VIP}/32", "via", pair.addr("srv", 4))
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    r = Rule("icmp", direction="out", remote_ports=P, user_timeout=UT_MS)
    lid = srv.listen(4, VIP, P)
    c, _ = connect_pair(cli, srv, lid, 4, VIP, P)
    t.ok(c["opts"]["user_timeout"] == UT_MS, f"the client's connection to {VIP} "
         f"carries the rule's user_timeout {UT_MS}", diag=str(c["opts"]))
    b0, um0 = inc.rule_ctr("icmp", "timeouts_busy"), inc.stat("timeouts_unmatched")

    # the node behind the router is gone; the router says so
    pair.srv.ip("addr", "del", f"{VIP}/32", "dev", "lo")
    pair.srv.sysctl("net.ipv4.ip_forward", 1)
    pair.srv.ip("route", "add", "unreachable", f"{VIP}/32")
    job = cli.recv_bg(c["id"], send="request\n")
    j = cli.wait(job, UT_MS / 1000 + 15 * SCALE)
    t.ok(j["done"] and j.get("errno") == errno.EHOSTUNREACH,
         "recv() fails with EHOSTUNREACH (the router's soft error) after the "
         "user timeout", diag=str(j))
    poll(lambda: inc.rule_ctr("icmp", "timeouts_busy") > b0, 3)
    db = inc.rule_ctr("icmp", "timeouts_busy") - b0
    du = inc.stat("timeouts_unmatched") - um0
    t.ok(db == 1 and du == 0, "counted as the rule's busy timeout: icmp "
         "timeouts_busy +1, timeouts_unmatched +0",
         diag=f"timeouts_busy +{db}, timeouts_unmatched +{du}")
    r.remove()
    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
