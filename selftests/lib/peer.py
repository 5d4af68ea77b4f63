"""Controller for agent.py: applications in other namespaces and cgroups.

    srv = Agent(pair.srv)                      # ip netns exec <srv> python3 agent.py
    cli = Agent(pair.cli, cgroup="/tt/child")  # moved there before any socket
    ls = srv.listen(4, "0.0.0.0", 7001)
    c = cli.connect(4, "10.77.0.2", 7001)      # c["opts"]: getsockopt right after connect()
    a = srv.accept(ls)                         # a["opts"]: right after accept()
    cli.getopts(c["id"]) -> {"keepalive": 1, "keepidle": 11, ...}
    j = cli.recv_bg(c["id"]); cli.wait(j, 10) -> {"done", "result", "errno", "t_end"...}

Option names are the rule attribute names: keepalive, keepidle,
keepintvl, keepcnt, user_timeout, syn_retries.
"""
import json
import os
import select
import subprocess
import sys
import time

import cgroup as cg
import undo

AGENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "agent.py")
OPTS = ("keepalive", "keepidle", "keepintvl", "keepcnt", "user_timeout",
        "syn_retries")


class AgentError(OSError):
    def __init__(self, res):
        super().__init__(res.get("errno") or 0, res.get("error", "?"))
        self.res = res
        self.errname = res.get("errname")


class Agent:
    def __init__(self, ns=None, cgroup=None, timeout=60):
        cmd = [sys.executable, AGENT]
        if ns is not None:
            cmd = ns.exec_cmd(cmd)
        self.ns = ns
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        undo.add(("agent", self.p.pid), self._kill)
        self.buf = b""
        self.timeout = timeout
        hello = self._read(timeout)
        self.pid = hello["pid"]
        self.netns = hello["netns"]
        if cgroup is not None:
            cg.move(self.pid, cgroup)

    def _read(self, timeout):
        end = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"agent {self.p.pid} did not answer in {timeout} s")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise RuntimeError(f"agent {self.p.pid} exited "
                                       f"(rc={self.p.poll()})")
                self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def send(self, cmd, **kw):
        """Send a command without waiting (pair with reply())."""
        kw["cmd"] = cmd
        self.p.stdin.write((json.dumps(kw) + "\n").encode())
        self.p.stdin.flush()

    def reply(self, check=True, read_timeout=None):
        res = self._read(read_timeout or self.timeout)
        if check and not res.get("ok"):
            raise AgentError(res)
        return res

    def call(self, cmd, check=True, read_timeout=None, **kw):
        """Send one command; kw are its arguments. Raise AgentError if it failed."""
        self.send(cmd, **kw)
        return self.reply(check, read_timeout)

    # -- conveniences --
    def info(self):
        return self.call("info")

    def listen(self, family, addr, port=0, opts=None, v6only=None):
        return self.call("listen", family=family, addr=addr, port=port,
                         opts=opts, v6only=v6only)["id"]

    def connect(self, family, addr, port, bind=None, opts=None, timeout=10,
                check=True):
        return self.call("connect", family=family, addr=addr, port=port,
                         bind=bind, opts=opts, timeout=timeout, check=check,
                         read_timeout=timeout + 30)

    def accept(self, lid, timeout=10):
        return self.call("accept", id=lid, timeout=timeout)

    def getopts(self, sid):
        return self.call("getopts", id=sid)["opts"]

    def setopts(self, sid, opts):
        self.call("setopts", id=sid, opts=opts)

    def getopt(self, sid, name, check=True):
        """One option, also one getopts() leaves out (rto_max)."""
        r = self.call("getopt", id=sid, name=name, check=check)
        return r.get("value") if r.get("ok") else r

    def setget(self, sid, opts):
        """[(option, value), ...] set in order; returns ([all options read
        right after each setsockopt()], all options at the end)."""
        r = self.call("setget", id=sid, opts=[list(o) for o in opts])
        return r["after"], r["opts"]

    def close(self, sid):
        self.call("close", id=sid)

    def recv_bg(self, sid, send=None):
        return self.call("recv_bg", id=sid, send=send)["job"]

    def send_forever_bg(self, sid):
        return self.call("send_forever_bg", id=sid)["job"]

    def connect_bg(self, family, addr, port, opts=None, bind=None):
        r = self.call("connect_bg", family=family, addr=addr, port=port,
                      opts=opts, bind=bind)
        return r["job"], r["id"]

    def job(self, jid):
        return self.call("job", job=jid)

    def wait(self, jid, timeout):
        """Wait up to `timeout` s for a job; returns its report either way."""
        timeout = max(0.0, timeout)
        return self.call("wait", job=jid, timeout=timeout,
                         read_timeout=timeout + 30)

    def stop(self, jid, timeout=10):
        return self.call("stop", job=jid, timeout=timeout,
                         read_timeout=timeout + 30)

    def tcp_state(self, sid):
        return self.call("sockstate", id=sid)["state"]

    def _kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def close_agent(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write(b'{"cmd": "exit"}\n')
                self.p.stdin.flush()
                self.p.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._kill()
        undo.drop(("agent", self.p.pid))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close_agent()


# TCP states (include/net/tcp_states.h)
TCP_ESTABLISHED = 1
TCP_SYN_SENT = 2
TCP_CLOSE = 7


def wildcard(family):
    return "0.0.0.0" if family == 4 else "::"


def connect_pair(cli, srv, lid, family, addr, port, bind=None, opts=None,
                 timeout=10):
    """One connection, connect() and accept() issued at once (one round
    trip instead of two): returns (client result, accepted result)."""
    srv.send("accept", id=lid, timeout=timeout)
    cli.send("connect", family=family, addr=addr, port=port, bind=bind,
             opts=opts, timeout=timeout)
    c = cli.reply(read_timeout=timeout + 30)
    a = srv.reply(read_timeout=timeout + 30)
    return c, a


def listen_all(srv, ports, families=(4, 6)):
    """Listeners on the wildcard address: {(family, port): listener id}.
    IPv6 ones are v6only so both families can share a port."""
    return {(f, p): srv.listen(f, wildcard(f), p, v6only=True if f == 6 else None)
            for f in families for p in ports}


def kernel_defaults(ns=None):
    """What getsockopt shows on a socket nobody touched, from the sysctls
    of netns `ns` (None: the current one)."""
    def get(key):
        if ns is not None:
            return int(ns.sysctl_get(key))
        with open("/proc/sys/" + key.replace(".", "/")) as f:
            return int(f.read())
    return {"keepalive": 0,
            "keepidle": get("net.ipv4.tcp_keepalive_time"),
            "keepintvl": get("net.ipv4.tcp_keepalive_intvl"),
            "keepcnt": get("net.ipv4.tcp_keepalive_probes"),
            "user_timeout": 0,
            "syn_retries": get("net.ipv4.tcp_syn_retries")}


def opts_diff(got, want):
    """Human-readable differences between two option dicts."""
    return ", ".join(f"{k}: want {want[k]} got {got.get(k)}"
                     for k in want if got.get(k) != want[k]) or "none"
