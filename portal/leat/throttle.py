"""A cap on this process's calls to Leat, when one is configured.

Leat documents no rate limit; its own Magento integration keeps to 5 calls a second.
``LEAT_MAX_CALLS_PER_SECOND`` spaces this process's calls at least 1/rate apart, so a
burst of managers (or the worker catching up) cannot spend the shared token's limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """Call starts at most ``rate`` a second, spaced evenly; callers wait their turn."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        with self._lock:
            # Each caller books the next free slot, then sleeps outside the lock.
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)
