"""Worker processes exit when the process that started them dies.

A `kill -9` of the server left its rule workers running (three 210 MB orphans, issue 12): a spawned
pool worker only notices its parent's death when it next talks to it, and an idle one never does.
Each worker therefore starts a daemon thread that checks once a second whether its parent is still
the process that started it (after the parent dies, the kernel re-parents it) and exits at once if
not. PR_SET_PDEATHSIG is not used: it fires when the parent *thread* that forked exits, and pools are
(re)started from short-lived thread-pool threads.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["CHECK_EVERY_S", "exit_with_parent"]

CHECK_EVERY_S = 1.0


def _watch(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(70)  # EX_SOFTWARE: nothing to flush, the parent and its work are gone
        time.sleep(CHECK_EVERY_S)


def exit_with_parent(parent: int) -> None:
    """Call first thing in a worker, with the parent's pid taken before the worker was started."""
    if os.getppid() != parent:
        os._exit(70)
    threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()
