#!/usr/bin/env python3
# timeout: 240
"""tcptimeo's tracepoints: each event fires once per action, with the
right fields, for connections whose every field the test knows.

Topology: two network namespaces (cli, srv) joined by veth (lib/netns.py
Pair), IPv4 and IPv6. The test reads the events from a tracefs instance
of its own (lib/events.py), and through `tcptimeoctl monitor -j`.

  tcptimeo:stamp    out, IPv4 and IPv6: rule "ev-out" (fill) on a connect;
                    the option the application set itself (TCP_KEEPCNT)
                    is in skipped, not in set, and its value stays;
                    in, IPv4 and IPv6: rule "ev-in" on the accepted child,
                    endpoints and netns of the server side;
                    origin=existing: apply_existing reaching a connection
                    opened before its rule ("ev-ex");
                    origin=restamp: a force rule ("ev-force") putting its
                    user timeout back after the application's setsockopt;
                    audit=1: an audit rule writes nothing, says so
  tcptimeo:abort    abort_peers on ev-ex's connection: rule, state, ends
  tcptimeo:timeout  the server vanishes: an idle connection ends by
                    keepalive, a busy one by retransmission (user timeout)
                    and a connect() by SYN retries, each with the time
                    since the peer was last heard from (at least the
                    silence its rule allows: idle 3 s + 2 probes, the
                    5 s user timeout)
  monitor -j        two monitors at once both see every event of a new
                    connection, as JSON, and a third with --rule and
                    --event sees only those (a kernel-side filter); none
                    leaves its tracefs instance behind
  lost events       a monitor stopped (SIGSTOP) with a 4 KiB buffer while
                    apply_existing stamps 8 connections 40 times reports
                    the events it lost: seen + lost covers every one
"""
import errno
import json
import os
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
import events                                         # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, connect_pair, listen_all      # noqa: E402
from deadline import poll                             # noqa: E402

P_OUT, P_IN, P_EX, P_FORCE, P_AUDIT, P_SYN, P_MON, P_LOST = range(7651, 7659)
N_LOST, ROUNDS = 8, 40
PLAN = 19
READY = "# tcptimeoctl monitor:"


def start_monitor(*args):
    """tcptimeoctl monitor ARGS, once it says its events are on (stderr)."""
    m = subprocess.Popen([ttmod.CTL, "monitor", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 15
    m.early = []
    while time.monotonic() < end:
        r, _, _ = select.select([m.stderr], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        line = m.stderr.readline()
        if not line:
            break
        m.early.append(line)
        if line.startswith(READY):
            m.ready = True
            return m
    m.ready = False
    return m


def stop_monitor(m, sig=signal.SIGINT):
    """(exit status, stdout, stderr) after `sig`."""
    if m.poll() is None:
        m.send_signal(sig)
    try:
        so, se = m.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        m.kill()
        so, se = m.communicate()
    return m.returncode, so, "".join(m.early) + se


def json_lines(text):
    objs, bad = [], []
    for line in text.splitlines():
        try:
            objs.append(json.loads(line))
        except ValueError:
            bad.append(line)
    return objs, bad


def main(t):
    ttmod.load()
    tr = events.Trace()
    fmt = tr.format("stamp")
    t.ok("char rule[33]" in fmt and "__u8 saddr[28]" in fmt and "__u64 cgroup" in fmt
         and "__u16 set" in fmt,
         "tcptimeo:stamp is defined with typed fields (rule name, sockaddr endpoints, "
         "cgroup id, option masks)", diag=fmt)

    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    addr = {(side, f): pair.addr(side, f) for side in ("cli", "srv") for f in (4, 6)}
    ev_out = Rule("ev-out", direction="out", remote_ports=P_OUT, keepalive=1, keepidle=3,
                  keepintvl=1, keepcnt=2, user_timeout=5000)
    ev_in = Rule("ev-in", direction="in", local_ports=P_IN, keepalive=1, keepidle=40,
                 keepcnt=4)
    ev_force = Rule("ev-force", direction="out", remote_ports=P_FORCE, user_timeout=4000,
                    mode="force")
    ev_audit = Rule("ev-audit", direction="out", remote_ports=P_AUDIT, keepidle=9, audit=1)
    ev_syn = Rule("ev-syn", direction="out", remote_ports=P_SYN, syn_retries=1)
    ls = listen_all(srv, [P_OUT, P_IN, P_EX, P_FORCE, P_AUDIT, P_MON, P_LOST])

    def conn(fam, port, opts=None):
        c, a = connect_pair(cli, srv, ls[fam, port], fam, addr["srv", fam], port, opts=opts)
        return c, a

    def one(pred, what, timeout=10):
        got = tr.wait(pred, timeout)
        return got[0] if len(got) == 1 else ({"count": len(tr.find(pred))} if got else None)

    # --- stamp, out: fill, the application's own TCP_KEEPCNT left alone
    outs = {}
    for fam in (4, 6):
        c, _ = conn(fam, P_OUT, opts={"keepcnt": 5} if fam == 4 else None)
        outs[fam] = c
        e = one(lambda e, fam=fam: e["event"] == "stamp" and e["rule"] == "ev-out" and
                e["dst"] == addr["srv", fam] and e["dport"] == P_OUT, "stamp out")
        want = {"dir": "out", "origin": "new", "mode": "fill", "audit": 0,
                "src": c["local"][0], "netns": pair.cli.inode,
                "set": ["keepalive", "idle", "intvl", "user_timeout"] +
                       ([] if fam == 4 else ["cnt"]),
                "skipped": ["cnt"] if fam == 4 else [],
                "keepalive": 1, "idle": 3, "intvl": 1, "cnt": 5 if fam == 4 else 2,
                "user_timeout": 5000}
        got = {k: (sorted(e[k]) if isinstance(e.get(k), list) else e.get(k))
               for k in want} if isinstance(e, dict) and "event" in e else e
        want = {k: sorted(v) if isinstance(v, list) else v for k, v in want.items()}
        t.eq(got, want, f"IPv{fam} connect under ev-out: one stamp event, dir out, the "
             "client's address and netns, set and skipped as the application left them "
             "(its TCP_KEEPCNT=5 skipped), the socket's values after it" if fam == 4 else
             f"IPv{fam} connect under ev-out: one stamp event, every option set")
        if fam == 4:
            t.eq(cli.getopts(c["id"])["keepcnt"], 5,
                 "getsockopt: the skipped TCP_KEEPCNT is still the application's 5")

    # --- stamp, in: the accepted child, seen from the server
    for fam in (4, 6):
        c, a = conn(fam, P_IN)
        cport = c["local"][1]
        e = one(lambda e, fam=fam, cport=cport: e["event"] == "stamp" and
                e["rule"] == "ev-in" and e["dport"] == cport, "stamp in")
        got = None if not isinstance(e, dict) or "event" not in e else \
            (e["dir"], e["src"], e["sport"], e["dst"], e["netns"], sorted(e["set"]),
             e["idle"], e["cnt"], isinstance(e["cgroup"], int))
        t.eq(got, ("in", addr["srv", fam], P_IN, c["local"][0], pair.srv.inode,
                   ["cnt", "idle", "keepalive"], 40, 4, True),
             f"IPv{fam} accept under ev-in: one stamp event, dir in, the server's "
             "endpoint as src, the client's as dst, the server's netns, a cgroup id")

    # --- origin=existing: apply_existing
    ex, _ = conn(4, P_EX)
    ex_port = ex["local"][1]
    ev_ex = Rule("ev-ex", direction="out", remote_ports=P_EX, keepidle=11)
    ttmod.write(ttmod.SYSFS + "/apply_existing", 1)
    e = one(lambda e: e["event"] == "stamp" and e["rule"] == "ev-ex", "existing")
    t.ok(isinstance(e, dict) and e.get("origin") == "existing" and e.get("sport") == ex_port
         and e.get("set") == ["idle"] and e.get("idle") == 11,
         "apply_existing: one stamp event, origin existing, for the connection opened "
         "before ev-ex (its local port), idle 11", diag=str(e))

    # --- origin=restamp: force puts the user timeout back
    fc, _ = conn(4, P_FORCE)
    cli.setopts(fc["id"], {"user_timeout": 9000})
    e = one(lambda e: e["event"] == "stamp" and e["rule"] == "ev-force" and
            e["origin"] == "restamp", "restamp")
    t.ok(isinstance(e, dict) and e.get("set") == ["user_timeout"] and
         e.get("user_timeout") == 4000 and e.get("mode") == "force" and
         cli.getopts(fc["id"])["user_timeout"] == 4000,
         "the application's TCP_USER_TIMEOUT=9000 under a force rule: a stamp event, "
         "origin restamp, set user_timeout, 4000 again (getsockopt agrees)", diag=str(e))

    # --- audit: says what it would write, writes nothing
    ac, _ = conn(4, P_AUDIT)
    e = one(lambda e: e["event"] == "stamp" and e["rule"] == "ev-audit", "audit")
    t.ok(isinstance(e, dict) and e.get("audit") == 1 and e.get("set") == ["idle"] and
         e.get("idle") != 9 and cli.getopts(ac["id"])["keepidle"] != 9,
         "an audit rule: a stamp event with audit=1 and set idle, the socket's idle "
         "unchanged", diag=str(e))

    # --- abort_peers
    err = ttmod.write_raw(ttmod.SYSFS + "/abort_peers", f"{addr['srv', 4]}/32 ports {P_EX}\n")
    e = one(lambda e: e["event"] == "abort", "abort")
    t.ok(err == 0 and isinstance(e, dict) and e.get("rule") == "ev-ex" and
         e.get("state") == "ESTABLISHED" and e.get("dir") == "out" and
         (e.get("src"), e.get("sport"), e.get("dst"), e.get("dport")) ==
         (addr["cli", 4], ex_port, addr["srv", 4], P_EX) and e.get("netns") == pair.cli.inode,
         "abort_peers: one abort event, the connection's rule (ev-ex), state ESTABLISHED, "
         "both endpoints, the client's netns", diag=f"write: {err}; {e}")

    # --- monitors: two at once, and a filtered one, started before a new connection
    ttmod.require_ctl()
    mon_rule = Rule("ev-mon", direction="out", remote_ports=P_MON, keepidle=17)
    mons = [start_monitor("-j") for _ in range(2)]
    filt = start_monitor("--rule", "ev-mon", "--event", "stamp")
    inst = os.path.join(events.tracefs(), "instances")

    def monitors():
        return sorted(d for d in os.listdir(inst) if d.startswith("tcptimeoctl-"))

    up = all(m.ready for m in mons + [filt]) and len(monitors()) == 3
    if up:
        conn(6, P_MON)
    other = conn(4, P_OUT)[0] if up else None      # an ev-out stamp, and a timeout later
    if up:
        tr.wait(lambda e: e["event"] == "stamp" and e["rule"] in ("ev-mon", "ev-out") and
                e["dport"] in (P_MON, P_OUT) and e["time"] > 0, 10)
        poll(lambda: False, 0.5)        # the monitors read what is there
    outs_mon = [stop_monitor(m) for m in mons]
    frc, fso, fse = stop_monitor(filt)
    parsed, bad = [], []
    for rc, so, se in outs_mon:
        objs, b = json_lines(so)
        bad += b
        # (the local port is 0 at connect(): the kernel picks it just after)
        parsed.append([o for o in objs if o.get("event") == "stamp" and o.get("rule") == "ev-mon"
                       and o.get("dport") == P_MON] if up else [])
    t.ok(up and all(rc == 0 for rc, _, _ in outs_mon) and not bad and
         all(len(p) == 1 and p[0]["dst"] == addr["srv", 6] and p[0]["idle"] == 17 and
             p[0]["set"] == ["idle"] and isinstance(p[0]["netns"], int) for p in parsed),
         "two `tcptimeoctl monitor -j` at once: both print the ev-mon stamp of the "
         "IPv6 connection as JSON (dst without brackets, numbers as numbers), exit 0 on SIGINT",
         diag=f"up {up}; {[(rc, so[-800:], se[-400:]) for rc, so, se in outs_mon]}; bad {bad[:3]}")
    lines = [ln for ln in fso.splitlines() if ln.strip()]
    t.ok(up and frc == 0 and len(lines) == 1 and " stamp rule=ev-mon " in lines[0] and
         f"dst=[{addr['srv', 6]}]:{P_MON}" in lines[0],
         "monitor --rule ev-mon --event stamp: one text line, the ev-mon stamp, "
         "nothing of ev-out's connection", diag=f"exit {frc}; {fso[-800:]}; {fse[-400:]}")
    t.eq(monitors(), [], "the monitors removed their tracefs instances")
    mon_rule.remove()
    if other:
        cli.close(other["id"])

    # --- lost events: a stopped monitor with a tiny buffer
    ev_lost = Rule("ev-lost", direction="out", remote_ports=P_LOST, keepidle=100,
                   mode="force")
    lost_conns = [conn(4, P_LOST)[0] for _ in range(N_LOST)]
    lm = start_monitor("-j", "--buffer-kb", "4", "--event", "stamp", "--rule", "ev-lost")
    made = 0
    if lm.ready:
        lm.send_signal(signal.SIGSTOP)
        for i in range(ROUNDS):
            ev_lost.set("keepidle", 200 + i)
            ttmod.write(ttmod.SYSFS + "/apply_existing", 1)
        made = len(tr.wait(lambda e: e["event"] == "stamp" and e["rule"] == "ev-lost" and
                           e["origin"] == "existing", 20, count=N_LOST * ROUNDS))
        lm.send_signal(signal.SIGCONT)
        poll(lambda: False, 1.0)        # it reads what is left
    lrc, lso, lse = stop_monitor(lm)
    objs, bad = json_lines(lso)
    seen = len([o for o in objs if o.get("event") == "stamp" and o.get("origin") == "existing"])
    summ = [o for o in objs if o.get("event") == "summary"]
    lost = summ[-1].get("lost", 0) if summ else 0
    t.ok(lm.ready and made == N_LOST * ROUNDS and lrc == 0 and not bad and summ and
         lost > 0 and seen + lost >= made,
         f"a stopped monitor (4 KiB buffer) while {N_LOST * ROUNDS} stamps happen: it "
         "reports the events it lost (summary lost > 0), and seen + lost covers them all",
         diag=f"made {made}, seen {seen}, lost {lost}, exit {lrc}; "
              f"{[o for o in objs if o.get('event') in ('lost', 'summary')][:5]}; {lse[-400:]}")
    for c in lost_conns:
        cli.close(c["id"])
    ev_lost.remove()

    # --- timeouts: the server vanishes
    idle_c, _ = conn(4, P_OUT)
    busy_c, _ = conn(6, P_OUT)
    jobs = {"idle": cli.recv_bg(idle_c["id"])}
    pair.kill("srv")
    jobs["busy"] = cli.recv_bg(busy_c["id"], send="request\n")
    syn_job, _ = cli.connect_bg(4, addr["srv", 4], P_SYN)
    res = {k: cli.wait(j, 20) for k, j in jobs.items()}
    res["syn"] = cli.wait(syn_job, 20)
    t.ok(all(r.get("errno") == errno.ETIMEDOUT for r in res.values()),
         "idle, busy and connecting sockets end with ETIMEDOUT", diag=str(res))

    def tmo(cause, fam, port, cport=None):
        return one(lambda e: e["event"] == "timeout" and e["dst"] == addr["srv", fam] and
                   e["dport"] == port and (cport is None or e["sport"] == cport), cause)

    e = tmo("keepalive", 4, P_OUT, idle_c["local"][1])
    t.ok(isinstance(e, dict) and e.get("rule") == "ev-out" and e.get("cause") == "keepalive"
         and e.get("dir") == "out" and e.get("probes", 0) >= 2 and e.get("err") == errno.ETIMEDOUT
         and e.get("state") == "ESTABLISHED" and e.get("heard_ms", 0) >= 3000 + 2 * 1000 - 100,
         "idle IPv4: one timeout event, rule ev-out, cause keepalive, probes sent, "
         "ETIMEDOUT, silent for at least idle + 2 intervals", diag=str(e))
    e = tmo("retransmission", 6, P_OUT, busy_c["local"][1])
    t.ok(isinstance(e, dict) and e.get("rule") == "ev-out" and
         e.get("cause") == "retransmission" and e.get("retransmits", 0) > 0 and
         e.get("user_timeout") == 5000 and e.get("heard_ms", 0) >= 5000 - 100,
         "busy IPv6: one timeout event, cause retransmission, the 5000 ms user timeout, "
         "silent for at least that long", diag=str(e))
    e = tmo("syn", 4, P_SYN)
    t.ok(isinstance(e, dict) and e.get("rule") == "ev-syn" and e.get("cause") == "syn" and
         e.get("state") == "SYN_SENT" and e.get("heard_ms") == 0,
         "connect() to the vanished server: one timeout event, rule ev-syn, cause syn, "
         "state SYN_SENT, heard_ms 0", diag=str(e))
    t.eq(tr.lost(), 0, "no event lost")

    for r in (ev_out, ev_in, ev_force, ev_audit, ev_syn, ev_ex):
        r.remove()
    tr.close()
    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
