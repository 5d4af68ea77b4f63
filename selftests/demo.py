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
LIMIT = 40.0
KILL_AFTER = 3.0
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


def act(title, pair):
    out()
    out(title)
    srv = subprocess.Popen(pair.srv.exec_cmd([sys.executable, APPS, "server", str(PORT)]),
                           stdout=subprocess.PIPE)
    if Lines(srv).next(10) is None:        # "listening on port ..."
        step("server did not start")
    cli = subprocess.Popen(pair.cli.exec_cmd([sys.executable, APPS, "client",
                                              pair.addr("srv", 4), str(PORT)]),
                           stdout=subprocess.PIPE)
    lines = Lines(cli)
    t_last = None
    for _ in range(3):
        got = lines.next(10)
        if got is None:
            step("client did not start")
            break
        t_last, text = got
        step(f"client: {text}")
    time.sleep(KILL_AFTER)
    pair.kill("srv")
    t_kill = time.monotonic()
    step("the server's node loses power (every packet to or from it is dropped)")
    got = lines.next(LIMIT)
    if got is None:
        step(f"client: still blocked in recv(), {time.monotonic() - t_kill:.1f} s "
             "after the server vanished; giving up on it")
        cli.kill()
        result = None
    else:
        t_end, text = got
        step(f"client: {text}")
        result = (t_end - t_kill, t_end - t_last)
    cli.wait()
    srv.kill()
    srv.wait()
    pair.revive("srv")
    return result


def main():
    if not ttmod.KO and ttmod.SRC:
        ttmod.KO = os.path.join(ttmod.SRC, "build", ttmod.KVER, "tcptimeo.ko")
    out("tcptimeo demo: a client blocked in recv() while its server's node dies")
    out("=" * 72)
    out("Two network namespaces joined by a veth: client 10.77.0.1, server")
    out("10.77.0.2. The client (selftests/lib/demo_apps.py) connects, says hello,")
    out("reads the answer, then waits in recv() for the next message. It sets no")
    out("socket option and is not changed between the two runs.")
    out(f"The server's death is simulated as a power loss: its link stays up, it")
    out(f"just never answers again ({KILL_AFTER:g} s after the exchange).")
    if ttmod.loaded():
        ttmod.remove_all_rules()
        ttmod.unload()
    pair = Pair()

    before = act(f"1) Without tcptimeo (we wait at most {LIMIT:g} s)", pair)

    out()
    out("2) With tcptimeo and one rule, written by the operator in configfs:")
    ttmod.load()
    step(f"insmod {ttmod.KO}")
    d = ttmod.RULES + "/backend"
    out(f"       mkdir {d}")
    os.mkdir(d)
    for attr, val in RULE:
        out(f"       echo {val} > {d}/{attr}")
        ttmod.write(f"{d}/{attr}", val)
    out(f"     the live table: {ttmod.sysfs_get('rules').strip()}")
    after = act("   The same client, the same dead server:", pair)

    out()
    out("Result")
    out("------")
    if before is None:
        out(f"  without tcptimeo: still hanging after {LIMIT:g} s "
            "(with nothing in flight, forever)")
    else:
        out(f"  without tcptimeo: ended after {before[0]:.1f} s (unexpected)")
    if after:
        out(f"  with one rule:    ETIMEDOUT {after[0]:.1f} s after the server died "
            f"({after[1]:.1f} s after the last packet; rule: idle 7 + 2 x 5 s "
            "= 17 s, user_timeout 17000 ms)")
    else:
        out(f"  with one rule:    still hanging after {LIMIT:g} s (tcptimeo did not work)")
    ok = before is None and after is not None and after[1] <= 18.0
    os.rmdir(d)
    ttmod.unload(check=False)
    pair.delete()
    out()
    out("demo: " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


sys.exit(main())
