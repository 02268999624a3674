"""Workers do not outlive a `kill -9` of the server (issue 12, item 12: three 210 MB orphans).

A real `drg-eligibility serve` process with two rule workers on 127.0.0.1; the server is killed with
SIGKILL, so nothing of its own shutdown runs, and its workers must be gone within a few seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_workers_exit_when_the_server_is_killed(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DRG_ELIGIBILITY_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "eligibility.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        workers: set[int] = set()
        while time.monotonic() < deadline:  # the pool's workers, and the resource tracker
            workers = children_of(server.pid)
            if len(workers) >= 2:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
            time.sleep(0.2)
        assert len(workers) >= 2, "the server did not start its workers"
        time.sleep(1)
        workers = children_of(server.pid)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in workers):
            time.sleep(0.1)
        assert not [pid for pid in workers if alive(pid)]  # was: they ran on for good
    finally:
        if server.poll() is None:
            server.kill()
