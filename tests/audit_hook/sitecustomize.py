"""Injected through PYTHONPATH by test_gate_off.py: records, for every Python process the
CLI starts, each network connection, process launch and file write (PEP 578 audit hooks).

One JSON line per event in ``$SK_AUDIT_LOG``. The log is opened before the hook is
installed and written with ``os.write``, which raises no audit event of its own.
"""

import json
import os
import sys

_LOG = os.environ.get("SK_AUDIT_LOG")
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_PATH_EVENTS = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.link",
                "os.chmod", "os.truncate", "shutil.rmtree", "shutil.copyfile",
                "sqlite3.connect"}
_SPAWN_EVENTS = {"os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                 "os.forkpty", "pty.spawn"}


def _absolute(path):
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        return None
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), path)


if _LOG:
    _fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def _record(event, detail):
        line = {"pid": os.getpid(), "argv": [str(a) for a in sys.argv[:4]],
                "event": event, "detail": detail}
        os.write(_fd, (json.dumps(line, default=repr) + "\n").encode())

    def _hook(event, args):
        if event in ("socket.connect", "socket.getaddrinfo", "socket.sendto"):
            _record(event, repr(args[1:] if event == "socket.connect" else args))
        elif event == "subprocess.Popen":
            _record(event, {"executable": str(args[0]), "args": [str(a) for a in args[1]]
                            if isinstance(args[1], (list, tuple)) else str(args[1])})
        elif event in _SPAWN_EVENTS:
            _record(event, repr(args)[:300])
        elif event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE)
            if writing and _absolute(path) is not None:
                _record("write", _absolute(path))
        elif event in _PATH_EVENTS:
            paths = [_absolute(a) for a in args[:2] if isinstance(a, (str, bytes))]
            _record(event, [p for p in paths if p])

    sys.addaudithook(_hook)
    _record("start", None)
