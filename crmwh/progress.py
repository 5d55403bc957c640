"""Progress lines for long work: timestamped, to stderr, so stdout stays for results."""

from __future__ import annotations

import sys
import time

_START = time.monotonic()


def progress(message: str) -> None:
    print(f"[{time.monotonic() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)
