#!/usr/bin/env python3
# timeout: 300
"""tcptimeoctl explain agrees with what the module stamps.

For N generated rule sets and connections (seeded, reproducible):
rules are loaded with `tcptimeoctl apply -`, an unmodified client and
server (lib/agent.py) open one real connection, and both ends are
compared with `explain -j`:
- the outgoing socket: explain --dir out --remote DST:PORT --local-port LP
  [--bound] --pid CLIENT  vs getsockopt() in the client
- the accepted socket: explain --dir in --remote SRC:LP --local-port PORT
  --pid SERVER            vs getsockopt() in the server
- the rules explain named are exactly the rules whose `matched` counters
  moved.
Generated: priorities with ties, dir in/out/any, local and remote port
lists (ephemeral range narrowed to 40000-40063 so local-port rules on
unbound connections defer to established), IPv4/IPv6/IPv4-mapped peers
and CIDRs, cgroup subtrees, netns, fill/force/clamp, audit, disabled.
"""
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "cli"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
import cgroup as cg                                   # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, OPTS                          # noqa: E402
from ctl import ctl, ctl_json, all_rules, show        # noqa: E402

N = 24
PLAN = 3 * N + 2
HAS_RTO_MAX = ttmod.has_rto_max()
SEED = int(os.environ.get("TCPTIMEO_SEED", "20261127"))
CG = "/tt-ex"
SPORTS = {"a": [7101, 7102, 7103], "b": [7201, 7202]}
NAMES = ["alpha", "beta", "Gamma", "delta", "eps", "zeta", "Eta", "theta"]


def gen_rules(rng, pair, k):
    rules = []
    names = rng.sample(NAMES, rng.randint(2, 5))
    for i, name in enumerate(names):
        w = [name]
        if rng.random() < 0.8:
            w += ["priority", str(rng.choice([10, 20, 20, 20, 1000]))]
        d = rng.choice(["in", "out", "any", "any"])
        w += ["dir", d]
        if rng.random() < 0.3:
            w += ["local-port", rng.choice(["7101-7103,7201-7202", "7102-7103,7202",
                                            "40000-40031,7101-7201", "40032-40063,7102",
                                            "40000-40063,40100-40199", "40100-40199,7202"])]
        if rng.random() < 0.25:
            w += ["remote-port", rng.choice(["7101-7202", "7102,7202", "7101,7201",
                                             "40000-40063", "40000-40031,40100-40199"])]
        if rng.random() < 0.25:
            w += ["remote-addr", rng.choice(["10.77.0.0/24", "10.77.0.2/31,10.77.0.1",
                                             "10.77.0.0/29,fd77::/64", "fd77::/64",
                                             "fd77::/120,10.0.0.0/8", "0.0.0.0/0"])]
        if rng.random() < 0.2:
            w += ["cgroup", rng.choice([CG, CG, CG + "/a", CG + "/b"])]
        if rng.random() < 0.1:
            w += ["netns", str(rng.choice([pair.cli.inode, pair.srv.inode]))]
        if rng.random() < 0.5:
            w += ["keepalive"]
        # a distinct idle per rule: getsockopt alone tells who won
        w += ["idle", str(100 + 10 * k + i if rng.random() < 0.9 else 9000 + i)]
        if rng.random() < 0.5:
            w += ["intvl", str(rng.randint(1, 120))]
        if rng.random() < 0.5:
            w += ["cnt", str(rng.randint(1, 20))]
        if rng.random() < 0.5:
            w += ["user-timeout", rng.choice(["auto", "5000", "12s", "1m"])]
        if rng.random() < 0.4:
            w += ["syn-retries", str(rng.randint(2, 9))]
        m = rng.random()
        if m < 0.15:
            w += ["force"]
        elif m < 0.35:
            w += ["clamp"]
        if rng.random() < 0.08:
            w += ["audit"]
        if rng.random() < 0.1:
            w += ["disabled"]
        rules.append(" ".join(w))
    return rules


def main(t):
    ttmod.load()
    ttmod.remove_all_rules()
    cg.ensure_mounted()
    cg.remove(CG)
    for c in ("a", "b"):
        cg.create(f"{CG}/{c}")
    pair = Pair()
    pair.cli.sysctl("net.ipv4.ip_local_port_range", "40000 40063")
    clis = {"a": Agent(pair.cli, cgroup=CG + "/a"), "b": Agent(pair.cli, cgroup=CG + "/b"),
            "root": Agent(pair.cli)}
    srvs = {"a": Agent(pair.srv, cgroup=CG + "/a"), "b": Agent(pair.srv, cgroup=CG + "/b")}
    listeners = {}
    for s, ports in SPORTS.items():
        for p in ports:
            listeners[s, 4, p] = srvs[s].listen(4, "0.0.0.0", p)
            listeners[s, 6, p] = srvs[s].listen(6, "::", p, v6only=True)

    rng = random.Random(SEED)
    t.diag(f"seed {SEED} (TCPTIMEO_SEED=... to change)")
    seen = {}
    bound_port = 40100
    for k in range(N):
        rules = gen_rules(rng, pair, k)
        p = ctl("apply", "-q", "-", stdin="\n".join(rules) + "\n")
        if p.returncode != 0:
            t.fail_rest(f"apply failed: {show(p)}")
            return
        fam = rng.choice([4, 4, 6, 6, "mapped"])
        sside = rng.choice(["a", "b"])
        port = rng.choice(SPORTS[sside])
        cside = rng.choice(["a", "b", "root"])
        dsti = rng.choice([0, 1])
        bind = None
        if rng.random() < 0.3:
            bound_port += 1
            src = pair.addr("cli", 4 if fam == "mapped" else fam, rng.choice([0, 1]))
            bind = [("::ffff:" + src) if fam == "mapped" else src, bound_port]
        if fam == "mapped":
            dst, sockfam, lfam = "::ffff:" + pair.addr("srv", 4, dsti), 6, 4
        else:
            dst, sockfam, lfam = pair.addr("srv", fam, dsti), fam, fam
        before = {n: int(r["matched"]) for n, r in all_rules(counters=True).items()}
        c = clis[cside].connect(sockfam, dst, port, bind=bind)
        a = srvs[sside].accept(listeners[sside, lfam, port])
        after = {n: int(r["matched"]) for n, r in all_rules(counters=True).items()}
        lport = c["local"][1]
        rdst = f"[{dst}]:{port}" if ":" in dst else f"{dst}:{port}"
        args_out = ["explain", "--dir", "out", "--remote", rdst, "--local-port", str(lport),
                    "--pid", str(clis[cside].pid), "-j"] + (["--bound"] if bind else [])
        peer = a["peer"][0]
        rsrc = f"[{peer}]:{lport}" if ":" in peer else f"{peer}:{lport}"
        args_in = ["explain", "--dir", "in", "--remote", rsrc, "--local-port", str(port),
                   "--pid", str(srvs[sside].pid), "-j"]
        eo = ctl_json(*args_out)
        ei = ctl_json(*args_in)
        what = (f"#{k} {fam} {cside}->{sside}:{port} lport {lport}{' bound' if bind else ''}")
        diag_rules = "rules:\n  " + "\n  ".join(rules)
        # rto_max (TCP_RTO_MAX_MS, 6.15+) is read on its own: null without it
        go = dict({o: c["opts"][o] for o in OPTS},
                  rto_max=clis[cside].getopt(c["id"], "rto_max") if HAS_RTO_MAX else None)
        gi = dict({o: a["opts"][o] for o in OPTS},
                  rto_max=srvs[sside].getopt(a["id"], "rto_max") if HAS_RTO_MAX else None)
        t.ok(eo["values"] == go,
             f"{what}: out socket, explain ({eo['rule']}, {eo['decided']}) == getsockopt",
             diag=f"{diag_rules}\nexplain {eo['values']}\ngetsock {go}\n{' '.join(args_out)}")
        t.ok(ei["values"] == gi,
             f"{what}: accepted socket, explain ({ei['rule']}) == getsockopt",
             diag=f"{diag_rules}\nexplain {ei['values']}\ngetsock {gi}\n{' '.join(args_in)}")
        want = {}
        for r in (eo["rule"], ei["rule"]):
            if r:
                want[r] = want.get(r, 0) + 1
        moved = {n: after[n] - before.get(n, 0) for n in after if after[n] != before.get(n, 0)}
        t.ok(moved == want, f"{what}: the rules explain names are the rules whose matched moved",
             diag=f"{diag_rules}\nexplain {want}, matched moved {moved}")
        for e in (eo, ei):
            seen[e["decided"]] = seen.get(e["decided"], 0) + 1
        seen["stamped"] = seen.get("stamped", 0) + (eo["stamped"] + ei["stamped"])
        clis[cside].close(c["id"])
        srvs[sside].close(a["id"])
    t.diag(f"decisions seen: {seen}")
    t.ok(seen.get("connect", 0) and seen.get("accept", 0) and seen.get("none", 0),
         f"the generated cases cover connect-time, accept and no-match decisions ({seen})")
    t.ok(seen.get("established", 0) > 0,
         f"... and outgoing decisions deferred to established ({seen.get('established', 0)})")
    for a in list(clis.values()) + list(srvs.values()):
        a.close_agent()
    pair.delete()
    ttmod.remove_all_rules()
    cg.remove(CG)


Tap.run(main, PLAN)
