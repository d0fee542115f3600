"""After a submission: find whatever of its sandbox outlived it on the host, remove it, and say what it was.

A sandbox's uids (its kernel's and its examiner's) own nothing once it is over: no process, no
SysV IPC object (shared memory, message queue, semaphore set) in the host's IPC namespace, no
file in the host's /dev/shm (POSIX shared memory and semaphores) or /dev/mqueue, and its scratch
directory is gone. The sandbox's own namespaces make all of these impossible; this is the check
that they held, and the clean-up where they did not.
"""
import ctypes
import logging
import os
import shutil

import psutil

log = logging.getLogger(__name__)

SYSV_FILES = ("shm", "msg", "sem")         # /proc/sysvipc/<kind>: the host IPC namespace's objects
SHM_DIRS = ("/dev/shm", "/dev/mqueue")    # POSIX shared memory, semaphores and message queues
IPC_RMID = 0
DYING_S = 10.0  # seconds a killed process may take to exit before it counts as left behind

_libc = ctypes.CDLL(None, use_errno=True)


def processes(uids) -> list[psutil.Process]:
    """Live processes (zombies aside: they hold nothing but a slot) whose real or effective uid is one of `uids`."""
    wanted = set(uids)
    found = []
    if not wanted:
        return found
    for proc in psutil.process_iter(["uids", "status"]):
        ids, status = proc.info["uids"], proc.info["status"]
        if ids is not None and (ids.real in wanted or ids.effective in wanted) and status != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def sysv_objects(uids, folder: str = "/proc/sysvipc") -> list[tuple[str, int, int]]:
    """(kind, id, owner uid) of the SysV IPC objects in this IPC namespace owned or created by one of `uids`."""
    wanted = set(uids)
    found = []
    for kind in SYSV_FILES:
        try:
            with open(os.path.join(folder, kind)) as f:
                header, *rows = [line.split() for line in f if line.strip()]
        except (OSError, ValueError):
            continue
        for row in rows:
            fields = dict(zip(header, row, strict=False))  # a short row: the fields it has
            owner, creator = int(fields.get("uid", -1)), int(fields.get("cuid", -1))
            if owner in wanted or creator in wanted:
                found.append((kind, int(row[1]), owner))
    return found


def shm_files(uids, folders=SHM_DIRS) -> list[tuple[str, int]]:
    """(path, owner uid) of the files and folders in the host's /dev/shm and /dev/mqueue owned by one of `uids`."""
    wanted = set(uids)
    found = []
    for folder in folders:
        for top, dirs, files in os.walk(folder):
            for name in dirs + files:
                path = os.path.join(top, name)
                try:
                    owner = os.lstat(path).st_uid
                except OSError:
                    continue
                if owner in wanted:
                    found.append((path, owner))
    return found


def _remove_sysv(kind: str, ident: int) -> None:
    if kind == "shm":
        _libc.shmctl(ident, IPC_RMID, None)
    elif kind == "msg":
        _libc.msgctl(ident, IPC_RMID, None)
    else:
        _libc.semctl(ident, 0, IPC_RMID)


def _remove_path(path: str) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass


def proc_status(pid) -> dict[str, str]:
    """The fields of /proc/<pid>/status ({} when the process is gone): only for what psutil does not show,
    the peak resident memory (VmHWM) and pending signals. `pid` may be "self"."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return {key: value.strip() for key, sep, value in (line.partition(":") for line in f) if sep}
    except OSError:
        return {}


def peak_rss(pid) -> int:
    """Peak resident memory (VmHWM) of a process, bytes (0: gone, or not shown)."""
    try:
        return int(proc_status(pid).get("VmHWM", "0 kB").split()[0]) * 1024
    except (ValueError, IndexError):
        return 0


def _dying(pid: int) -> bool:
    """Whether SIGKILL is pending for `pid`: killed, and on its way out (psutil does not show pending signals)."""
    fields = proc_status(pid)
    if not fields:
        return True  # gone already
    try:
        masks = [int(fields[key].split()[0], 16) for key in ("SigPnd", "ShdPnd") if key in fields]
    except (ValueError, IndexError):
        return True
    return any(mask & (1 << (9 - 1)) for mask in masks)  # SIGKILL is signal 9


def _sweep_processes(uids) -> list[str]:
    """Processes of `uids` that the sandbox's kill missed (no SIGKILL pending): killed now, and reported.

    Killed ones may take seconds to exit (a fork bomb's hundreds, on a busy machine): they are waited
    for, up to DYING_S, and reported only if still there then.
    """
    found = []
    alive = processes(uids)
    for proc in alive:
        try:
            if not _dying(proc.pid):
                found.append(f"process {proc.pid} ({proc.name()}) of uid {proc.uids().real}")
            proc.kill()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(alive, timeout=DYING_S)
    found += [f"process {proc.pid} of uids {uids}, alive {DYING_S:g} s after SIGKILL" for proc in alive]
    return found


def sweep(uids, base: str | None) -> list[str]:
    """Remove what is left of a sandbox with `uids` and scratch directory `base`; returns what was left."""
    uids = [u for u in uids if u is not None]
    found = _sweep_processes(uids)
    for kind, ident, owner in sysv_objects(uids):
        found.append(f"SysV {kind} {ident} of uid {owner}")
        _remove_sysv(kind, ident)
    for path, owner in shm_files(uids):
        found.append(f"{path} of uid {owner}")
        _remove_path(path)
    if base and os.path.lexists(base):
        found.append(f"scratch directory {base}")
        shutil.rmtree(base, ignore_errors=True)
    if found:
        log.warning("a sandbox (uids %s) left %d thing(s) behind, removed: %s", uids, len(found), "; ".join(found))
    return found
