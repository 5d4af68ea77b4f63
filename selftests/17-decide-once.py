#!/usr/bin/env python3
# timeout: 180
"""Every socket is decided once, in its true direction, before accept()
can return it.

- TCP Fast Open (net.ipv4.tcp_fastopen: client 0x5 = data in the SYN
  without a cookie, server 0x203 = no cookie required): the server's
  accept() returns the child while it is still in SYN_RECV (its SYN-ACK
  is held back by netem on the server's egress, so the handshake cannot
  have completed: asserted from TCP_INFO, with TCPI_OPT_SYN_DATA). Rule
  "tfo" (direction in, its local port: keepalive 1, idle 7,
  user_timeout 4321): getsockopt right after accept() shows its values,
  IPv4 and IPv6; once the handshakes are done the rule has matched each
  connection once and stamped_in moved by the same number.
- Connect-to-self (a simultaneous open: CLOSE -> SYN_SENT -> SYN_RECV ->
  ESTABLISHED), 127.0.0.1 and ::1: rule "self-in" (direction in, local
  port P, user_timeout 1111, force) must not touch it; rule "self-out"
  (direction out, remote port P, user_timeout 2222) stamps it once:
  user_timeout 2222, self-in matched 0, self-out matched 2, stamped_in
  unchanged, stamped_out +2.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair, Netns                         # noqa: E402
from deadline import poll, SCALE                      # noqa: E402

P_TFO, P_SELF = 7171, 7172
DELAY_MS = 1000
PLAN = 7

SERVER = r"""
import json, socket, struct, sys, time
fams = {4: (socket.AF_INET, "0.0.0.0"), 6: (socket.AF_INET6, "::")}
port, n = int(sys.argv[1]), int(sys.argv[2])
ls = {}
for f, (af, a) in fams.items():
    s = socket.socket(af, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if f == 6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((a, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
    s.listen(64)
    ls[f] = s
print(json.dumps({"ready": 1}), flush=True)
kept = []
for line in sys.stdin:
    f = int(line)
    c, _ = ls[f].accept()
    info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    r = {"family": f,
         "state": info[0], "options": info[5],
         "keepalive": c.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
         "keepidle": c.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
         "user_timeout": c.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
         "t_accept": time.monotonic()}
    r["data"] = c.recv(100).decode()
    kept.append(c)
    print(json.dumps(r), flush=True)
"""

CLIENT = r"""
import json, socket, sys, time
f, addr, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET if f == 4 else socket.AF_INET6, socket.SOCK_STREAM)
t0 = time.monotonic()
s.sendto(b"hello", socket.MSG_FASTOPEN, (addr, port))
print(json.dumps({"t_send": t0}), flush=True)
sys.stdin.readline()
"""

SELF = r"""
import json, socket, sys
f, addr, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET if f == 4 else socket.AF_INET6, socket.SOCK_STREAM)
s.bind((addr, port))
s.connect((addr, port))
print(json.dumps({"user_timeout": s.getsockopt(socket.IPPROTO_TCP,
                                               socket.TCP_USER_TIMEOUT),
                  "peer": s.getpeername()[1]}), flush=True)
"""


def tfo(t, pair):
    rule = Rule("tfo", direction="in", local_ports=P_TFO, keepalive=1,
                keepidle=7, user_timeout=4321)
    pair.cli.sysctl("net.ipv4.tcp_fastopen", 0x5)
    pair.srv.sysctl("net.ipv4.tcp_fastopen", 0x203)
    ttmod.modprobe("sch_netem")
    pair.srv.tc("qdisc", "add", "dev", pair.ifname["srv"], "root", "netem",
                "delay", f"{DELAY_MS}ms")
    st0 = ttmod.stats()["stamped_in"]
    srv = subprocess.Popen(pair.srv.exec_cmd([sys.executable, "-c", SERVER,
                                              str(P_TFO), "2"]),
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert json.loads(srv.stdout.readline())["ready"]
    got, clients = {}, []
    for fam in (4, 6):
        srv.stdin.write(f"{fam}\n")
        srv.stdin.flush()
        c = subprocess.Popen(pair.cli.exec_cmd(
            [sys.executable, "-c", CLIENT, str(fam), pair.addr("srv", fam),
             str(P_TFO)]), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        sent = json.loads(c.stdout.readline())
        r = json.loads(srv.stdout.readline())
        r["after_send"] = r["t_accept"] - sent["t_send"]
        got[fam] = r
        clients.append(c)
    t.diag("accepted: " + json.dumps(got))
    # TCP_SYN_RECV = 3, TCPI_OPT_SYN_DATA = 32
    early = all(r["state"] == 3 and r["options"] & 32 and r["data"] == "hello"
                for r in got.values())
    t.ok(early, "accept() returned each Fast Open child in SYN_RECV, its SYN "
         "data readable (the SYN-ACK held back: the window under test is real)",
         diag=json.dumps(got))
    want = {"keepalive": 1, "keepidle": 7, "user_timeout": 4321}
    bad = {f: {k: r[k] for k in want} for f, r in got.items()
           if any(r[k] != v for k, v in want.items())}
    t.ok(not bad, "getsockopt right after accept() shows rule tfo's values on "
         "the Fast Open children (IPv4, IPv6)", diag=f"got {bad}, want {want}")
    # the handshakes finish DELAY_MS later: then count
    def established():
        out = pair.srv.run(["ss", "-tnH", "state", "established",
                            f"( sport = :{P_TFO} )"]).stdout
        return len(out.splitlines()) == 2
    done = poll(established, 10 * SCALE + 2 * DELAY_MS / 1000)
    m, st = rule.matched, ttmod.stats()["stamped_in"] - st0
    t.ok(done and m == 2 and st == 2,
         "each Fast Open child decided once: rule tfo matched 2, stamped_in +2 "
         "after the handshakes completed", diag=f"matched {m}, stamped_in +{st}, "
         f"both established: {done}")
    for c in clients:
        c.stdin.close()
        c.wait(10)
    srv.stdin.close()
    srv.kill()
    srv.wait()
    rule.remove()


def connect_to_self(t):
    ns = Netns()
    rin = Rule("self-in", priority=10, direction="in", local_ports=P_SELF,
               user_timeout=1111, mode="force")
    rout = Rule("self-out", priority=20, direction="out", remote_ports=P_SELF,
                user_timeout=2222)
    s0 = ttmod.stats()
    res = {}
    for fam, addr in ((4, "127.0.0.1"), (6, "::1")):
        p = ns.run([sys.executable, "-c", SELF, str(fam), addr, str(P_SELF)])
        res[fam] = json.loads(p.stdout)
    s1 = ttmod.stats()
    t.diag("connect-to-self: " + json.dumps(res))
    t.ok(all(r["peer"] == P_SELF for r in res.values()),
         "connect() to its own address and port succeeded (simultaneous open)",
         diag=json.dumps(res))
    t.eq({f: r["user_timeout"] for f, r in res.items()}, {4: 2222, 6: 2222},
         "connect-to-self keeps the outgoing rule's user_timeout 2222 (the "
         "incoming force rule never touched it)")
    t.eq((rin.matched, rout.matched), (0, 2),
         "self-in matched 0, self-out matched 2: each socket decided once, as "
         "outgoing")
    t.eq((s1["stamped_in"] - s0["stamped_in"], s1["stamped_out"] - s0["stamped_out"]),
         (0, 2), "stamped_in +0, stamped_out +2")
    rin.remove()
    rout.remove()
    ns.delete()


def main(t):
    ttmod.load()
    pair = Pair()
    tfo(t, pair)
    connect_to_self(t)
    pair.delete()


Tap.run(main, PLAN)
