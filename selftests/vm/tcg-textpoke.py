#!/usr/bin/env python3
# timeout: 400
"""Does this QEMU's TCG survive kernel text patching under TCP churn?

Not part of the suite, and tcptimeo is never loaded: this is the
evidence behind the tcg= options of kernels.conf. Two churn loops
(connect, accept, one byte, close over IPv4 and IPv6 loopback) run while
a kretprobe on tcp_try_fastopen, which every SYN to a listener runs, is
added and removed and sock:inet_sock_set_state is switched on and off,
through tracefs, for TCPTIMEO_POKE_SECS (default 300) seconds. Each
cycle patches code the other vCPU is executing. Under multi-threaded
TCG 6.1 stalled within 30 s (measured 2026-12-03: RCU stall, the guest
never recovered); under single-threaded TCG it ran 235 cycles in 150 s.

    make check-vm TESTS=vm/tcg-textpoke.py KVERS=6.1
    (KVERS=... with the kernel's tcg= option edited to compare)
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from netns import Netns                               # noqa: E402
from peer import Agent                                # noqa: E402
from deadline import poll                             # noqa: E402

T = "/sys/kernel/tracing"


def write(path, text, append=False):
    # os.open: Python's "a" mode seeks, which tracefs refuses (EINVAL)
    fd = os.open(os.path.join(T, path),
                 os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC))
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def main():
    print("1..1", flush=True)
    if not os.path.exists(os.path.join(T, "kprobe_events")) and \
            os.system(f"mount -t tracefs nodev {T}"):
        print("ok 1 # SKIP no tracefs")
        return 0
    secs = int(os.environ.get("TCPTIMEO_POKE_SECS", "300"))
    ns = Netns()
    ag = Agent(ns)
    j4 = ag.call("churn_bg", family=4, addr="127.0.0.1", port=7981)["job"]
    j6 = ag.call("churn_bg", family=6, addr="::1", port=7982)["job"]
    poll(lambda: ag.job(j4).get("conns", 0) > 0
         and ag.job(j6).get("conns", 0) > 0, 10)
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < secs:
        write("kprobe_events", "r:ttpoke tcp_try_fastopen\n", append=True)
        write("events/kprobes/ttpoke/enable", "1")
        write("events/sock/inet_sock_set_state/enable", "1")
        write("events/sock/inet_sock_set_state/enable", "0")
        write("events/kprobes/ttpoke/enable", "0")
        write("kprobe_events", "-:ttpoke\n", append=True)
        n += 1
        if n % 100 == 0:
            print(f"# {n} cycles, {ag.job(j4)['conns']} IPv4 connections",
                  flush=True)
    r4, r6 = ag.stop(j4), ag.stop(j6)
    ok = r4["errors"] == 0 and r6["errors"] == 0
    print(f"{'ok' if ok else 'not ok'} 1 - {n} patching cycles in {secs} s "
          f"under churn ({r4['conns']} + {r6['conns']} connections)")
    ag.close_agent()
    ns.delete()
    return 0 if ok else 1


sys.exit(main())
