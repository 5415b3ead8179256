"""Group commit: many small writes that arrive together share one transaction and one fsync.

At the gate every scan is a durable write. With synchronous=FULL each commit waits for the disk, and
one at a time that caps the gate's rate; concurrent scans queued here are applied by one thread, each in
its own SAVEPOINT (a failing one rolls back alone), then committed once. Nobody is answered before the
commit that holds their write, so an acknowledged check-in is never lost. A single writer also keeps the
gate's rules atomic: within a batch each write sees the ones before it.
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Callable

MAX_BATCH = 64
# A caller never waits forever: a wedged disk gives the gate an error it can retry (same nonce).
WAIT_SECONDS = 30
_STOP = object()


class _Abandoned(Exception):
    """The lone item of a batch failed; its caller already has the error and nothing was written."""


def _settle(future: Future, result=None, error: BaseException | None = None) -> None:
    """Answer a caller once; a second answer (after a failed rollback) is ignored."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class GroupCommitter:
    """Runs submitted functions of a session in shared write transactions, on one thread."""

    def __init__(self, open_write: Callable):
        self._open_write = open_write
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, work: Callable):
        """Run `work(session)` in the next batch; return its result after the batch is committed."""
        self._ensure_thread()
        future: Future = Future()
        self._queue.put((work, future))
        return future.result(timeout=WAIT_SECONDS)

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    self._queue.put(_STOP)
                    break
                batch.append(item)
            try:
                self._apply(batch)
            except BaseException as exc:  # the thread must outlive any batch: fail it, keep serving
                for _work, future in batch:
                    _settle(future, error=exc)

    def _apply(self, batch: list) -> None:
        outcomes = []
        try:
            with self._open_write() as session:
                if len(batch) == 1:
                    # Alone in its batch: its own transaction is its savepoint (an error rolls it back).
                    work, future = batch[0]
                    try:
                        outcomes.append((future, work(session), None))
                    except Exception as exc:
                        _settle(future, error=exc)
                        raise _Abandoned() from exc
                else:
                    for work, future in batch:
                        try:
                            with session.begin_nested():
                                outcomes.append((future, work(session), None))
                        except Exception as exc:  # this item's changes are rolled back to its savepoint
                            outcomes.append((future, None, exc))
        except _Abandoned:
            return
        except Exception as exc:  # the commit itself failed: nothing in the batch was written
            for _work, future in batch:
                _settle(future, error=exc)
            return
        for future, result, error in outcomes:
            _settle(future, result, error)

    def stop(self) -> None:
        """Let the thread finish what is queued and end."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=5)
            self._thread = None
