"""The examiner-only set-up: a fork of the zygote that runs the instructor's examiner-only cells.

Examiner-only cells (AUTHORING.md) hold reference implementations, hidden fixtures and expected values.
Nothing of them may be in a student's kernel, not even in its memory, so they cannot run in the zygote
that every kernel forks from. After the shared set-up the zygote forks this process; it runs those cells
once, then forks each submission's examiner, which inherits their state. Kernels still fork from the
zygote, which never ran them.

The zygote itself never holds those cells' sources or outputs (its memory is every kernel's): the worker
hands them over in an unlinked file the zygote inherits but never reads. This process reads the cells from
it and writes its report (the cells' outputs, seconds and error) back into it for the worker, and tells the
zygote only that it is ready.

The zygote talks to it over a Unix stream socket: a 4-byte length, then JSON. A spawn request carries the
examiner's two sockets (its listener and its end of the agent link) as file descriptors. When the zygote
dies this process dies (parent-death signal), and with it every examiner it forked.
"""
import ctypes
import json
import os
import signal
import socket
import struct

_HEADER = struct.Struct("!I")
_PR_SET_PDEATHSIG = 1


def _send(sock: socket.socket, message: dict, fds: tuple[int, ...] = ()) -> None:
    body = json.dumps(message).encode()
    header = _HEADER.pack(len(body))
    if fds:
        socket.send_fds(sock, [header], list(fds))  # the descriptors ride on the header's bytes
    else:
        sock.sendall(header)
    sock.sendall(body)


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError("the peer closed the link")
        data += chunk
    return data


def _receive(sock: socket.socket) -> tuple[dict, list[int]]:
    header, fds, _, _ = socket.recv_fds(sock, _HEADER.size, 2, socket.MSG_WAITALL)
    if len(header) < _HEADER.size:
        for fd in fds:
            os.close(fd)
        raise EOFError("the peer closed the link")
    (size,) = _HEADER.unpack(header)
    return json.loads(_exactly(sock, size)), fds


class ExaminerSetup:
    """In the zygote: the forked process that holds the examiner-only set-up, and the way to ask it for examiners.

    `setup` is the zygote's `sandbox.Setup` after the shared cells; `handover` the descriptor of the file
    that holds the examiner-only sources (`write_cells`), closed here once the fork has it;
    `run_examiner(spec, setup, listener, examiner_end)` serves one examiner and never returns.
    """

    def __init__(self, setup, handover: int, run_examiner):
        self._sock, child = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            self._sock.close()
            _serve(child, setup, handover, run_examiner)
        os.close(handover)
        child.close()
        self.pid = pid
        self.children: set[int] = set()
        _receive(self._sock)  # ready: the cells ran (their report is in the file, for the worker)

    def spawn(self, spec: dict, listener: socket.socket, examiner_end: socket.socket) -> int:
        """Fork an examiner holding the examiner-only state; its pid."""
        _send(self._sock, {"op": "spawn", "spec": spec}, (listener.fileno(), examiner_end.fileno()))
        pid = int(_receive(self._sock)[0]["pid"])
        self.children.add(pid)
        return pid

    def status(self, pid: int) -> int | None:
        """The wait status of an examiner this process forked, or None while it runs (or was never seen)."""
        _send(self._sock, {"op": "status", "pid": pid})
        status = _receive(self._sock)[0]["status"]
        if status is not None:
            self.children.discard(pid)
        return status

    def forget(self) -> None:
        """In a forked child (a kernel): drop the link, so nothing there can ask for an examiner."""
        self._sock.close()

    def close(self) -> None:
        """Stop it; its examiners die with it."""
        self._sock.close()
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def write_cells(handover, cells: list[str]) -> None:
    """The worker's side: the examiner-only sources into the handover file (an unlinked temporary file)."""
    handover.write(json.dumps(cells).encode())
    handover.flush()


def read_report(handover) -> dict:
    """The worker's side, once the zygote's set-up replied: the examiner-only cells' outputs, seconds, error."""
    handover.seek(0)
    return json.loads(handover.read() or b'{"outputs": [], "seconds": [], "error": "no examiner set-up ran"}')


def _serve(sock: socket.socket, setup, handover: int, run_examiner) -> None:
    """In the forked process: run the examiner-only cells, then fork an examiner per request. Never returns."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the zygote's request pipe and reply pipe are not ours
        os.dup2(2, 1)
        statuses: dict[int, int] = {}
        signal.signal(signal.SIGCHLD, lambda *_: reap_children(statuses))
        cells = json.loads(os.pread(handover, os.fstat(handover).st_size, 0))
        first = len(setup.outputs)
        setup.run(cells)
        report = {"outputs": setup.outputs[first:], "error": setup.error, "seconds": setup.seconds[first:]}
        os.ftruncate(handover, 0)
        os.pwrite(handover, json.dumps(report).encode(), 0)
        os.close(handover)
        _send(sock, {"ready": True})
        while True:
            request, fds = _receive(sock)
            if request.get("op") == "spawn" and len(fds) == 2:
                _send(sock, {"pid": _fork_examiner(sock, setup, request["spec"], fds, run_examiner)})
            elif request.get("op") == "status":
                reap_children(statuses)
                _send(sock, {"status": statuses.pop(request.get("pid"), None)})
            else:
                for fd in fds:
                    os.close(fd)
                _send(sock, {"error": "unknown request"})
    except EOFError:
        pass
    finally:
        os._exit(0)


def _fork_examiner(sock: socket.socket, setup, spec: dict, fds: list[int], run_examiner) -> int:
    pid = os.fork()
    if pid == 0:
        sock.close()
        run_examiner(spec, setup, socket.socket(fileno=fds[0]), socket.socket(fileno=fds[1]))
    for fd in fds:
        os.close(fd)
    return pid


def reap_children(statuses: dict[int, int]) -> None:
    """Collect every child that has ended, without blocking: pid -> its wait status into `statuses`."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        statuses[pid] = status
