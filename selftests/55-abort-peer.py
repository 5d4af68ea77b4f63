#!/usr/bin/env python3
# timeout: 180
"""Dead-peer fast-fail: abort_peers, through tcptimeoctl abort-peer.

The mission's scenario with no rule at all: the client is blocked in
recv() on connections to 10.77.0.2 (IPv4) and fd77::2 (IPv6); the server
node vanishes. Also open: a connection to the same node's other address
10.77.0.6 (another peer), and, in a second pair of namespaces, connections
to 10.78.0.2 / fd78::2 (other namespaces, other addresses).
- abort-peer --dry-run 10.77.0.2 lists exactly the client's socket to it
  and aborts nothing; run in the client's namespace, --dry-run for the
  other pair's peers lists their sockets too (every namespace, as the
  real run)
- abort-peer 10.77.0.2 --port 1 (another port): nothing aborted
- abort-peer fd77::2/128: only the IPv6 connection ends (ECONNABORTED);
  the IPv4 ones stay blocked and ESTABLISHED
- abort-peer 10.77.0.2/32: the blocked recv() fails with ECONNABORTED
  within 1 s; the connection to 10.77.0.6 and those of the other
  namespaces are untouched; peers_aborted counts exactly 2
- bad input: exit 1 and nothing aborted
"""
import errno
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, connect_pair, listen_all, TCP_ESTABLISHED  # noqa: E402
import incident as inc                                # noqa: E402

P = 7551
LIMIT = 1.0
PLAN = 11


def main(t):
    ttmod.load()
    ttmod.remove_all_rules()
    pair, other = Pair(), inc.OtherPair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    cli2, srv2 = Agent(other.cli), Agent(other.srv)
    ls, ls2 = listen_all(srv, [P]), listen_all(srv2, [P])

    def conn(c, s, lsd, pr, fam, i=0):
        r, _ = connect_pair(c, s, lsd[fam, P], fam, pr.addr("srv", fam, i), P)
        return r

    v4 = conn(cli, srv, ls, pair, 4)
    v6 = conn(cli, srv, ls, pair, 6)
    v4b = conn(cli, srv, ls, pair, 4, 1)          # 10.77.0.6: another peer
    o4 = conn(cli2, srv2, ls2, other, 4)
    o6 = conn(cli2, srv2, ls2, other, 6)
    jobs = {"v4": (cli, v4, cli.recv_bg(v4["id"])), "v6": (cli, v6, cli.recv_bg(v6["id"])),
            "v4 other peer": (cli, v4b, cli.recv_bg(v4b["id"])),
            "other netns v4": (cli2, o4, cli2.recv_bg(o4["id"])),
            "other netns v6": (cli2, o6, cli2.recv_bg(o6["id"]))}
    pair.kill("srv")
    time.sleep(0.5)

    def untouched(names):
        bad = {}
        for nm in names:
            a, c, j = jobs[nm]
            rep = a.job(j)
            st = a.tcp_state(c["id"])
            if rep["done"] or st != TCP_ESTABLISHED:
                bad[nm] = (rep, st)
        return bad

    a0 = inc.stat("peers_aborted")
    p = inc.ctl("abort-peer", "10.77.0.2", "--dry-run", ns=pair.cli)
    rows = [ln.split()[:3] for ln in p.stdout.splitlines()[1:-1]]
    t.ok(p.returncode == 0 and [r[2] for r in rows] == [f"10.77.0.2:{P}"] and
         rows[0][0] == str(pair.cli.inode) and
         inc.stat("peers_aborted") == a0 and not untouched(["v4"]),
         "abort-peer --dry-run (in the client netns) lists the one socket to "
         "10.77.0.2, with its netns, and aborts nothing", diag=inc.show(p))
    # issue 15.9: the dry run shows what the real run would abort, which
    # acts on every namespace, not only on the caller's
    p = inc.ctl("abort-peer", "10.78.0.2,fd78::2", "--dry-run", ns=pair.cli)
    rows = sorted(tuple(ln.split()[:3:2]) for ln in p.stdout.splitlines()[1:-1])
    want = sorted([(str(other.cli.inode), f"10.78.0.2:{P}"),
                   (str(other.cli.inode), f"[fd78::2]:{P}")])
    t.ok(p.returncode == 0 and rows == want and "in every network namespace" in p.stdout
         and inc.stat("peers_aborted") == a0 and not untouched(["other netns v4", "other netns v6"]),
         "abort-peer --dry-run run in the client's netns lists the other namespace's "
         "two sockets to 10.78.0.2 / fd78::2 (as the real run would abort them)",
         diag=f"{rows} want {want}\n{inc.show(p)}")
    p = inc.ctl("abort-peer", "10.77.0.2", "--port", "1")
    t.ok(p.returncode == 0 and inc.stat("peers_aborted") == a0 and
         "aborted 0 sockets" in p.stdout and not untouched(["v4"]),
         "abort-peer with a port list that does not match aborts nothing",
         diag=inc.show(p))

    p = inc.ctl("abort-peer", "fd77::2/128")
    r6 = cli.wait(jobs["v6"][2], 2)
    t.ok(p.returncode == 0 and r6["done"] and r6.get("errno") == errno.ECONNABORTED,
         "abort-peer fd77::2/128: the IPv6 connection's recv() fails with ECONNABORTED",
         diag=f"{r6}; {inc.show(p)}")
    bad = untouched(["v4", "v4 other peer", "other netns v4", "other netns v6"])
    t.ok(not bad, "... and only it: the IPv4 connections (also to the same node) "
         "are still blocked and ESTABLISHED", diag=str(bad))

    t0 = time.monotonic()
    p = inc.ctl("abort-peer", "10.77.0.2/32")
    r4 = cli.wait(jobs["v4"][2], 3)
    took = r4.get("t_end", time.monotonic()) - t0
    t.ok(p.returncode == 0 and r4["done"] and r4.get("errno") == errno.ECONNABORTED
         and took <= LIMIT,
         f"abort-peer 10.77.0.2/32: the client blocked in recv() (no rule at all) "
         f"gets ECONNABORTED within {LIMIT:g} s", diag=f"{r4}; {took:.3f} s; {inc.show(p)}")
    t.diag(f"abort latency: {took * 1000:.0f} ms from running tcptimeoctl "
           "abort-peer to recv() failing")
    bad = untouched(["v4 other peer", "other netns v4", "other netns v6"])
    t.ok(not bad, "the connection to another peer (10.77.0.6) and those in another "
         "namespace to other addresses are untouched", diag=str(bad))
    t.eq(inc.stat("peers_aborted") - a0, 2, "peers_aborted counts exactly the 2 aborted")
    t.ok("aborted 1 socket " in p.stdout, "tcptimeoctl reports 1 socket aborted",
         diag=inc.show(p))

    a1 = inc.stat("peers_aborted")
    bads = [inc.ctl("abort-peer", "10.77.0.6/24"), inc.ctl("abort-peer", "10.77.0.6/33"),
            inc.ctl("abort-peer", "10.77.0.6", "--port", "0"),
            inc.ctl("abort-peer", "")]
    t.ok(all(b.returncode == 1 and "valid" in b.stderr for b in bads) and
         inc.stat("peers_aborted") == a1 and not untouched(["v4 other peer"]),
         "abort-peer bad input: exit 1 naming the valid range, nothing aborted",
         diag="\n".join(inc.show(b) for b in bads))
    # the module itself refuses bad input too
    err = ttmod.write_raw(ttmod.SYSFS + "/abort_peers", "10.77.0.6/24\n")
    t.ok(err == errno.EINVAL and inc.stat("peers_aborted") == a1 and
         not untouched(["v4 other peer"]),
         "abort_peers refuses host bits with EINVAL and aborts nothing",
         diag=ttmod.errname(err))
    for a in (cli, srv, cli2, srv2):
        a.close_agent()
    pair.delete()
    other.delete()


Tap.run(main, PLAN)
