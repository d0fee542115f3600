"""A private root file system and fresh namespaces for one sandboxed process (a kernel or an examiner).

Called as root in a child that then drops to its own uid: new mount, network, IPC and UTS
namespaces (the caller may add more, the kernel a PID namespace), a neutral hostname, SysV IPC
bounded in the new IPC namespace (and gone with it), and a tmpfs root that holds only the
allowed paths read-only, the caller's own read-write paths, size-limited tmpfs for /tmp and
home, and a minimal /dev with a private /dev/shm.
"""
import ctypes
import os
import sys
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
HOSTNAME = "sandbox"
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")

_libc = ctypes.CDLL(None, use_errno=True)


def check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(src, target, fstype, flags, data=None) -> None:
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    check(_libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def _wanted() -> list[str]:
    """The directories a sandbox reads, as this process names them (a virtualenv may be a link)."""
    import embedkit

    paths = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/sys", sys.base_prefix, sys.prefix,
             sys.exec_prefix, str(Path(embedkit.__file__).resolve().parent)]
    paths.append(os.environ.get("COURSE_DATA") or str(Path(embedkit.__file__).resolve().parent.parent / "data"))
    paths += [p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)]
    return [p for p in paths if p and os.path.isdir(p)]


def allowed_paths() -> tuple[list[str], list[str]]:
    """(read-only, read-write) directories visible inside the sandbox."""
    return sorted({os.path.realpath(p) for p in _wanted()}, key=len), []


def path_links() -> dict[str, str]:
    """The links on the way to the allowed paths ({link: what it resolves to}), rebuilt inside the root.

    A virtualenv that is a symlink (a git worktree sharing one, say) keeps its name in sys.path and
    sys.prefix: without its link, imports inside the sandbox would miss it.
    """
    links = {}
    for path in _wanted():
        parts = Path(os.path.abspath(path)).parts
        for i in range(2, len(parts) + 1):
            here = os.path.join(*parts[:i])
            if os.path.islink(here):
                links[here] = os.path.realpath(here)
                break
    return links


def unshare(extra: int = 0) -> None:
    """New mount, network, IPC and UTS namespaces (plus `extra`), a neutral hostname, no propagation to the host."""
    check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | extra), "unshare")
    name = HOSTNAME.encode()
    check(_libc.sethostname(name, len(name)), "sethostname")
    mount(None, "/", None, MS_REC | MS_PRIVATE)


def bound_sysv_ipc(shm_bytes: int) -> None:
    """In the fresh IPC namespace: SysV shared memory bounded like /dev/shm, few message queues.

    The namespace already keeps its objects from everyone else and frees them when its last process
    ends; the bounds keep a live sandbox from parking memory outside any process's accounting.
    """
    pages = max(1, shm_bytes // os.sysconf("SC_PAGE_SIZE"))
    for name, value in (("shmmax", shm_bytes), ("shmall", pages), ("msgmni", 64)):
        try:
            with open(f"/proc/sys/kernel/{name}", "w") as f:
                f.write(str(value))
        except OSError:
            pass  # a read-only /proc/sys: the namespace still ends its objects' lives


def private_root(root: str, ro: list[str], rw: list[str], disk: int) -> None:
    """A tmpfs at `root` with a tmpfs /tmp (`disk` bytes), then `ro` bound read-only and `rw` read-write.

    /tmp first: allowed paths that live under /tmp (a checkout in /tmp, say) are then mounted on top
    of it instead of being hidden by it.
    """
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=16m")
    os.makedirs(root + "/tmp", exist_ok=True)
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={disk}")
    for path in ro + rw:
        target = root + path
        os.makedirs(target, exist_ok=True)
        mount(path, target, None, MS_BIND | MS_REC)
        if path in ro:
            mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
    _links(root)
    _hostname_file(root)


def _links(root: str) -> None:
    for link, target in path_links().items():
        try:
            os.makedirs(os.path.dirname(root + link), exist_ok=True)
            os.symlink(target, root + link)
        except OSError:
            pass  # already there (inside a bound directory) or read-only: nothing to rebuild


def _hostname_file(root: str) -> None:
    """/etc/hostname says the sandbox's name, not the host's."""
    target = root + "/etc/hostname"
    if not os.path.isfile(target):
        return
    source = root + "/.hostname"
    with open(source, "w") as f:
        f.write(HOSTNAME + "\n")
    mount(source, target, None, MS_BIND)
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
    os.unlink(source)  # the mount keeps the file; no name of it is left in the root


def home(target: str, uid: int, disk: int) -> None:
    """A size-limited tmpfs at `target` that only `uid` may use: a home gone with the sandbox."""
    os.makedirs(target, exist_ok=True)
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=700,uid={uid},gid={uid},size={disk}")


def devices(root: str, shm_bytes: int, gpu: bool) -> None:
    """A minimal /dev: the harmless character devices (and the GPU's, when `gpu`), a private /dev/shm."""
    dev = root + "/dev"
    os.makedirs(dev, exist_ok=True)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID, "mode=755,size=64k")
    names = DEVICES + (tuple(d for d in os.listdir("/dev") if d.startswith("nvidia")) if gpu else ())
    for name in names:
        if os.path.exists("/dev/" + name) and not os.path.isdir("/dev/" + name):
            open(os.path.join(dev, name), "w").close()
            mount("/dev/" + name, os.path.join(dev, name), None, MS_BIND)
    os.makedirs(dev + "/shm")
    mount("tmpfs", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={shm_bytes}")
    for link, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, link))


def proc(root: str, options: str | None = None) -> None:
    """/proc of this process's PID namespace (`options`: hidepid=2 where that namespace is the host's)."""
    os.makedirs(root + "/proc", exist_ok=True)
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, options)


def enter(root: str) -> None:
    """chroot into `root` and leave the host's tree behind (the working directory too)."""
    os.chroot(root)
    os.chdir("/")
