#!/usr/bin/env python3
# timeout: 300
"""Per-rule counters stay exact when both CPUs count at once.

The counters are per CPU and summed on read. Two client processes,
pinned to CPU 0 and CPU 1, start together on a barrier:

- loopback churn, N connections each to a listener on port P1: rule "co"
  (out, remote port P1) counts the connecting sockets (connect(), process
  context) and rule "ci" (in, local port P1) the accepted ones (the
  handshake's last ACK, softirq): both `matched` == 2N exactly, although
  "co" is recompiled (keepidle rewritten) all along: the counts belong to
  the rule, not to a compiled copy;
- timeouts, client and server namespaces (lib/netns.py Pair), M
  connections each: rule "ka" (out, port P3, keepalive 1/1/1) on
  established idle connections, then the server vanishes: "ka"
  timeouts_idle == 2M, timeouts_busy == 0; rule "syn" (out, port P2,
  syn_retries 1) on connect()s to the vanished server: "syn"
  timeouts_busy == 2M, timeouts_idle == 0; matched == 2M for both.

On a one-CPU guest both clients share CPU 0 (the counts must still be
exact) and the point that they ran on two CPUs is skipped.
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent                                # noqa: E402
from deadline import poll, SCALE                      # noqa: E402

N = 1000
M = 25
P1, P2, P3 = 7171, 7172, 7173
PLAN = 9


def cpus():
    """The CPUs the clients are pinned to: 0 and 1, or 0 twice."""
    avail = sorted(os.sched_getaffinity(0))
    return (avail[0], avail[1]) if len(avail) >= 2 else (avail[0], avail[0])


def cur_cpu():
    with open("/proc/self/stat") as f:
        st = f.read()
    return int(st[st.rindex(")") + 2:].split()[36])    # field 39: processor


def client(cpu, n, go_r, res_w):
    """Child: pinned to `cpu`, wait for the barrier, n connect/close."""
    os.sched_setaffinity(0, {cpu})
    os.read(go_r, 1)
    ok, ran_on = 0, set()
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", P1), timeout=10)
            s.close()
            ok += 1
        except OSError:
            pass
        ran_on.add(cur_cpu())
    os.write(res_w, f"{ok} {','.join(map(str, sorted(ran_on)))}\n".encode())
    os._exit(0)


def server(ls):
    """Child: accept and close until the listener is shut down."""
    while True:
        try:
            c, _ = ls.accept()
        except OSError:
            os._exit(0)
        c.close()


def churn(t):
    co = Rule("co", direction="out", remote_ports=P1, keepalive=1, keepidle=60)
    ci = Rule("ci", direction="in", local_ports=P1, keepalive=1, keepidle=61)
    ttmod.wait_index(10 * SCALE)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", P1))
    ls.listen(1024)
    srv = os.fork()
    if srv == 0:
        server(ls)
    go_r, go_w = os.pipe()
    res_r, res_w = os.pipe()
    kids = []
    for cpu in cpus():
        pid = os.fork()
        if pid == 0:
            ls.close()
            client(cpu, N, go_r, res_w)
        kids.append(pid)
    os.close(res_w)
    t0 = time.monotonic()
    os.write(go_w, b"gg")
    # recompile "co" while the clients run
    recompiles = 0
    running = set(kids)
    with os.fdopen(res_r) as res:
        while running:
            co.set("keepidle", 60 + (recompiles & 1) * 2)
            recompiles += 1
            running -= {k for k in running if os.waitpid(k, os.WNOHANG)[0]}
            time.sleep(0.02)
        lines = res.read().split("\n")
    took = time.monotonic() - t0
    ls.shutdown(socket.SHUT_RDWR)
    ls.close()
    os.waitpid(srv, 0)
    done = [ln.split() for ln in lines if ln]
    made = sum(int(d[0]) for d in done)
    ran = [d[1] for d in done]
    t.diag(f"{made} connections from CPUs {ran} in {took:.1f} s, "
           f"{recompiles} recompiles of co")
    t.ok(made == 2 * N, f"both clients made their {N} connections",
         diag=f"made {made}")
    if len(set(cpus())) < 2:
        t.skip("the clients ran on CPU 0 and CPU 1 at once", "one CPU")
    else:
        t.ok(sorted(ran) == [str(c) for c in cpus()],
             f"the clients ran on CPU {cpus()[0]} and CPU {cpus()[1]} at once",
             diag=f"CPUs {ran}")
    # accepted sockets are counted in softirq as the handshake completes
    poll(lambda: ci.matched >= made, 5 * SCALE)
    t.eq(co.matched, made, f"co matched == {made} (every connecting socket, "
         f"over {recompiles} recompiles)")
    t.eq(ci.matched, made, f"ci matched == {made} (every accepted socket)")
    co.remove()
    ci.remove()


def timeouts(t):
    pair = Pair()
    srv = Agent(pair.srv)
    ka = Rule("ka", direction="out", remote_ports=P3, keepalive=1, keepidle=1,
              keepintvl=1, keepcnt=1)
    syn = Rule("syn", direction="out", remote_ports=P2, syn_retries=1)
    ttmod.wait_index(10 * SCALE)
    clis = []
    for cpu in cpus():
        a = Agent(pair.cli)
        os.sched_setaffinity(a.pid, {cpu})
        clis.append(a)
    lid = srv.listen(4, "0.0.0.0", P3)
    addr = pair.addr("srv", 4)
    srv.send("accept_many", id=lid, n=2 * M, timeout=60)
    for a in clis:
        a.send("connect_many", family=4, addr=addr, port=P3, n=M)
    est = sum(len(a.reply(read_timeout=90)["ids"]) for a in clis)
    srv.reply(read_timeout=90)
    pair.kill("srv")
    for a in clis:
        for _ in range(M):
            a.connect_bg(4, addr, P2)
    want = {("ka", "timeouts_idle"): 2 * M, ("ka", "timeouts_busy"): 0,
            ("ka", "matched"): 2 * M, ("syn", "timeouts_busy"): 2 * M,
            ("syn", "timeouts_idle"): 0, ("syn", "matched"): 2 * M}
    rules = {"ka": ka, "syn": syn}

    def got():
        return {(r, c): int(rules[r].get(c)) for r, c in want}

    t0 = time.monotonic()
    poll(lambda: got()[("ka", "timeouts_idle")] >= 2 * M
         and got()[("syn", "timeouts_busy")] >= 2 * M, 40 * SCALE, 0.2)
    t.diag(f"{est} established; timeouts counted after "
           f"{time.monotonic() - t0:.1f} s")
    # a miscount would show as more: give stragglers the same time again
    time.sleep(min(5.0, time.monotonic() - t0))
    g = got()
    t.ok({k: g[k] for k in want if k[0] == "ka"}
         == {k: v for k, v in want.items() if k[0] == "ka"},
         f"ka: timeouts_idle == {2 * M}, timeouts_busy == 0, matched == {2 * M}",
         diag=str(g))
    t.ok({k: g[k] for k in want if k[0] == "syn"}
         == {k: v for k, v in want.items() if k[0] == "syn"},
         f"syn: timeouts_busy == {2 * M}, timeouts_idle == 0, matched == {2 * M}",
         diag=str(g))
    for a in clis:
        a.close_agent()
    srv.close_agent()
    ka.remove()
    syn.remove()
    pair.delete()


def main(t):
    ttmod.load()
    t.diag(f"CPUs online to this test: {sorted(os.sched_getaffinity(0))}")
    churn(t)
    timeouts(t)
    # a rule made after all this starts from zero
    r = Rule("fresh", direction="out", remote_ports=P1)
    t.ok(all(r.get(c) == "0" for c in ("matched", "timeouts_idle",
                                        "timeouts_busy")),
         "a new rule's counters read 0")
    r.remove()
    t.ok(ttmod.unload(check=False).returncode == 0, "the module unloads")
    ttmod.load()
    r = Rule("fresh", direction="out", remote_ports=P1)
    t.ok(r.matched == 0, "after a reload a new rule's matched reads 0")
    r.remove()


if __name__ == "__main__":
    Tap.run(main, PLAN)
