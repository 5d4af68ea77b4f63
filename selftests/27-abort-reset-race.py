#!/usr/bin/env python3
# timeout: 240
"""abort_peers racing connections that their peer resets (issue 13, S2).

Before 6.11, tcp_abort() has no "already closed" guard: a RST that
closes a connection between the walk's pick and tcp_abort()'s
lock_sock() runs tcp_done() a second time. ROUNDS times: the client
holds N connections to the server; the server resets them all at once
(SO_LINGER 0, close) while abort_peers for the server's address is
written in a loop that starts as the resets do. Whatever wins each race:
- every client socket ends with ECONNRESET or ECONNABORTED, none is
  left open, and ss shows no connection to the port afterwards
- the client namespace's TcpCurrEstab returns to 0 and its socket count
  (/proc/net/sockstat TCP inuse) to what it was before (no socket leaked
  or counted twice)
- stats/peers_aborted counts at least every socket that got ECONNABORTED
  and at most N per round
- the kernel logs no warning (the runner checks for any report too)
"""
import json
import os
import re
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from netns import Pair                                # noqa: E402
import incident as inc                                # noqa: E402

P = 7271
N = 150
ROUNDS = 5
PLAN = 5

SERVER = r"""
import socket, struct, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", port))
ls.listen(1024)
print("listening", flush=True)
while True:
    conns = [ls.accept()[0] for _ in range(n)]
    print("accepted", flush=True)
    if not sys.stdin.readline():
        break
    for c in conns:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    print("resetting", flush=True)
    for c in conns:
        c.close()
"""

CLIENT = r"""
import errno, json, select, socket, sys
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
while sys.stdin.readline():
    socks = [socket.create_connection((addr, port)) for _ in range(n)]
    print(json.dumps({"open": len(socks)}), flush=True)
    sys.stdin.readline()
    res, left = {}, list(socks)
    while left:
        r, _, _ = select.select(left, [], [], 30)
        if not r:
            break
        for s in r:
            try:
                d = s.recv(1)
                res[s.fileno()] = "EOF" if not d else "data"
            except OSError as e:
                res[s.fileno()] = errno.errorcode.get(e.errno, str(e.errno))
            left.remove(s)
    out = {}
    for v in res.values():
        out[v] = out.get(v, 0) + 1
    out["hung"] = len(left)
    for s in socks:
        s.close()
    print(json.dumps(out), flush=True)
"""


def snmp_currestab(ns):
    text = ns.run(["cat", "/proc/net/snmp"]).stdout
    rows = [line.split() for line in text.splitlines() if line.startswith("Tcp:")]
    return int(rows[1][rows[0].index("CurrEstab")])


def sockstat_inuse(ns):
    m = re.search(r"^TCP: inuse (\d+)", ns.run(["cat", "/proc/net/sockstat"]).stdout,
                  re.M)
    return int(m.group(1))


def main(t):
    ttmod.load()
    log = ttmod.KernelLog()
    pair = Pair()
    srv = subprocess.Popen(pair.srv.exec_cmd([sys.executable, "-c", SERVER, str(P),
                                              str(N)]),
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert srv.stdout.readline().strip() == "listening"
    cli = subprocess.Popen(pair.cli.exec_cmd([sys.executable, "-c", CLIENT,
                                              pair.addr("srv", 4), str(P), str(N)]),
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    inuse0 = sockstat_inuse(pair.cli)
    results, aborted, bad_count = [], [], []
    cidr = pair.addr("srv", 4) + "/32"
    for _ in range(ROUNDS):
        cli.stdin.write("go\n")
        cli.stdin.flush()
        assert json.loads(cli.stdout.readline())["open"] == N
        assert srv.stdout.readline().strip() == "accepted"
        a0 = inc.stat("peers_aborted")
        stop = threading.Event()

        def storm():
            while not stop.is_set():
                ttmod.write(ttmod.SYSFS + "/abort_peers", cidr)

        th = threading.Thread(target=storm)
        srv.stdin.write("reset\n")
        srv.stdin.flush()
        # the storm starts as the resets do, so the two interleave
        assert srv.stdout.readline().strip() == "resetting"
        th.start()
        cli.stdin.write("collect\n")
        cli.stdin.flush()
        r = json.loads(cli.stdout.readline())
        stop.set()
        th.join()
        d = inc.stat("peers_aborted") - a0
        results.append(r)
        aborted.append(d)
        if not (r.get("ECONNABORTED", 0) <= d <= N):
            bad_count.append((r, d))
    t.diag(f"per round (client outcome, peers_aborted): {list(zip(results, aborted))}")
    ok = all(r.get("ECONNRESET", 0) + r.get("ECONNABORTED", 0) == N and not r["hung"]
             for r in results)
    t.ok(ok, f"every client socket ended with ECONNRESET or ECONNABORTED in all "
         f"{ROUNDS} rounds, none hung", diag=str(results))
    left = pair.cli.run(["ss", "-tnH", f"( dport = :{P} )"]).stdout.strip()
    t.ok(not left, "ss shows no connection to the port afterwards", diag=left)
    ce, inuse = snmp_currestab(pair.cli), sockstat_inuse(pair.cli)
    t.ok(ce == 0 and inuse == inuse0,
         "TcpCurrEstab back to 0 and TCP inuse back to its start value",
         diag=f"CurrEstab {ce}; inuse {inuse0} -> {inuse}")
    t.ok(not bad_count, "peers_aborted counts every ECONNABORTED socket and at "
         f"most {N} per round", diag=str(bad_count))
    t.ok(not log.problems(), "no kernel warning", diag="\n".join(log.problems()))
    cli.stdin.close()
    srv.stdin.close()
    cli.wait(30)
    srv.kill()
    srv.wait()
    pair.delete()


Tap.run(main, PLAN)
