#!/usr/bin/env python3
"""tcptimeo demo: the same unmodified client against a dead server,
without tcptimeo and with one rule. Run by `make demo` (selftests/demo.sh)
as root in a VM; needs TCPTIMEO_KO (or TCPTIMEO_SRC + KVER) like the tests.
"""
import os
import select
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import ttmod                                          # noqa: E402
from netns import Pair                                # noqa: E402

APPS = os.path.join(HERE, "lib", "demo_apps.py")
PORT = 5432
LIMIT = 35.0  # make demo gives the whole demo 60 s (selftests/vm/run.py)
KILL_AFTER = 2.0
RULE = [("direction", "out"), ("remote_ports", PORT), ("keepalive", 1),
        ("keepidle", 7), ("keepintvl", 5), ("keepcnt", 2),
        ("user_timeout", 17000), ("enabled", 1)]
T0 = time.monotonic()


def out(text=""):
    print(text, flush=True)


def step(text):
    out(f"  [{time.monotonic() - T0:6.1f} s] {text}")


class Lines:
    """Timestamped lines of a demo app (see lib/demo_apps.py)."""

    def __init__(self, p):
        self.p, self.buf = p, b""

    def next(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 4096)
                if not chunk:
                    return None
                self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        t, _, text = line.decode().partition(" ")
        return float(t), text


class App:
    """One demo program (lib/demo_apps.py) in a namespace, its output timed."""

    def __init__(self, ns, *args):
        self.p = subprocess.Popen(ns.exec_cmd([sys.executable, APPS] + list(args)),
                                  stdout=subprocess.PIPE)
        self.lines = Lines(self.p)

    def stop(self):
        self.p.kill()
        self.p.wait()


def start_client(label, pair):
    """Server and client up, hello exchanged: returns (server, client, t_last)."""
    srv = App(pair.srv, "server", str(PORT))
    if srv.lines.next(20) is None:             # "listening on port ..."
        raise RuntimeError("the demo server did not start")
    cli = App(pair.cli, "client", pair.addr("srv", 4), str(PORT))
    t_last = None
    for _ in range(3):
        got = cli.lines.next(20)
        if got is None:
            raise RuntimeError("the demo client did not start")
        t_last, text = got
        step(f"client {label}: {text}")
    return srv, cli, t_last


def main():
    ko = os.path.join(ttmod.SRC, "build", ttmod.KVER, "tcptimeo.ko")
    if not ttmod.KO and os.path.exists(ko):
        ttmod.KO = ko
    out("tcptimeo demo: a client blocked in recv() while its server's node dies")
    out("=" * 72)
    out("The client (selftests/lib/demo_apps.py) connects, says hello, reads the")
    out("answer, then waits in recv() for the next message. It sets no socket")
    out("option. Two copies run, each against its own server in its own pair of")
    out("network namespaces (client 10.77.0.1 -- veth -- server 10.77.0.2):")
    out("  A connects before tcptimeo is loaded, B after one rule is written.")
    out(f"Each server's node then loses power {KILL_AFTER:g} s after the hello: its")
    out("link stays up, it just never answers again (every packet dropped).")
    out()
    if ttmod.loaded():
        ttmod.remove_all_rules()
        ttmod.unload()
    pair_a, pair_b = Pair(), Pair()
    apps = []
    d = ttmod.RULES + "/backend"
    try:
        out("A) without tcptimeo (module not loaded)")
        srv_a, cli_a, _ = start_client("A", pair_a)
        apps += [srv_a, cli_a]
        time.sleep(KILL_AFTER)
        pair_a.kill("srv")
        t_kill_a = time.monotonic()
        step("server A's node loses power")

        out()
        out("B) with tcptimeo and one rule, written by the operator in configfs:")
        ttmod.load()
        step(f"insmod {ttmod.KO}")
        out(f"       mkdir {d}")
        os.mkdir(d)
        for attr, val in RULE:
            out(f"       echo {val} > {d}/{attr}")
            ttmod.write(f"{d}/{attr}", val)
        out(f"     the live table: {ttmod.sysfs_get('rules').strip()}")
        srv_b, cli_b, t_last_b = start_client("B", pair_b)
        apps += [srv_b, cli_b]
        time.sleep(KILL_AFTER)
        pair_b.kill("srv")
        t_kill_b = time.monotonic()
        step("server B's node loses power")

        out()
        out(f"Waiting (for A at most {LIMIT:g} s after its server died) ...")
        after = None
        got = cli_b.lines.next(max(1.0, t_kill_a + LIMIT - time.monotonic()))
        if got is not None:
            t_end, text = got
            step(f"client B: {text}")
            after = (t_end - t_kill_b, t_end - t_last_b)
        before = cli_a.lines.next(max(0.0, t_kill_a + LIMIT - time.monotonic()))
        if before is None:
            step(f"client A: still blocked in recv(), "
                 f"{time.monotonic() - t_kill_a:.1f} s after its server died; "
                 "giving up on it")
        else:
            step(f"client A: {before[1]}")
    finally:
        for a in apps:
            a.stop()
        if os.path.isdir(d):
            os.rmdir(d)
        ttmod.unload(check=False)
        pair_a.delete()
        pair_b.delete()

    out()
    out("Result")
    out("------")
    if before is None:
        out(f"  A, without tcptimeo: still hanging after {LIMIT:g} s "
            "(with nothing in flight: forever)")
    else:
        out("  A, without tcptimeo: ended (unexpected)")
    if after:
        out(f"  B, with one rule:    ETIMEDOUT {after[0]:.1f} s after its server "
            f"died, {after[1]:.1f} s after the last packet")
        out("                       (rule: idle 7 + 2 probes x 5 s = 17 s; "
            "user_timeout 17000 ms)")
    else:
        out("  B, with one rule:    still hanging (tcptimeo did not work)")
    ok = before is None and after is not None and after[1] <= 18.0
    out()
    out("demo: " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


sys.exit(main())
