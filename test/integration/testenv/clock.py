"""Provider time as the fakes and the syncs count it: milliseconds since the epoch."""
import time

DAY_MS = 86_400_000


def now_ms():
    return int(time.time() * 1000)
