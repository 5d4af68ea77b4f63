#!/usr/bin/env python3
"""The demo's applications: plain, unmodified TCP programs.

  demo_apps.py server PORT         listen (and say so); accept; answer "hello" with "welcome";
                                   then keep the connection open, silent
  demo_apps.py client ADDR PORT    connect, say hello, read the answer,
                                   then wait in recv() for the next message

Neither sets a socket option. The client prints what getsockopt() shows
on its socket (so the audience sees what tcptimeo changed from outside)
and, when recv() finally returns or fails, how long it waited. Output
lines are "<monotonic time> <text>" so the demo can time them.
"""
import errno
import socket
import sys
import time


def say(text):
    print(f"{time.monotonic():.3f} {text}", flush=True)


def server(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(16)
    say(f"listening on port {port}")
    conns = []
    while True:
        c, peer = ls.accept()
        if c.recv(100):
            c.sendall(b"welcome\n")
        conns.append(c)          # keep it open, say nothing more
        say(f"served {peer[0]}:{peer[1]}")


def client(addr, port):
    s = socket.create_connection((addr, port))
    opts = {
        "SO_KEEPALIVE": s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        "TCP_KEEPIDLE": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
        "TCP_KEEPINTVL": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
        "TCP_KEEPCNT": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
        "TCP_USER_TIMEOUT": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
    }
    say("connected; my socket: " + " ".join(f"{k}={v}" for k, v in opts.items()))
    s.sendall(b"hello\n")
    say(f"server answered: {s.recv(100).decode().strip()}")
    say("waiting in recv() for the next message")
    t0 = time.monotonic()
    try:
        data = s.recv(100)
        say(f"recv() returned {data!r} after {time.monotonic() - t0:.1f} s")
    except OSError as e:
        name = errno.errorcode.get(e.errno, "?")
        say(f"recv() failed after {time.monotonic() - t0:.1f} s: {name} ({e.strerror})")
        sys.exit(2)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]))
    else:
        client(sys.argv[2], int(sys.argv[3]))
