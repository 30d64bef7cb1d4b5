"""A generator run on a second thread, a bounded number of items ahead.

Reading, decompressing and splitting lines happen there while the caller parses:
polars and the decompressors release the GIL, so both cores work.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Full, Queue
from typing import TypeVar

_Item = TypeVar("_Item")


def in_background(items: Iterator[_Item], depth: int = 1) -> Iterator[_Item]:
    """`items`, produced on another thread up to `depth` ahead (memory stays bounded)."""
    queue: Queue[tuple[bool, _Item | BaseException | None]] = Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: tuple[bool, _Item | BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((False, item)):
                    return
            offer((True, None))
        except BaseException as error:  # handed to the reading thread, raised there
            offer((True, error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # the files' finally blocks run on this thread

    thread = threading.Thread(target=produce, name="logstat-reader", daemon=True)
    thread.start()
    try:
        while True:
            done, item = queue.get()
            if done:
                if isinstance(item, BaseException):
                    raise item
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
