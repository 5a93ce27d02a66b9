"""Which process owns a run: ingest runs and training runs record the host and pid that started them, so a
reader can tell a run still going from one whose process died (SIGKILL, power loss) before it finished."""

from __future__ import annotations

import os
import socket


def here() -> tuple[str, int]:
    """This host's name and this process's id, as a run records them."""
    return socket.gethostname(), os.getpid()


def gone(host: str | None, pid: int | None) -> bool:
    """Whether the process that started a run is known to be gone: on this host, with no such pid.

    A run of another host cannot be judged from here and counts as alive.
    """
    if host != socket.gethostname() or pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # someone else's process: alive
    return False
