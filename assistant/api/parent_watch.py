"""Stop a uvicorn worker whose master has died, so it does not keep the port.

With ``--workers N`` the master binds the socket and spawns the workers; killed with SIGKILL
it cannot stop them, and orphaned workers went on serving on the port, so the next start
failed with "address already in use". Each worker watches its parent's pid: once it changes
(the worker was re-parented), the worker shuts down as on SIGTERM, and exits hard if that
takes longer than ``grace_s``. Polling ``os.getppid()`` is portable, unlike Linux's
``PR_SET_PDEATHSIG``, which also fires when merely the spawning *thread* ends.

Example:
    >>> from assistant.api.parent_watch import watch_parent
    >>> watch_parent() is None  # not a multiprocessing worker: nothing to watch
    True
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time

log = logging.getLogger("kva.api")

POLL_S = 0.5
GRACE_S = 10.0


def watch_parent(poll_s: float = POLL_S, grace_s: float = GRACE_S) -> threading.Thread | None:
    """Start the watch in a multiprocessing child (a uvicorn worker); None elsewhere."""
    if poll_s <= 0 or grace_s < 0:
        raise ValueError("poll_s must be > 0 and grace_s >= 0")
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return None
    thread = threading.Thread(
        target=_watch, args=(parent.pid, poll_s, grace_s), name="kva-parent-watch", daemon=True
    )
    thread.start()
    return thread


def _watch(parent_pid: int, poll_s: float, grace_s: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_s)
    log.warning(
        "the uvicorn master is gone; this worker stops",
        extra={"master_pid": parent_pid, "worker_pid": os.getpid()},
    )
    # uvicorn's handler: stop accepting, finish requests in flight, run the shutdown.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace_s)
    os._exit(1)
