"""Run a function with fewer privileges, in a forked child.

    as_nobody(lambda: write_raw(path, "1\\n"))     -> the function's result
    without_cap(CAP_NET_ADMIN, lambda: ...)       -> the function's result

The result must be JSON-serialisable; an exception in the child is raised
again here as RuntimeError. The child drops privileges with plain syscalls
(setgroups/setgid/setuid; prctl(PR_CAPBSET_DROP) + capset via ctypes), so
nothing outside the Python stdlib is needed.
"""
import ctypes
import json
import os
import traceback

CAP_NET_ADMIN = 12
NOBODY = 65534
PR_CAPBSET_DROP = 24
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


_libc = ctypes.CDLL(None, use_errno=True)


def drop_cap(cap):
    """Drop `cap` from this process's bounding, effective, permitted and
    inheritable sets (root keeps its uid and every other capability)."""
    if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"prctl(PR_CAPBSET_DROP): {os.strerror(e)}")
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if _libc.capget(ctypes.byref(hdr), data) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"capget: {os.strerror(e)}")
    i, bit = cap // 32, 1 << (cap % 32)
    data[i].effective &= ~bit
    data[i].permitted &= ~bit
    data[i].inheritable &= ~bit
    if _libc.capset(ctypes.byref(hdr), data) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"capset: {os.strerror(e)}")


def cap_effective(pid="self"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def _in_child(setup, fn):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            setup()
            out = {"ok": True, "value": fn()}
        except BaseException:
            out = {"ok": False, "error": traceback.format_exc()}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    os.waitpid(pid, 0)
    out = json.loads(b"".join(chunks) or b'{"ok": false, "error": "child died"}')
    if not out["ok"]:
        raise RuntimeError("in child: " + out["error"])
    return out["value"]


def as_nobody(fn):
    def setup():
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    return _in_child(setup, fn)


def without_cap(cap, fn):
    return _in_child(lambda: drop_cap(cap), fn)
