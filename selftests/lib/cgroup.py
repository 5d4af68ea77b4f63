"""cgroup v2: mount if needed, create, move processes, remove.

Paths are as seen from the root cgroup namespace ("/tt/child"), which is
also how a rule's `cgroup` attribute names them.

    ensure_mounted()
    create("/tt/child")
    move(pid, "/tt/child")
    of(pid) -> "/tt/child"
    remove("/tt")          # moves any process left to the root, then rmdir -r
"""
import os

ROOT = "/sys/fs/cgroup"


def ensure_mounted():
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            if mnt == ROOT and fstype == "cgroup2":
                return
    os.makedirs(ROOT, exist_ok=True)
    rc = os.system(f"mount -t cgroup2 none {ROOT}")
    if rc:
        raise RuntimeError(f"cannot mount cgroup2 on {ROOT}")


def fs(path):
    return ROOT + path if path != "/" else ROOT


def create(path):
    os.makedirs(fs(path), exist_ok=True)
    return path


def move(pid, path):
    with open(os.path.join(fs(path), "cgroup.procs"), "w") as f:
        f.write(f"{pid}\n")


def of(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].strip()
    return None


def procs(path):
    with open(os.path.join(fs(path), "cgroup.procs")) as f:
        return [int(x) for x in f.read().split()]


def remove(path):
    """Remove `path` and everything below it; processes go to the root."""
    top = fs(path)
    if not os.path.isdir(top):
        return
    for d, subdirs, _files in os.walk(top, topdown=False):
        rel = d[len(ROOT):] or "/"
        try:
            for pid in procs(rel):
                try:
                    move(pid, "/")
                except OSError:
                    pass
        except OSError:
            pass
        os.rmdir(d)
