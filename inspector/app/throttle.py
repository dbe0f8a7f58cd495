"""A token bucket per key, in this process: the review links' rate limit.

Each key may send ``burst`` requests at once, then ``rate`` a second (a
costly request may count as several). The
buckets live in the server process, so with several gunicorn workers a key
may get up to that many times the rate; that bounds a runaway or hostile
link well enough without a shared store. Only keys that passed a signature
check are counted (review link ids), so the table holds at most one bucket
per issued link; full buckets are dropped when it grows past ``max_keys``.
"""
import math
import threading
import time


class TokenBuckets:
    def __init__(self, rate, burst, clock=time.monotonic, max_keys=10_000):
        self.rate, self.burst, self.clock, self.max_keys = float(rate), float(burst), clock, max_keys
        self._buckets = {}  # key -> (tokens, when they were counted)
        self._lock = threading.Lock()

    def take(self, key, cost=1):
        """0 if ``key`` may make a request of ``cost`` tokens now (and count
        it), else the whole seconds to wait before it may."""
        cost = min(cost, self.burst)
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, now)
                if len(self._buckets) > self.max_keys:
                    self._forget_full(now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((cost - tokens) / self.rate))

    def _forget_full(self, now):
        # A bucket that has refilled is the same as no bucket at all.
        for key, (tokens, then) in list(self._buckets.items()):
            if tokens + (now - then) * self.rate >= self.burst:
                del self._buckets[key]
