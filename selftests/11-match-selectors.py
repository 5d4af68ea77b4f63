#!/usr/bin/env python3
# timeout: 240
"""Matching: each selector alone and combined.

Every rule sets one marker value (keepidle = M, unique per case); a
connection was stamped by it iff getsockopt(TCP_KEEPIDLE) == M in the
process that owns the socket. Client namespace: 10.77.0.1/.5, fd77::1/::5;
server namespace: 10.77.0.2/.6, fd77::2/::6 (lib/netns.py Pair).

Selectors: local_ports (list, range; in, out with an explicit bind, out
unbound = decided once established), remote_ports (list, range; out, in),
remote_addrs (IPv4, IPv6, in and out; IPv4-mapped peers match IPv4 CIDRs
and not IPv6 ones), cgroup (a process moved into a child cgroup; the
accepted socket carries its listener's cgroup; removed and re-created
under the same path), netns, direction, and all of them combined (each
one alone failing makes the rule miss).
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, listen_all, connect_pair      # noqa: E402
import cgroup as cg                                   # noqa: E402
from deadline import Deadline                         # noqa: E402

CG = "/tt-match"
CG_CHILD = CG + "/child"
PORTS = [7401, 7402, 7403, 7409, 7410, 7412, 7413, 7420, 7421, 7431, 7432,
         7433, 7434, 7435, 7437, 7438, 7439, 7441, 7442, 7451, 7460, 7470,
         7480, 7481, 7490]
PLAN = 63


def main(t):
    ttmod.load()
    cg.ensure_mounted()
    cg.remove(CG)
    cg.create(CG_CHILD)
    cg.create(CG + "/other")
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    cli_cg = Agent(pair.cli, cgroup=CG_CHILD)
    srv_cg = Agent(pair.srv, cgroup=CG_CHILD)
    t.diag(f"agent cgroups: cli {cg.of(cli.pid)}, cli_cg {cg.of(cli_cg.pid)}")
    ls = listen_all(srv, PORTS)
    ls["dual", 7450] = srv.listen(6, "::", 7450, v6only=False)
    ls_cg = srv_cg.listen(4, "0.0.0.0", 7461)
    mark = [100]

    def conn(fam, port, dst=0, src=None, sport=0, agent=None, sockfam=None,
             addr=None, lkey=None, server=None):
        """Connect; return (client keepidle, server keepidle)."""
        agent = agent or cli
        addr = addr or pair.addr("srv", fam, dst)
        bind = None
        if src is not None or sport:
            bind = [pair.addr("cli", fam, src or 0), sport]
        lid = ls_cg if lkey == "cg" else ls[lkey or (fam, port)]
        c, a = connect_pair(agent, server or srv, lid, sockfam or fam, addr,
                            port, bind=bind)
        return c["opts"]["keepidle"], a["opts"]["keepidle"]

    def rule(name, **kw):
        mark[0] += 1
        return Rule(name, keepidle=mark[0], **kw), mark[0]

    def expect(got, m, stamped, desc):
        t.ok((got == m) == stamped, f"{desc}: {'stamped' if stamped else 'not stamped'}",
             diag=f"keepidle {got}, rule marker {m}")

    # ---- local_ports ----
    r, m = rule("lp-list", direction="in", local_ports="7401,7403")
    for p, want in ((7401, True), (7402, False), (7403, True)):
        expect(conn(4, p)[1], m, want, f"local_ports 7401,7403 (in): port {p}")
    r.remove()
    r, m = rule("lp-range", direction="in", local_ports="7410-7412")
    for p, want in ((7409, False), (7410, True), (7412, True), (7413, False)):
        expect(conn(6, p)[1], m, want, f"local_ports 7410-7412 (in, IPv6): port {p}")
    r.remove()
    r, m = rule("lp-out", direction="out", local_ports="41000-41002")
    expect(conn(4, 7420, sport=41001)[0], m, True,
           "local_ports 41000-41002 (out): bound to 41001")
    expect(conn(4, 7420, sport=41005)[0], m, False,
           "local_ports 41000-41002 (out): bound to 41005")
    r.remove()
    old_range = pair.cli.sysctl_get("net.ipv4.ip_local_port_range")
    pair.cli.sysctl("net.ipv4.ip_local_port_range", "42000 42009")
    r, m = rule("lp-deferred", direction="out", local_ports="42000-42009")
    expect(conn(4, 7421)[0], m, True, "local_ports 42000-42009 (out, unbound, "
           "ephemeral range 42000-42009): decided once established")
    expect(conn(6, 7421)[0], m, True, "same over IPv6")
    r.set("local_ports", "43000")
    expect(conn(4, 7421)[0], m, False, "local_ports 43000 (out, unbound): "
           "ephemeral port outside")
    r.remove()
    pair.cli.sysctl("net.ipv4.ip_local_port_range", old_range.replace("\t", " "))

    # ---- remote_ports ----
    r, m = rule("rp-list", direction="out", remote_ports="7431,7433")
    for p, want in ((7431, True), (7432, False), (7433, True)):
        expect(conn(4, p)[0], m, want, f"remote_ports 7431,7433 (out): port {p}")
    r.remove()
    r, m = rule("rp-range", direction="out", remote_ports="7435-7437")
    for p, want in ((7434, False), (7435, True), (7437, True), (7438, False)):
        expect(conn(6, p)[0], m, want, f"remote_ports 7435-7437 (out, IPv6): port {p}")
    r.remove()
    r, m = rule("rp-wide", direction="out", remote_ports="1024-7432,7434-65535")
    for p, want in ((7431, True), (7433, False), (7435, True)):
        expect(conn(4, p)[0], m, want,
               f"remote_ports 1024-7432,7434-65535 (wide ranges): port {p}")
    r.remove()
    r, m = rule("rp-in", direction="in", remote_ports="44000-44001")
    expect(conn(4, 7439, sport=44001)[1], m, True,
           "remote_ports 44000-44001 (in): client port 44001")
    expect(conn(4, 7439, sport=44002)[1], m, False,
           "remote_ports 44000-44001 (in): client port 44002")
    r.remove()

    # ---- remote_addrs ----
    r, m = rule("ra-out", direction="out", remote_addrs="10.77.0.0/30,fd77::/126")
    expect(conn(4, 7441, dst=0)[0], m, True, "remote_addrs 10.77.0.0/30: peer 10.77.0.2")
    expect(conn(4, 7441, dst=1)[0], m, False, "remote_addrs 10.77.0.0/30: peer 10.77.0.6")
    expect(conn(6, 7441, dst=0)[0], m, True, "remote_addrs fd77::/126: peer fd77::2")
    expect(conn(6, 7441, dst=1)[0], m, False, "remote_addrs fd77::/126: peer fd77::6")
    r.remove()
    r, m = rule("ra-in", direction="in", remote_addrs="10.77.0.4/30,fd77::4/126")
    expect(conn(4, 7442, src=1)[1], m, True, "remote_addrs 10.77.0.4/30 (in): client 10.77.0.5")
    expect(conn(4, 7442, src=0)[1], m, False, "remote_addrs 10.77.0.4/30 (in): client 10.77.0.1")
    expect(conn(6, 7442, src=1)[1], m, True, "remote_addrs fd77::4/126 (in): client fd77::5")
    expect(conn(6, 7442, src=0)[1], m, False, "remote_addrs fd77::4/126 (in): client fd77::1")
    r.remove()
    r4, m4 = rule("ra-mapped-v4", direction="in", remote_addrs="10.77.0.0/30")
    expect(conn(4, 7450, lkey=("dual", 7450))[1], m4, True,
           "IPv4 client accepted by a dual-stack IPv6 listener (peer "
           "::ffff:10.77.0.1) matches IPv4 CIDR 10.77.0.0/30")
    r4.remove()
    r6, m6 = rule("ra-mapped-v6", direction="in",
                  remote_addrs="::ffff:10.77.0.0/126,fd77::/64")
    expect(conn(4, 7450, lkey=("dual", 7450))[1], m6, False,
           "the same mapped peer does not match IPv6 CIDRs "
           "::ffff:10.77.0.0/126,fd77::/64")
    r6.remove()
    r4, m4 = rule("ra-mapped-out4", direction="out", remote_addrs="10.77.0.2")
    expect(conn(4, 7451, sockfam=6, addr="::ffff:10.77.0.2")[0], m4, True,
           "IPv6 socket connecting to ::ffff:10.77.0.2 matches IPv4 CIDR 10.77.0.2")
    r4.remove()
    r6, m6 = rule("ra-mapped-out6", direction="out",
                  remote_addrs="::ffff:10.77.0.2/128")
    expect(conn(4, 7451, sockfam=6, addr="::ffff:10.77.0.2")[0], m6, False,
           "... and not IPv6 CIDR ::ffff:10.77.0.2/128")
    r6.remove()

    # ---- cgroup ----
    r, m = rule("cg", cgroup=CG)
    expect(conn(4, 7460, agent=cli_cg)[0], m, True,
           f"cgroup {CG}: client moved into {CG_CHILD} (subtree)")
    expect(conn(4, 7460, agent=cli)[0], m, False,
           "cgroup: client in the root cgroup")
    expect(conn(6, 7460, agent=cli_cg)[0], m, True, "cgroup: same over IPv6")
    r.set("direction", "in")
    expect(conn(4, 7461, lkey="cg", server=srv_cg)[1], m, True,
           f"cgroup (in): accepted from a listener created in {CG_CHILD}")
    expect(conn(4, 7460)[1], m, False,
           "cgroup (in): accepted from a listener in the root cgroup")
    r.remove()
    r, m = rule("cg-exact", cgroup=CG_CHILD, direction="out")
    expect(conn(4, 7460, agent=cli_cg)[0], m, True, f"cgroup {CG_CHILD} itself")
    r.remove()
    r, m = rule("cg-sibling", cgroup=CG + "/other", direction="out")
    expect(conn(4, 7460, agent=cli_cg)[0], m, False, f"cgroup {CG}/other (a sibling)")
    r.remove()

    r, m = rule("cg-again", cgroup=CG, direction="out")
    expect(conn(4, 7460, agent=cli_cg)[0], m, True, "cgroup rule before re-creation")
    cg.remove(CG)                    # moves the agent to the root first
    cg.create(CG_CHILD)
    cg.move(cli_cg.pid, CG_CHILD)
    d = Deadline(3.0)
    while True:
        got = conn(4, 7460, agent=cli_cg)[0]
        if got == m or d.expired():
            break
        time.sleep(0.1)
    t.ok(got == m, f"cgroup {CG} removed and re-created: matches again "
         "within 3 s", diag=f"keepidle {got} after {d.elapsed():.2f} s")
    t.diag(f"re-created cgroup matched after {d.elapsed():.2f} s")
    t.eq(r.get("cgroup"), CG, "the rule still reads back its cgroup path")
    r.remove()

    # ---- netns ----
    r, m = rule("ns-cli", netns=pair.cli.inode)
    c, s = conn(4, 7470)
    expect(c, m, True, f"netns {pair.cli.inode} (client's): client side")
    expect(s, m, False, "netns (client's): server side")
    r.set("netns", pair.srv.inode)
    c, s = conn(6, 7470)
    expect(c, m, False, f"netns {pair.srv.inode} (server's): client side")
    expect(s, m, True, "netns (server's): server side")
    r.remove()

    # ---- direction ----
    for dirn, want_c, want_s in (("out", True, False), ("in", False, True),
                                 ("any", True, True)):
        r, m = rule(f"dir-{dirn}", direction=dirn)
        c, s = conn(4, 7490)
        expect(c, m, want_c, f"direction {dirn}: connecting end")
        expect(s, m, want_s, f"direction {dirn}: accepted end")
        r.remove()

    # ---- everything combined ----
    r, m = rule("all", direction="out", remote_ports=7480,
                remote_addrs="10.77.0.0/30", cgroup=CG, netns=pair.cli.inode)
    expect(conn(4, 7480, agent=cli_cg)[0], m, True,
           "combined (out, port 7480, 10.77.0.0/30, cgroup, netns): all match")
    expect(conn(4, 7481, agent=cli_cg)[0], m, False, "combined: wrong port")
    expect(conn(4, 7480, dst=1, agent=cli_cg)[0], m, False, "combined: wrong address")
    expect(conn(4, 7480, agent=cli)[0], m, False, "combined: outside the cgroup")
    r.set("netns", pair.srv.inode)
    expect(conn(4, 7480, agent=cli_cg)[0], m, False, "combined: other netns")
    r.set("netns", pair.cli.inode)
    r.set("direction", "in")
    expect(conn(4, 7480, agent=cli_cg)[0], m, False, "combined: wrong direction")
    r.set("direction", "out")
    expect(conn(4, 7480, agent=cli_cg)[0], m, True, "combined: all match again")
    r.remove()

    for a in (cli, srv, cli_cg, srv_cg):
        a.close_agent()
    pair.delete()
    cg.remove(CG)


Tap.run(main, PLAN)
