#!/usr/bin/env python3
# timeout: 180
"""Evaluation order: priority, ties by name, disabled rules, no merging,
the index against wildcard rules, the two decision moments of an
outgoing connection, and the global switch.

The index (module/index.c) files each rule under one selector: a block
of ports, a CIDR of one prefix length, a cgroup or a netns, the blocks
and prefixes coarsened to a few shapes (so a bucket also holds rules the
connection's key does not satisfy, which the model catches). Two random
models check it against a plain first-match walk: ports only, then every
selector at once (both families, both directions, bound source ports
and addresses, half the connections unbound in an ephemeral range the
rules cover, the client in a cgroup below the root). An unbound
connection's decision that waited for its local port is finished from
what connect() kept (module/pending.c): its list of waiting rules, its
overflow, the local-port probe, each checked where it decides. debugfs
lookup_bench, with which bench/ times the lookup, finds what the hook
finds.

Each rule sets a distinct keepidle; the value getsockopt(TCP_KEEPIDLE)
shows in the owning process names the rule that won.
"""
import errno
import ipaddress
import os
import random
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, listen_all, kernel_defaults, connect_pair  # noqa: E402
import cgroup as cg                                   # noqa: E402

PORTS = [7501, 7502, 7503, 7504, 7505, 7506, 7650, 7720]
PLAN = 56
OVERLAY_MAX = 256               # module/rules.c TT_OVERLAY_MAX
LOOKUP_BENCH = "/sys/kernel/debug/tcptimeo/lookup_bench"


def bench_write(text):
    """Write debugfs lookup_bench: its errno, or 0."""
    fd = os.open(LOOKUP_BENCH, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def lookup_bench(t):
    """debugfs lookup_bench (bench/lookup-bench.py times the lookup with
    it): the lookup it runs is the hook's, so it finds the rule that
    stamped each end of a loopback connection; bad writes fail."""
    with Rule("lb-out", priority=1, direction="out",
              remote_addrs="127.0.0.0/8", keepidle=131), \
            Rule("lb-in", priority=2, direction="in",
                 remote_addrs="127.0.0.0/8", keepidle=132):
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen(1)
        c = socket.create_connection(lst.getsockname())
        s, _ = lst.accept()
        got = []
        for sock in (c, s):
            rc = bench_write(f"{sock.fileno()} 1000")
            with open(LOOKUP_BENCH) as f:
                w = f.read().split()
            kv = dict(zip(w[::2], w[1::2]))
            got.append((rc, sock.getsockopt(socket.IPPROTO_TCP,
                                            socket.TCP_KEEPIDLE),
                        kv.get("rule"), kv.get("lookups"),
                        int(kv.get("ns", 0)) > 0))
        t.eq(got, [(0, 131, "lb-out", "1000", True),
                   (0, 132, "lb-in", "1000", True)],
             "lookup_bench finds the rule that stamped each end "
             "(write, keepidle, rule, lookups, time > 0)")
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        errs = [bench_write(x) for x in
                ("x 1", f"{c.fileno()} 0", f"{c.fileno()} 10000001",
                 f"{u.fileno()} 10", f"{os.open('/', os.O_RDONLY)} 10")]
        t.eq(errs, [errno.EINVAL, errno.EINVAL, errno.EINVAL,
                    errno.EPROTONOSUPPORT, errno.ENOTSOCK],
             "lookup_bench rejects a malformed line, a count of 0 or over "
             "10^7, a UDP socket and a file that is no socket")
        for x in (u, s, c, lst):
            x.close()


def main(t):
    ttmod.load()
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    dflt = kernel_defaults(pair.cli)
    ls = listen_all(srv, PORTS, (4,))
    dst = pair.addr("srv", 4)

    def conn(port=7506):
        c, a = connect_pair(cli, srv, ls[(4, port)], 4, dst, port)
        return c["opts"], a["opts"]

    def idle(port=7506, side=0):
        return conn(port)[side]["keepidle"]

    # priority
    with Rule("p10", priority=10, direction="out", keepidle=101) as p10, \
            Rule("p20", priority=20, direction="out", keepidle=202):
        t.eq(idle(), 101, "priority 10 wins over priority 20")
        p10.set("priority", 30)
        t.eq(idle(), 202, "rewriting the live rule's priority to 30 reorders it")
        t.eq(ttmod.live_rule_names(), ["p20", "p10"],
             "sysfs rules lists the live table in evaluation order")

    # ties by name, bytewise
    with Rule("b-rule", priority=50, direction="out", keepidle=111), \
            Rule("a-rule", priority=50, direction="out", keepidle=222):
        t.eq(idle(), 222, "equal priority: a-rule before b-rule (name order)")
    with Rule("abc", priority=50, direction="out", keepidle=112), \
            Rule("Zed", priority=50, direction="out", keepidle=223):
        t.eq(idle(), 223, "equal priority: 'Zed' before 'abc' (bytewise, "
             "uppercase first)")
    with Rule("rule.1", priority=50, direction="out", keepidle=113), \
            Rule("rule-1", priority=50, direction="out", keepidle=224):
        t.eq(idle(), 224, "equal priority: 'rule-1' before 'rule.1' ('-' < '.')")
        t.eq(ttmod.live_rule_names(), ["rule-1", "rule.1"],
             "sysfs rules shows the tie order")

    # no merging
    with Rule("hi", priority=1, direction="out", keepidle=121), \
            Rule("lo", priority=2, direction="out", keepidle=77, keepintvl=33,
                 keepcnt=3):
        o = conn()[0]
        t.ok(o["keepidle"] == 121 and o["keepintvl"] == dflt["keepintvl"]
             and o["keepcnt"] == dflt["keepcnt"],
             "the winner's unset options stay untouched (no merging with "
             "lower rules)", diag=f"got {o}")

    # disabled rules
    with Rule("d1", enable=False, priority=1, direction="out", keepidle=131) as d1, \
            Rule("d2", priority=2, direction="out", keepidle=132):
        t.eq(idle(), 132, "a disabled rule is skipped")
        t.ok("d1" not in ttmod.live_rule_names(),
             "a disabled rule is not in sysfs rules",
             diag=f"{ttmod.live_rules()}")
        d1.enable()
        t.eq(idle(), 131, "enabled, it wins")
        d1.disable()
        t.eq(idle(), 132, "disabled again, it is skipped again")

    # a higher rule that does not match
    with Rule("nm", priority=1, direction="out", remote_ports=9, keepidle=141), \
            Rule("m", priority=2, direction="out", keepidle=142):
        t.eq(idle(), 142, "a higher-priority rule that does not match is passed over")

    # port index vs wildcard rules
    with Rule("port", priority=20, direction="out", remote_ports=7501,
              keepidle=151) as port, \
            Rule("wild", priority=10, direction="out", keepidle=152):
        t.eq(idle(7501), 152, "a wildcard rule of higher priority beats a port rule")
        port.set("priority", 5)
        t.eq(idle(7501), 151, "a port rule of higher priority beats a wildcard rule")
        t.eq(idle(7502), 152, "another port falls through to the wildcard rule")
    with Rule("pa", priority=30, direction="out", remote_ports=7503, keepidle=161), \
            Rule("pb", priority=29, direction="out", remote_ports="7503,7504",
                 keepidle=162):
        t.eq(idle(7503), 162, "two port rules for one port: priority decides")
    with Rule("ipt", priority=20, direction="in", local_ports=7505,
              keepidle=171) as ipt, \
            Rule("iwild", priority=10, direction="in", keepidle=172):
        t.eq(idle(7505, 1), 172, "in: a wildcard rule of higher priority beats "
             "a local-port rule")
        ipt.set("priority", 5)
        t.eq(idle(7505, 1), 171, "in: a local-port rule of higher priority wins")

    many = []
    try:
        for i in range(200):
            many.append(Rule(f"many{i:03d}", priority=500 - i, direction="out",
                             remote_ports=7600 + i, keepidle=1000 + i))
        many.append(Rule("many-wild", priority=400, direction="out", keepidle=999))
        t.eq(idle(7650), 999, "201 rules: port 7650's rule (priority 450) "
             "loses to the wildcard (400)")
        t.eq(idle(7720), 1120, "201 rules: port 7720's rule (priority 380) "
             "beats the wildcard")
        want = [r.name for r in sorted(many, key=lambda r: (
            int(r.get("priority")), r.name.encode()))]
        got = ttmod.live_rule_names()
        t.ok(got == want, f"sysfs rules lists all 201 rules in evaluation order "
             f"({len(ttmod.sysfs_get('rules'))} bytes, more than a page)",
             diag=f"{len(got)} lines; first difference at "
                  f"{next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))}")
    finally:
        for r in many:
            r.remove()

    # the index against a model: random rules, each port's winner
    rnd = random.Random(12)
    model = []

    def rport_text():
        v = rnd.random()
        if v < 0.15:
            return None                     # no port: a wildcard rule
        if v < 0.2:
            return "7000-7999"              # too many ports: wildcard too
        parts = []
        for _ in range(rnd.randint(1, 3)):
            lo = rnd.randint(7490, 7730)
            hi = lo + (rnd.randint(1, 15) if rnd.random() < 0.2 else 0)
            parts.append(f"{lo}-{hi}" if hi > lo else str(lo))
        return ",".join(parts)

    def ports_of(text):
        """"7500,7510-7512" -> {7500, 7510, 7511, 7512}"""
        ports = set()
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            ports.update(range(int(lo), int(hi or lo) + 1))
        return ports

    def want(port, side):
        for _, name, d, lp, rp, ki in sorted(model):
            if d not in (("out", "any") if side == 0 else ("in", "any")):
                continue
            sel = rp if side == 0 else lp
            if side == 0 and lp is not None:
                continue                    # ephemeral local port: never
            if side == 1 and rp is not None:
                continue                    # ephemeral remote port: never
            if sel is None or port in ports_of(sel):
                return ki
        return dflt["keepidle"]

    def against_model(what):
        got, exp = {}, {}
        for port in PORTS:
            c, a = conn(port)
            got[port] = (c["keepidle"], a["keepidle"])
            exp[port] = (want(port, 0), want(port, 1))
        bad = {p: (got[p], exp[p]) for p in PORTS if got[p] != exp[p]}
        t.ok(not bad, f"{what}: each port's winner, both ends, is the "
             f"model's", diag=f"port: (got, want) {bad}")

    rules, overlay = [], []
    try:
        for i in range(300):
            d = rnd.choice(["in", "out", "any"])
            lp = rp = None
            if d == "in":
                lp = rport_text()
            elif d == "out":
                rp = rport_text()
            else:
                v = rnd.random()
                lp = rport_text() if v < 0.3 else None
                rp = rport_text() if v > 0.6 else None
            name = f"ix{i:03d}"
            prio = rnd.randint(0, 1000)
            attrs = {"priority": prio, "direction": d, "keepidle": 3000 + i}
            if lp:
                attrs["local_ports"] = lp
            if rp:
                attrs["remote_ports"] = rp
            rules.append(Rule(name, **attrs))
            model.append((prio, name.encode(), d, lp, rp, 3000 + i))
            if i % 10 == 9:
                info = ttmod.index_info()
                overlay.append((info.get("overlay_added", 999),
                                info.get("overlay_removed", 999)))
        t.ok(max(a for a, _ in overlay) <= OVERLAY_MAX
             and max(r for _, r in overlay) <= OVERLAY_MAX
             and any(y < x for (x, _), (y, _) in zip(overlay, overlay[1:])),
             f"while 300 rules are written, a lookup walks at most "
             f"{OVERLAY_MAX} rules besides the index (the overlay; at most "
             f"{OVERLAY_MAX} more skipped), and the overlay is folded into "
             "a new base while the writes go on",
             diag=f"overlay (added, removed) {overlay}")
        info = ttmod.wait_index()
        # a rule is a wildcard only where it selects no port: both ports
        # index both directions (a range as blocks; an outgoing rule's
        # local ports also list it as deferred, for connect())
        wild_out = sum(1 for m in model
                       if m[2] in ("out", "any") and not m[3] and not m[4])
        wild_in = sum(1 for m in model
                      if m[2] in ("in", "any") and not m[3] and not m[4])
        t.ok(info["rules"] == 300 and info["out"]["wildcards"] == wild_out
             and info["in"]["wildcards"] == wild_in
             and info["buckets"] >= 256
             and info["buckets"] >= info["in"]["slots"] // 2,
             "300 rules: only the rules without a port are wildcards; port "
             "ranges (7000-7999 too) are blocks in a table sized to the slots",
             diag=f"{info}, want wildcards in {wild_in} out {wild_out}")
        against_model("300 random rules, the index")
        # move the last rule first: the index is stale until rebuilt
        last = max(model)
        rules[int(last[1][2:])].set("priority", 0)
        model[model.index(last)] = (0,) + last[1:]
        against_model("right after a priority change (the overlay)")
        ttmod.wait_index()
        against_model("after the index caught up")
        rules[int(last[1][2:])].remove()
        model.remove((0,) + last[1:])
        ttmod.wait_index()
        against_model("after a remove, the index")
    finally:
        for r in rules:
            r.remove()

    shapes_model(t, pair, cli, srv, dflt)

    # outgoing: decided at connect() or, for local_ports rules on an
    # unbound socket, once established
    old = pair.cli.sysctl_get("net.ipv4.ip_local_port_range").replace("\t", " ")
    pair.cli.sysctl("net.ipv4.ip_local_port_range", "42000 42009")
    try:
        with Rule("lp", priority=10, direction="out", local_ports="42000-42009",
                  keepidle=181) as lp, \
                Rule("any", priority=20, direction="out", keepidle=182):
            t.eq(idle(), 181, "a local_ports rule first in order waits for the "
                 "local port and wins when it matches")
            lp.set("local_ports", "43000")
            t.eq(idle(), 182, "... and when it does not, the next rule wins "
                 "at establishment")
            lp.set("priority", 30)
            lp.set("local_ports", "42000-42009")
            t.eq(idle(), 182, "a port-less rule first in order wins at connect()")
        pending_finish(t, idle, cli, dst)
    finally:
        pair.cli.sysctl("net.ipv4.ip_local_port_range", old)

    # one line of the live table with every field (docs/ABI.md, sysfs rules);
    # netns must name a live namespace: this test's own (init_net's inode
    # number differs between kernels: 4026531840 up to 6.x, not on 7.x)
    my_ns = os.stat("/proc/self/ns/net").st_ino
    with Rule("full", priority=7, direction="in", local_ports="443,80",
              remote_ports="1000-2000", remote_addrs="10.0.0.0/8,fd00::/8",
              netns=my_ns, keepalive=1, keepidle=11, keepintvl=7,
              keepcnt=5, user_timeout="auto", syn_retries=3, mode="force"):
        t.eq(ttmod.live_rules(), [
            "full priority 7 dir in local-port 80,443 remote-port 1000-2000 "
            f"remote-addr 10.0.0.0/8,fd00::/8 netns {my_ns} keepalive idle 11s "
            "intvl 7s cnt 5 user-timeout auto syn-retries 3 force"],
            "sysfs rules renders a rule in the documented rules-file syntax")

    # global switch
    with Rule("g", direction="any", keepidle=191):
        c, a = conn()
        t.ok(c["keepidle"] == 191 and a["keepidle"] == 191,
             "switch on: both ends stamped", diag=f"{c} {a}")
        ttmod.sysfs_set("enabled", 0)
        c, a = conn()
        t.ok(ttmod.sysfs_get("enabled") == "0" and c == dflt and a == dflt,
             "global enabled=0: nothing stamped", diag=f"{c} {a}")
        t.ok(os.path.isdir(ttmod.RULES + "/g") and ttmod.live_rule_names() == ["g"],
             "global enabled=0 keeps the rules", diag=f"{ttmod.live_rules()}")
        ttmod.sysfs_set("enabled", 1)
        c, a = conn()
        t.ok(c["keepidle"] == 191 and a["keepidle"] == 191,
             "global enabled=1: stamping resumes", diag=f"{c} {a}")

    lookup_bench(t)
    cli.close_agent()
    srv.close_agent()
    pair.delete()


PEND_WAITS = 3                  # module/tcptimeo.h TT_WAITS


def pending_finish(t, idle, cli, dst):
    """An unbound connection's decision, left waiting for the local port at
    connect(), is finished once established from what connect() kept
    (module/pending.c): the first rule that matched without the port and
    the rules before it that wait for it. Rules that select a remote port
    besides local ports are filed under the remote port, so connect()
    lists them, up to PEND_WAITS; past that the decision is a full
    lookup. Either way the first rule that matches wins. The client's
    ephemeral ports are 42000-42009."""
    def pend():
        p = ttmod.index_info().get("pending", {})
        return p.get("finished", 0), p.get("full", 0)

    waits = [Rule(f"w{i}", priority=i, direction="out",
                  local_ports="43000-43009", remote_ports="7506",
                  keepidle=170 + i) for i in range(1, PEND_WAITS + 2)]
    try:
        with Rule("lpr", priority=10, direction="out",
                  local_ports="42000-42009", remote_ports="7500-7510",
                  keepidle=184), \
                Rule("any", priority=20, direction="out", keepidle=182):
            for nwait in (PEND_WAITS - 1, PEND_WAITS + 1):
                for w in waits[nwait:]:
                    w.set("enabled", 0)
                for w in waits[:nwait]:
                    w.set("enabled", 1)
                for phase in (0, 1):
                    if phase == 0:
                        # a hold keeps the table, overlay and all, as it is
                        ttmod.sysfs_set("hold", 60)
                    else:
                        ttmod.sysfs_set("commit", 1)
                        ttmod.wait_index()
                    where = "the index" if ttmod.index_info()["current"] \
                        else "the overlay"
                    before = pend()
                    got = idle()
                    after = pend()
                    # an indexed rule past the list makes it a full lookup
                    want = (0, 1) if where == "the index" and \
                        nwait + 1 > PEND_WAITS else (1, 0)
                    t.eq((got, (after[0] - before[0], after[1] - before[1])),
                         (184, want),
                         f"{nwait} rules wait before the match, in {where}: "
                         "the match wins at establishment, "
                         + ("from connect()'s list" if want == (1, 0) else
                            "by a full lookup (the list holds "
                            f"{PEND_WAITS})") + " (keepidle, (finished, full))")
            for w in waits:
                w.set("enabled", 0)
            ttmod.wait_index()
            before = pend()
            got = idle()
            after = pend()
            t.eq((got, after[0] - before[0], after[1] - before[1]), (184, 1, 0),
                 "no rule waits but the match: finished from connect()'s "
                 "list (keepidle, finished, full)")
            with Rule("lpo", priority=5, direction="out",
                      local_ports="42000-42009", keepidle=185):
                ttmod.wait_index()
                before = pend()
                got = idle()
                after = pend()
                t.eq((got, after[0] - before[0], after[1] - before[1]),
                     (185, 1, 0), "a rule that selects only local ports, "
                     "in the index, wins at establishment over a later one "
                     "that selects more (keepidle, finished, full)")
                # a connect() refused (RST in SYN_SENT -> CLOSE)
                r = cli.connect(4, dst, 7599, timeout=5, check=False)
                kept = ttmod.index_info().get("pending", {}).get("kept")
                t.ok(kept == 0 and not r.get("ok", True),
                     "every slot is given back: after the connections and "
                     "a refused connect(), none is kept",
                     diag=f"kept {kept}, connect {r}")
    finally:
        if ttmod.sysfs_get("hold") != "0":
            ttmod.sysfs_set("commit", 1)
        for w in waits:
            w.remove()


SHAPE_PORTS = [7801, 7802, 7803, 7840]
SRC_BASE = 20000                # bound source ports, above the ephemeral range
EPHEMERAL = (19960, 19999)      # the client's unbound source ports
ROUNDS = 6
RULES_PER_ROUND = 60


def shapes_model(t, pair, cli, srv, dflt):
    """Every selector shape at once against a first-match model."""
    rnd = random.Random(1912)
    cg.ensure_mounted()
    cg.remove("/tt12")
    cg.create("/tt12/a")
    cg.create("/tt12/b")
    cg.move(cli.pid, "/tt12/a")
    ls = listen_all(srv, SHAPE_PORTS, (4, 6))
    nsid = {"cli": pair.cli.inode, "srv": pair.srv.inode}
    cgs = {"cli": "/tt12/a", "srv": "/"}
    addrs = [a for side in ("cli", "srv") for f in (4, 6)
             for a in pair.ADDRS[side][f]]
    src = [SRC_BASE]

    def ports_text(near):
        parts = []
        for _ in range(rnd.randint(1, 2)):
            lo = rnd.choice(near) - rnd.choice([0, 0, 1, 5, 40])
            hi = lo + rnd.choice([0, 0, 1, 3, 80, 700, 30000])
            parts.append(f"{lo}-{min(hi, 65535)}" if hi > lo else str(lo))
        return ",".join(parts)

    def cidrs_text():
        parts = []
        for _ in range(rnd.randint(1, 2)):
            a = ipaddress.ip_address(rnd.choice(addrs))
            plen = rnd.randint(0, a.max_prefixlen)
            if rnd.random() < 0.3:
                plen = a.max_prefixlen
            parts.append(str(ipaddress.ip_network(f"{a}/{plen}", strict=False)))
        return ",".join(parts)

    def rand_rule(i):
        d = rnd.choice(["in", "out", "any"])
        r = {"priority": rnd.randint(0, 1000), "direction": d,
             "keepidle": 5000 + i}
        near = SHAPE_PORTS + [SRC_BASE + 10 * rnd.randint(0, 3), EPHEMERAL[0]]
        sel = []
        while not sel:          # a rule without one wins all it sees
            sel = [a for a, p in (("local_ports", 0.4), ("remote_ports", 0.4),
                                  ("remote_addrs", 0.5), ("cgroup", 0.4),
                                  ("netns", 0.4)) if rnd.random() < p]
        for attr in sel:
            if attr.endswith("ports"):
                r[attr] = ports_text(near)
            elif attr == "remote_addrs":
                r[attr] = cidrs_text()
            elif attr == "cgroup":
                r[attr] = rnd.choice(["/tt12", "/tt12/a", "/tt12/b", "/"])
            else:
                r[attr] = nsid[rnd.choice(["cli", "srv"])]
        return r

    def in_ports(text, port):
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            if int(lo) <= port <= int(hi or lo):
                return True
        return False

    def in_cgroup(rule_cg, sock_cg):
        return rule_cg == "/" or sock_cg == rule_cg or \
            sock_cg.startswith(rule_cg + "/")

    def matches(r, side, lport, rport, raddr):
        d = "out" if side == "cli" else "in"
        if r["direction"] not in (d, "any"):
            return False
        if "local_ports" in r and not in_ports(r["local_ports"], lport):
            return False
        if "remote_ports" in r and not in_ports(r["remote_ports"], rport):
            return False
        if "remote_addrs" in r and not any(
                ipaddress.ip_address(raddr) in ipaddress.ip_network(c)
                for c in r["remote_addrs"].split(",")):
            return False
        if "cgroup" in r and not in_cgroup(r["cgroup"], cgs[side]):
            return False
        if "netns" in r and r["netns"] != nsid[side]:
            return False
        return True

    def want(rules, side, lport, rport, raddr):
        for name, r in sorted(rules.items(),
                              key=lambda kv: (kv[1]["priority"], kv[0].encode())):
            if matches(r, side, lport, rport, raddr):
                return r["keepidle"]
        return dflt["keepidle"]

    def against(rules, what):
        bad, won, names = [], 0, set()
        for k in range(16):
            fam = (4, 6)[k % 2]
            caddr = pair.ADDRS["cli"][fam][(k // 2) % 2]
            saddr = pair.ADDRS["srv"][fam][(k // 4) % 2]
            dport = SHAPE_PORTS[k % len(SHAPE_PORTS)]
            sport = src[0] + rnd.choice([0, 10, 20, 30]) + k % 10
            src[0] += 40
            # one in two unbound: decided at connect() without the local
            # port, then again once established
            bind = None if k % 2 else (caddr, sport)
            c, a = connect_pair(cli, srv, ls[(fam, dport)], fam, saddr, dport,
                                bind=bind)
            caddr, sport = c["local"][0], c["local"][1]
            got = (c["opts"]["keepidle"], a["opts"]["keepidle"])
            exp = (want(rules, "cli", sport, dport, saddr),
                   want(rules, "srv", dport, sport, caddr))
            won += sum(1 for v in exp if v != dflt["keepidle"])
            names |= {v for v in exp if v != dflt["keepidle"]}
            if got != exp:
                bad.append(f"{caddr}:{sport}->{saddr}:{dport} got {got} "
                           f"want {exp}")
        t.ok(not bad, f"{what}: both ends' winners are the model's for 16 "
             "connections (v4/v6, bound and unbound)",
             diag="; ".join(bad[:6]))
        t.diag(f"{what}: a rule won {won} of 32 decisions, "
               f"{len(names)} distinct")
        return names

    made, rules, shapes, winners = [], {}, set(), set()
    old_range = pair.cli.sysctl_get("net.ipv4.ip_local_port_range").replace("\t", " ")
    pair.cli.sysctl("net.ipv4.ip_local_port_range", "%d %d" % EPHEMERAL)
    pend0 = ttmod.index_info().get("pending", {})

    def clear():
        for r in made:
            r.remove()
        made.clear()
        rules.clear()

    try:
        for rnd_i in range(ROUNDS):
            clear()
            for i in range(RULES_PER_ROUND):
                r = rand_rule(i)
                name = f"sh{i:03d}"
                made.append(Rule(name, **r))
                rules[name] = r
            info = ttmod.wait_index()
            shapes |= set(info.get("in-shapes", []) + info.get("out-shapes", []))
            winners |= against(rules, f"round {rnd_i + 1}: {RULES_PER_ROUND} "
                               "random rules, the index")
        kinds = {s.split("/")[0] for s in shapes}
        t.ok({"local-port", "remote-port", "remote-addr4", "remote-addr6",
              "cgroup", "netns"} <= kinds and len(shapes) > 20,
             f"the rounds used {len(shapes)} shapes of every kind and "
             f"{len(winners)} distinct winners", diag=f"{sorted(shapes)}")
        # a lookup probes every shape: they are coarse (module/index.c,
        # TT_*_STRIDE), so random ranges and prefixes cannot multiply them
        step = {"local-port": 4, "remote-port": 4, "remote-addr4": 8,
                "remote-addr6": 16}
        off = sorted(s for s in shapes if "/" in s and
                     int(s.split("/")[1]) % step[s.split("/")[0]])
        t.ok(not off and len(shapes) <= 26,
             f"every shape is coarse: blocks of 2^4j ports, prefixes of 8j "
             f"(IPv4) and 16j (IPv6) bits ({len(shapes)} of at most 26)",
             diag=f"off the grid: {off}")
        first = min(rules, key=lambda n: (rules[n]["priority"], n.encode()))
        last = max(rules, key=lambda n: (rules[n]["priority"], n.encode()))
        made[int(last[2:])].set("priority", 0)
        rules[last]["priority"] = 0
        made[int(first[2:])].remove()
        del rules[first]
        against(rules, "right after a priority change and a remove, the "
                "overlay")
        ttmod.wait_index()
        against(rules, "after a priority change and a remove, the index")
        pend1 = ttmod.index_info().get("pending", {})
        fin, full = (pend1.get(k, 0) - pend0.get(k, 0)
                     for k in ("finished", "full"))
        t.ok(fin > 0 and full >= 0,
             f"the unbound connections' decisions were finished from what "
             f"connect() kept ({fin} of them; {full} by a full lookup)",
             diag=f"{pend0} -> {pend1}")
    finally:
        pair.cli.sysctl("net.ipv4.ip_local_port_range", old_range)
        clear()
        for lid in ls.values():
            srv.close(lid)
        cg.move(cli.pid, "/")
        cg.remove("/tt12")


Tap.run(main, PLAN)
