#!/usr/bin/env python3
"""Socket agent: an ordinary, unmodified TCP application under remote control.

Started by peer.Agent, usually as `ip netns exec NS python3 agent.py`, it
reads one JSON command per line on stdin and answers one JSON line on
stdout. It never sets a socket option unless a command says so (`opts`),
which is how a test plays "an application that sets its own values".
getsockopt() runs here, inside the process that owns the socket.

Blocking work (recv until the connection dies, a send loop, a connect to
a black hole, a bulk transfer, connection churn) runs in a thread: the
command returns a job id at once, and `job`/`wait` report the outcome
with CLOCK_MONOTONIC timestamps (system-wide, so the controller can
compare them with its own).
"""
import errno
import hashlib
import json
import os
import random
import resource
import socket
import struct
import sys
import threading
import time

OPTS = {
    "keepalive": (socket.SOL_SOCKET, socket.SO_KEEPALIVE),
    "keepidle": (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
    "keepintvl": (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
    "keepcnt": (socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
    "user_timeout": (socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
    "syn_retries": (socket.IPPROTO_TCP, socket.TCP_SYNCNT),
}
# Options of newer kernels: set and read one by one (getopt), never in
# getopts(), whose set every kernel has.
TCP_RTO_MAX_MS = 44                     # Linux 6.15
OPTS_NEW = {
    "rto_max": (socket.IPPROTO_TCP, TCP_RTO_MAX_MS),
}
FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6}

socks = {}
jobs = {}
_ids = iter(range(1, 1 << 62))
_out = threading.Lock()


def send_line(obj):
    with _out:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def now():
    return time.monotonic()


def getopts(s):
    return {k: s.getsockopt(*v) for k, v in OPTS.items()}


def setopts(s, opts):
    for k, v in (opts or {}).items():
        s.setsockopt(*(OPTS.get(k) or OPTS_NEW[k]), int(v))


def addr_of(a):
    return [a[0], a[1]]


def new_socket(family, opts=None, bind=None, v6only=None):
    s = socket.socket(FAMILIES[family], socket.SOCK_STREAM)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    if bind:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((bind[0], bind[1]))
    setopts(s, opts)
    return s


def register(s):
    sid = next(_ids)
    socks[sid] = s
    return sid


class Job(threading.Thread):
    def __init__(self, fn, **kw):
        super().__init__(daemon=True)
        self.fn, self.kw = fn, kw
        self.id = next(_ids)
        self.stop = threading.Event()
        self.state = {"t_start": now()}
        self.finished = threading.Event()
        jobs[self.id] = self

    def run(self):
        try:
            self.fn(self, **self.kw)
        except OSError as e:
            self.state.update(result="error", errno=e.errno,
                              errname=errno.errorcode.get(e.errno, "?"),
                              error=str(e))
        except Exception as e:  # report, never die silently
            self.state.update(result="exception", error=repr(e))
        self.state.setdefault("result", "done")
        self.state["t_end"] = now()
        self.finished.set()

    def report(self):
        return dict(self.state, done=self.finished.is_set(), job=self.id)


# ---- blocking bodies run in jobs ----

def job_recv(job, id, send=None):
    """Optionally send, then block in one recv(): data, eof or error."""
    s = socks[id]
    if send is not None:
        job.state["t_send"] = now()
        s.sendall(send.encode())
    job.state["t_blocked"] = now()
    data = s.recv(65536)
    job.state.update(result="data" if data else "eof", nbytes=len(data))


def job_send_forever(job, id, chunk=65536):
    """Write until the connection fails; record the last progress."""
    s = socks[id]
    buf = b"z" * chunk
    total = 0
    job.state["last_progress"] = now()
    while not job.stop.is_set():
        n = s.send(buf)
        total += n
        job.state["last_progress"] = now()
        job.state["sent"] = total
    job.state["result"] = "stopped"


def job_connect(job, id, addr, port):
    s = socks[id]
    job.state["t_connect"] = now()
    s.connect((addr, port))
    job.state.update(result="connected", local=addr_of(s.getsockname()))


def _stream(seed, nbytes, chunk=1 << 20):
    rnd = random.Random(seed)
    left = nbytes
    while left > 0:
        n = min(chunk, left)
        yield rnd.randbytes(n)
        left -= n


def job_send_stream(job, id, nbytes, seed):
    s = socks[id]
    h = hashlib.sha256()
    for block in _stream(seed, nbytes):
        h.update(block)
        s.sendall(block)
    s.shutdown(socket.SHUT_WR)
    job.state.update(result="sent", nbytes=nbytes, sha256=h.hexdigest())


def job_recv_stream(job, id):
    s = socks[id]
    h = hashlib.sha256()
    total = 0
    while True:
        data = s.recv(1 << 20)
        if not data:
            break
        h.update(data)
        total += len(data)
    job.state.update(result="received", nbytes=total, sha256=h.hexdigest())


def job_churn(job, family, addr, port, opts=None):
    """connect/accept/close in a loop against our own listener until stopped."""
    ls = new_socket(family, bind=(addr, port))
    ls.listen(128)
    ls.settimeout(10)
    n = errs = 0
    job.state.update(conns=0, errors=0)
    while not job.stop.is_set():
        try:
            c = new_socket(family, opts=opts)
            c.settimeout(10)
            c.connect((addr, port))
            a, _ = ls.accept()
            c.sendall(b"x")
            if a.recv(1) != b"x":
                raise OSError(errno.EIO, "lost a byte")
            a.close()
            c.close()
            n += 1
        except OSError as e:
            errs += 1
            job.state["last_error"] = f"{errno.errorcode.get(e.errno, '?')}: {e}"
            time.sleep(0.01)
        job.state.update(conns=n, errors=errs)
    ls.close()
    job.state["result"] = "stopped"


# ---- commands ----

def c_info():
    with open("/proc/self/cgroup") as f:
        cg = f.read().strip()
    return {"pid": os.getpid(), "netns": os.stat("/proc/self/ns/net").st_ino,
            "cgroup": cg}


def c_listen(family, addr, port=0, opts=None, v6only=None, backlog=1024):
    s = new_socket(family, opts=opts, bind=(addr, port), v6only=v6only)
    s.listen(backlog)
    return {"id": register(s), "port": s.getsockname()[1]}


def c_connect(family, addr, port, bind=None, opts=None, timeout=10):
    s = new_socket(family, opts=opts, bind=bind)
    s.settimeout(timeout)
    t0 = now()
    s.connect((addr, port))
    s.settimeout(None)
    # Read right away: the options must already be there when connect() returns.
    o = getopts(s)
    return {"id": register(s), "local": addr_of(s.getsockname()),
            "peer": addr_of(s.getpeername()), "t": now(), "t0": t0, "opts": o}


def c_accept(id, timeout=10):
    ls = socks[id]
    ls.settimeout(timeout)
    s, peer = ls.accept()
    s.settimeout(None)
    o = getopts(s)
    return {"id": register(s), "local": addr_of(s.getsockname()),
            "peer": addr_of(peer), "t": now(), "opts": o}


def c_connect_many(family, addr, port, n, opts=None):
    ids, local = [], []
    for _ in range(n):
        s = new_socket(family, opts=opts)
        s.settimeout(10)
        s.connect((addr, port))
        s.settimeout(None)
        ids.append(register(s))
        local.append(addr_of(s.getsockname()))
    return {"ids": ids, "local": local}


def c_accept_many(id, n, timeout=10):
    ls = socks[id]
    ls.settimeout(timeout)
    ids = []
    for _ in range(n):
        s, _peer = ls.accept()
        s.settimeout(None)
        ids.append(register(s))
    return {"ids": ids}


def c_getopts(id):
    return {"opts": getopts(socks[id])}


def c_getopts_many(ids):
    return {"opts": [getopts(socks[i]) for i in ids]}


def c_getopt(id, name):
    """One option, OPTS or OPTS_NEW (an errno where the kernel has none)."""
    return {"value": socks[id].getsockopt(*(OPTS.get(name) or OPTS_NEW[name]))}


def c_setopts(id, opts):
    setopts(socks[id], opts)
    return {}


def c_setget(id, opts):
    """Set each option in turn, as an application does after connect() or
    accept(), and read it back right after its own setsockopt()."""
    s = socks[id]
    after = []
    for k, v in opts:
        s.setsockopt(*OPTS[k], int(v))
        after.append(getopts(s))
    return {"after": after, "opts": getopts(s)}


def c_ping_many(pairs, timeout=10):
    """For each (a, b): a sends one byte to b and b answers; both in here."""
    for a, b in pairs:
        sa, sb = socks[a], socks[b]
        sa.settimeout(timeout)
        sb.settimeout(timeout)
        sa.sendall(b"p")
        if sb.recv(1) != b"p":
            raise OSError(errno.EIO, "ping lost")
        sb.sendall(b"q")
        if sa.recv(1) != b"q":
            raise OSError(errno.EIO, "pong lost")
        sa.settimeout(None)
        sb.settimeout(None)
    return {"n": len(pairs)}


def c_send(id, data):
    socks[id].sendall(data.encode())
    return {"t": now()}


def c_recv(id, n=65536, timeout=10):
    s = socks[id]
    s.settimeout(timeout)
    data = s.recv(n)
    s.settimeout(None)
    return {"data": data.decode(errors="replace")}


def c_close(id):
    socks.pop(id).close()
    return {}


def c_close_many(ids):
    for i in ids:
        socks.pop(i).close()
    return {}


def c_recv_bg(id, send=None):
    return {"job": Job(job_recv, id=id, send=send).start_and_id()}


def c_send_forever_bg(id, chunk=65536):
    return {"job": Job(job_send_forever, id=id, chunk=chunk).start_and_id()}


def c_connect_bg(family, addr, port, opts=None, bind=None):
    s = new_socket(family, opts=opts, bind=bind)
    sid = register(s)
    jid = Job(job_connect, id=sid, addr=addr, port=port).start_and_id()
    return {"job": jid, "id": sid}


def c_send_stream_bg(id, nbytes, seed):
    return {"job": Job(job_send_stream, id=id, nbytes=nbytes,
                       seed=seed).start_and_id()}


def c_recv_stream_bg(id):
    return {"job": Job(job_recv_stream, id=id).start_and_id()}


def c_churn_bg(family, addr, port, opts=None):
    return {"job": Job(job_churn, family=family, addr=addr, port=port,
                       opts=opts).start_and_id()}


def c_job(job):
    return jobs[job].report()


def c_wait(job, timeout):
    j = jobs[job]
    j.finished.wait(timeout)
    return j.report()


def c_stop(job, timeout=10):
    j = jobs[job]
    j.stop.set()
    j.finished.wait(timeout)
    return j.report()


def c_sockstate(id):
    """TCP state via getsockopt(TCP_INFO): first byte is tcpi_state."""
    info = socks[id].getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    return {"state": info[0]}


def c_tcpinfo(id):
    """What the kernel's keepalive timer measures from: ms since the last
    data / ACK received (struct tcp_info: tcpi_last_data_recv at byte 52,
    tcpi_last_ack_recv at 56), with the monotonic time of the query."""
    info = socks[id].getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    t = now()
    data_recv, ack_recv = struct.unpack_from("=II", info, 52)
    # tcpi_retransmits, tcpi_backoff (bytes 2, 4), tcpi_rto (us, 8),
    # tcpi_total_retrans (100)
    rto, = struct.unpack_from("=I", info, 8)
    total_retrans, = struct.unpack_from("=I", info, 100)
    return {"t": t, "state": info[0], "last_data_recv": data_recv,
            "last_ack_recv": ack_recv,
            "t_last_rx": t - min(data_recv, ack_recv) / 1000.0,
            "retransmits": info[2], "backoff": info[4], "rto_us": rto,
            "total_retrans": total_retrans}


def _start_and_id(self):
    self.start()
    return self.id


Job.start_and_id = _start_and_id

COMMANDS = {k[2:]: v for k, v in globals().items() if k.startswith("c_")}


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (65536, max(hard, 65536)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    send_line(dict(c_info(), ready=True))
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        cmd = req.pop("cmd")
        if cmd == "exit":
            send_line({"ok": True})
            break
        try:
            res = COMMANDS[cmd](**req)
            res["ok"] = True
        except OSError as e:
            res = {"ok": False, "errno": e.errno,
                   "errname": errno.errorcode.get(e.errno, "?") if e.errno else "timeout",
                   "error": str(e)}
        except Exception as e:
            res = {"ok": False, "errno": None, "errname": type(e).__name__,
                   "error": repr(e)}
        send_line(res)
    os._exit(0)


if __name__ == "__main__":
    main()
