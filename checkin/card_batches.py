"""Render many cards on every core: a thousand cards are a few seconds, not a quarter of a minute."""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Iterator

from PIL import Image

from .cards import CardPerson, CardRenderer, EventCardInfo, a4_pages

CHUNK = 24          # cards per task: a multiple of 4 so every task fills whole A4 pages
INLINE_BELOW = 60   # small batches are faster without starting worker processes


def _end_with_parent() -> None:
    """Pool initializer: the worker ends when the kiosk that started it is gone. A kiosk killed mid-export
    (kill -9, a power cut of one server) would otherwise leave its workers waiting forever: each holds both
    ends of its task queue, so it never sees the parent leave."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)
    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def _png_chunk(info: EventCardInfo, people: list[CardPerson]) -> list[bytes]:
    renderer = CardRenderer(info)
    return [renderer.png(person) for person in people]


def _page_chunk(info: EventCardInfo, people: list[CardPerson]) -> list[tuple[tuple[int, int], bytes]]:
    return [(page.size, page.tobytes()) for page in a4_pages(CardRenderer(info), people)]


def _chunks(people: list[CardPerson]) -> list[list[CardPerson]]:
    return [people[i:i + CHUNK] for i in range(0, len(people), CHUNK)]


def _run(task, info: EventCardInfo, people: list[CardPerson], progress) -> Iterator:
    """Yield each chunk's results in order, reporting cards done after each chunk."""
    chunks = _chunks(people)
    done = 0
    if len(people) < INLINE_BELOW or (os.cpu_count() or 1) < 2:
        results = (task(info, chunk) for chunk in chunks)
        executor = None
    else:
        # "spawn" everywhere: forking a threaded web server is unsafe, and Windows only spawns anyway.
        executor = ProcessPoolExecutor(max_workers=min(os.cpu_count() or 2, 4),
                                       mp_context=multiprocessing.get_context("spawn"), initializer=_end_with_parent)
        results = executor.map(task, [info] * len(chunks), chunks)
    try:
        for chunk, result in zip(chunks, results):
            yield result
            done += len(chunk)
            if progress:
                progress(done)
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)


def png_cards(info: EventCardInfo, people: list[CardPerson], progress=None) -> Iterator[tuple[CardPerson, bytes]]:
    """Each person with their card as PNG bytes, in order."""
    index = 0
    for pngs in _run(_png_chunk, info, people, progress):
        for data in pngs:
            yield people[index], data
            index += 1


def pdf_pages(info: EventCardInfo, people: list[CardPerson], progress=None) -> Iterator[Image.Image]:
    """A4 pages (1-bit) of four cards each, in order."""
    for pages in _run(_page_chunk, info, people, progress):
        for size, data in pages:
            yield Image.frombytes("1", size, data)
