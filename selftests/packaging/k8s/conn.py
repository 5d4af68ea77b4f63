#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Hold one loopback connection open and report its client end's options.

    conn.py ADDR PORT OUTFILE

Listens on ADDR:PORT, connects to it (an outbound connection to PORT, as a
rule "dir out remote-port PORT" matches), then every 0.1 s writes
"keepalive=K idle=S" (SO_KEEPALIVE, TCP_KEEPIDLE of the connecting socket)
to OUTFILE, atomically, until killed. The VM tests 44 and 45 use it to see
whether a connection opened before the rules was stamped (--existing).
"""
import os
import socket
import sys
import time

addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(1)
cli = socket.create_connection((addr, port))
peer, _ = srv.accept()
while True:
    ka = cli.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    idle = cli.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
    with open(out + ".tmp", "w") as f:
        f.write(f"keepalive={ka} idle={idle}\n")
    os.rename(out + ".tmp", out)
    time.sleep(0.1)
