#!/bin/bash
# timeout: 120
# SPDX-License-Identifier: GPL-2.0
#
# The platform the module tests stand on: two network namespaces joined
# by a veth pair carry ping and a TCP connection over IPv4 and IPv6, and
# loopback works inside a namespace. No module involved.
. "$(dirname "$0")/lib/tap.sh"
A=tt-01-a B=tt-01-b
A4=10.78.0.1 B4=10.78.0.2 A6=fd78::1 B6=fd78::2
tap_plan 7
undo 'ip netns del $A; ip netns del $B'

check "ip netns add $A $B" sh -c "ip netns add $A && ip netns add $B"
check "veth pair between them, addresses, links up" sh -c "
	ip link add va netns $A type veth peer name vb netns $B &&
	ip -n $A addr add $A4/24 dev va && ip -n $B addr add $B4/24 dev vb &&
	ip -n $A addr add $A6/64 dev va nodad && ip -n $B addr add $B6/64 dev vb nodad &&
	ip -n $A link set va up && ip -n $B link set vb up &&
	ip -n $A link set lo up && ip -n $B link set lo up"
check "ping $A -> $B4" ip netns exec $A ping -c 1 -W 5 $B4

# A one-shot TCP echo server in $B; a client in $A sends a line and must
# get it back upper-cased.
tcp_echo() {		# ADDR -> prints what the client got back
	ip netns exec $B python3 -c '
import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((a, 5001)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30)
c.sendall(c.recv(100).upper()); c.close()' "$1" &
	srv=$!
	ip netns exec $A python3 -c '
import socket, sys, time
a = sys.argv[1]
for i in range(100):
    try:
        c = socket.create_connection((a, 5001), timeout=10)
        break
    except ConnectionRefusedError:
        time.sleep(0.1)
c.sendall(b"hello tcptimeo\n"); print(c.recv(100).decode().strip())' "$1"
	wait $srv
}
for a in $B4 $B6; do
	got=$(tcp_echo $a 2>&1)
	if [ "$got" = "HELLO TCPTIMEO" ]; then ok "TCP $A -> [$a]:5001 echoes"
	else not_ok "TCP $A -> [$a]:5001 echoes"; diag "$got"; fi
done
got=$(ip netns exec $A python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
c = socket.create_connection(s.getsockname(), timeout=10)
a, _ = s.accept(); c.sendall(b"lo"); print(a.recv(10).decode())' 2>&1)
ok_if "TCP over loopback inside $A" "$got" = lo
ip netns del $A && ip netns del $B
ok_if "namespaces deleted, the veth pair with them" -z "$(ip netns list)"
tap_done
