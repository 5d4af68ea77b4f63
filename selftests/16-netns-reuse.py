#!/usr/bin/env python3
# timeout: 240
"""A rule scoped to a network namespace never moves to another one.

The kernel hands out namespace inode numbers with ida_alloc_max(): the
lowest free one, again, as soon as a namespace dies. With pod churn a
rule written for one pod's namespace would, if matched by number, apply
to whichever namespace got that number next. docs/ABI.md: writing netns
binds the rule to the live namespace; when it is gone the rule matches
nothing and netns_state reads "gone", until netns is written again.

  A      a namespace; rule "scoped" (netns A, keepidle 77) stamps in it
         and not in the root namespace; netns_state "live"
  gone   A is deleted: netns_state "gone" (tcptimeoctl show and list say
         so too)
  B      new namespaces are created until one gets A's inode number
         (usually the first): a connection in it is not stamped, the
         rule's matched counter does not move
  again  writing netns with the same number binds the rule to B: now B's
         connections are stamped
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Netns                               # noqa: E402
from peer import Agent, kernel_defaults, connect_pair  # noqa: E402
from deadline import poll, SCALE                      # noqa: E402

PORT = 7611
IDLE = 77
TRIES = 64
PLAN = 11


def conn_in(ns):
    """One loopback connection inside `ns` (None: the root namespace):
    the client's options as getsockopt() reads them after connect()."""
    with Agent(ns) as srv, Agent(ns) as cli:
        lid = srv.listen(4, "127.0.0.1", PORT)
        c, _ = connect_pair(cli, srv, lid, 4, "127.0.0.1", PORT)
        return c["opts"]


def ctl(*args):
    return subprocess.run([ttmod.require_ctl(), *args], capture_output=True, text=True,
                          timeout=60)


def main(t):
    ttmod.load()
    extra = []
    a = Netns()
    inode = a.inode
    # no TIME_WAIT sockets in A: on kernels where they hold a reference on
    # their namespace, A would outlive its deletion by 60 s
    a.sysctl("net.ipv4.tcp_max_tw_buckets", 0)
    try:
        dflt = kernel_defaults(a)
        r = Rule("scoped", direction="out", remote_ports=PORT, netns=inode,
                 keepalive=1, keepidle=IDLE)
        t.eq(r.get("netns_state"), "live", "netns A bound: netns_state reads live")
        o = conn_in(a)
        t.ok(o["keepidle"] == IDLE and o["keepalive"] == 1,
             f"a connection in A (inode {inode}) gets the rule's keepidle {IDLE}",
             diag=f"client opts {o}")
        o = conn_in(None)
        t.ok(o["keepidle"] != IDLE, "a connection in the root namespace does not",
             diag=f"client opts {o}")
        m0 = int(r.get("matched"))

        a.delete()
        state = poll(lambda: r.get("netns_state") == "gone", 90 * SCALE, interval=0.2)
        t.ok(state, "A deleted: netns_state reads gone (the namespace's exit ran)",
             diag=f"netns_state {r.get('netns_state')!r}")
        p = ctl("show", "scoped")
        q = ctl("list")
        t.ok(p.returncode == 0 and "netns_state    gone" in p.stdout
             and q.returncode == 0 and "netns gone" in q.stdout,
             "tcptimeoctl show and list say the rule's namespace is gone",
             diag=f"show: {p.stdout}{p.stderr}\nlist: {q.stdout}{q.stderr}")

        # the next namespaces: one of them gets A's number back
        b = None
        for _ in range(TRIES):
            n = Netns()
            extra.append(n)
            if n.inode == inode:
                b = n
                break
        t.ok(b is not None, f"a new namespace got A's inode number {inode} back "
             f"(after {len(extra)} of at most {TRIES})",
             diag=f"inodes: {[n.inode for n in extra]}")
        if b is None:
            t.fail_rest("no namespace reused the inode number")
            return
        t.eq(r.get("netns"), str(inode), "the rule still reads back netns "
             f"{inode}")
        o = conn_in(b)
        t.ok(o == dflt, "a connection in the new namespace with A's number is "
             "not stamped: the kernel defaults", diag=f"client opts {o}, defaults {dflt}")
        t.eq(int(r.get("matched")), m0, "the rule's matched counter did not move")
        t.eq(r.get("netns_state"), "gone", "netns_state still reads gone")

        # the operator writes it again: now it means B
        r.set("netns", inode)
        o = conn_in(b)
        t.ok(o["keepidle"] == IDLE and r.get("netns_state") == "live",
             "netns written again: bound to the new namespace, whose connections "
             "are stamped", diag=f"client opts {o}; state {r.get('netns_state')}")
        r.remove()
    finally:
        a.delete()
        for n in extra:
            n.delete()


if __name__ == "__main__":
    Tap.run(main, PLAN)
