"""A background thread that does one pass of work every interval, and lets a caller wait for a whole pass."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class PassLoop:
    """Runs `run_pass` on a daemon thread named `name`, then waits `interval_s`, until stopped. A pass that raises
    is logged and the loop goes on."""

    def __init__(self, name: str, interval_s: float, run_pass: Callable[[], None]) -> None:
        self._name = name
        self._interval_s = interval_s
        self._run_pass = run_pass
        self._stop = threading.Event()
        self._passes = 0
        self._passed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def wait_pass(self, timeout_s: float = 5) -> bool:
        """Block until a full pass has started and ended after this call; False on timeout."""
        with self._passed:
            target = self._passes + 2
            return self._passed.wait_for(lambda: self._passes >= target or self._stop.is_set(), timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._run_pass()
            except Exception:
                logger.exception("%s: a pass failed", self._name)
            with self._passed:
                self._passes += 1
                self._passed.notify_all()
            self._stop.wait(self._interval_s)
