"""Crash isolation: a worker that dies costs its request a 503 (recorded), never the service."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eligibility.api.workers import ProcessEvaluator
from tests.api.conftest import Api, make_settings, running_api
from tests.api.helpers import AS_OF, ClientKeys, example, records
from tests.api.worker_hooks import evaluate_or_crash


@pytest.fixture
def fragile(tmp_path: Path, keys: ClientKeys, issuers_file: Path) -> Iterator[tuple[Api, ProcessEvaluator]]:
    pool = ProcessEvaluator(1, function=evaluate_or_crash, timeout_s=3)
    pool.start()
    try:
        url = f"sqlite:///{tmp_path / 'api.db'}"
        with running_api(url, keys=keys, settings=make_settings(issuers_file), evaluator=pool) as api:
            yield api, pool
    finally:
        pool.close()


def assert_serving(api: Api) -> None:
    response = api.operate(example(), params={"asOf": AS_OF})
    assert response.status_code == 200, response.text


def assert_503_recorded(api: Api, response: httpx.Response, error_type: str, body: bytes) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.json()["resourceType"] == "OperationOutcome"
    [rejection] = records(api.engine, "rejection")
    assert rejection.data()["error"]["type"] == error_type
    assert rejection.input_sha256 == hashlib.sha256(body).hexdigest()


def test_a_worker_that_aborts(fragile: tuple[Api, ProcessEvaluator]) -> None:
    api, pool = fragile
    before = pool.pids()

    response = api.operate(b"ABORT: simulate a native crash")

    assert_503_recorded(api, response, "WorkerCrashedError", b"ABORT: simulate a native crash")
    assert_serving(api)
    assert pool.replacements == 1 and pool.pids() != before


def test_a_worker_killed_mid_request(fragile: tuple[Api, ProcessEvaluator], tmp_path: Path) -> None:
    api, pool = fragile
    pid_file = tmp_path / "worker.pid"
    body = f"HANG:{pid_file}".encode()
    answer: list[httpx.Response] = []
    caller = threading.Thread(target=lambda: answer.append(api.operate(body)))
    caller.start()
    deadline = time.monotonic() + 20
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the worker never started the evaluation"
        time.sleep(0.02)

    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    caller.join(timeout=30)

    assert_503_recorded(api, answer[0], "WorkerCrashedError", body)
    assert_serving(api)
    assert pool.replacements == 1


def test_a_hung_worker_is_replaced_after_the_timeout(fragile: tuple[Api, ProcessEvaluator], tmp_path: Path) -> None:
    api, _pool = fragile
    pid_file = tmp_path / "worker.pid"
    body = f"HANG:{pid_file}".encode()

    response = api.operate(body)

    assert_503_recorded(api, response, "EvaluationTimeoutError", body)
    hung = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(hung):
        assert time.monotonic() < deadline, "the hung worker was not killed"
        time.sleep(0.05)
    assert_serving(api)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child stays a zombie until reaped; count it as gone.
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


class _BrokenEvaluator:
    """Not a crash but a bug on our side of the pipe: the call must still be answered and recorded."""

    async def evaluate(self, raw: bytes, *, as_of: object, policy: object = None) -> object:
        raise RuntimeError("secret internals that must not reach the client")

    def close(self) -> None:
        pass


def test_a_bug_is_a_generic_500_and_still_recorded(tmp_path: Path, keys: ClientKeys, issuers_file: Path) -> None:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    with running_api(url, keys=keys, settings=make_settings(issuers_file), evaluator=_BrokenEvaluator()) as api:  # type: ignore[arg-type]
        response = api.operate(example(), params={"asOf": AS_OF})

        assert response.status_code == 500
        issue = response.json()["issue"][0]
        assert issue["code"] == "exception" and "secret" not in response.text
        [rejection] = records(api.engine, "rejection")
        assert rejection.data()["error"]["type"] == "RuntimeError"
