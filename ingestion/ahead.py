"""Run a function over items on worker threads, a bounded number of items ahead of the consumer."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def ordered_ahead(work: Callable[[Item], Result], items: Iterable[Item], workers: int = 2,
                  depth: int = 4) -> Iterator[Result]:
    """``work(item)`` for each item, yielded in the items' order.

    At most ``depth`` results wait for the consumer, so memory stays bounded when the
    consumer is slower. Work that releases the GIL (DuckDB queries, hashing, file reads)
    runs side by side. A consumer that stops early cancels the work not yet started.
    """
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crmwh-ahead")
    pending: deque[Future[Result]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) >= depth:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
