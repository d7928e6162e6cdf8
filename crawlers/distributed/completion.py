"""When is Scrapy completely done with a leased request? Learnt through public seams only.

A lease may be acknowledged only once its response is completely handled: the callback (or errback)
has run, every request it yielded has been handed to the scheduler (so pushed to Redis), and every
item it yielded has left the item pipelines. Scrapy has no signal for that moment, so it is put
together from public parts:

- ``CompletionMiddleware``, a spider middleware placed closest to the engine (lowest order), sees each
  response first (``process_spider_input``) and wraps the final output of the whole middleware chain
  (``process_spider_output``): it counts the items and takes the requests that leave it;
- the errback of every request a worker takes is ``WorkerSpiderMixin.worker_errback`` (set by the
  scheduler as it hands the request out; the original errback's name travels in ``meta``): download
  failures never pass spider middlewares, so their output is watched there;
- the ``item_scraped`` / ``item_dropped`` / ``item_error`` signals say an item has left the pipelines;
  ``request_scheduled`` says a yielded request reached the scheduler (``engine.crawl`` queues it in the
  same call); ``spider_error`` says a callback raised before yielding anything.

A request is done when its output is exhausted, none of its items is still in the pipelines and none of
its requests is on the way to the scheduler. That is checked at the reactor's next turn, not at once,
so that output a spider middleware adds after an exception (a "recovered" chain, wrapped again) and the
scheduler's push, which both happen in the same call, are already counted.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from scrapy import Request, signals
from scrapy.utils.asyncgen import as_async_generator
from scrapy.utils.spider import iterate_spider_output

from crawlers.distributed.queue import WORK_ID

logger = logging.getLogger(__name__)

ERRBACK_META = "worker_errback"  # request.meta key: name of the spider's own errback (None: it had none)

# Sent by the scheduler before it acks (with ``work_id`` and ``url``): the worker's store pipeline commits
# what it holds and returns True, or False when the write failed (then nothing is acked).
store_flush = object()


@dataclass
class _Work:
    """What is still going on for one leased request."""

    url: str
    via_middleware: bool  # a response seen by CompletionMiddleware (else: a download failure, errback path)
    outputs_open: int = 0  # output iterators being consumed
    output_closed: bool = False  # an output (or the exception ending it) has been fully consumed
    items: int = 0  # items yielded and not yet out of the item pipelines
    requests: int = 0  # requests yielded and not yet through the scheduler
    lost: bool = False  # a yielded request could not be pushed: this work must be redone, not acked


class CompletionTracker:
    """Per crawler: calls ``on_done(work_id, url)`` once a leased request is completely handled, or
    ``on_lost(work_id, url)`` when it cannot be (one of its requests failed to reach Redis)."""

    def __init__(self, crawler) -> None:
        self.on_done: Callable[[str, str], None] | None = None
        self.on_lost: Callable[[str, str], None] | None = None
        self.middleware_installed = False
        self._work: dict[str, _Work] = {}
        self._children: dict[int, tuple[Request, str]] = {}  # id(request) -> (request, parent work id)
        self._checks: set[str] = set()  # work ids with a check scheduled for the next reactor turn
        for handler, signal in ((self._item_left, signals.item_scraped), (self._item_left, signals.item_dropped),
                                (self._item_left, signals.item_error), (self._spider_error, signals.spider_error),
                                (self._request_scheduled, signals.request_scheduled)):
            crawler.signals.connect(handler, signal=signal)

    # --- what the middleware and the errback report ----------------------------------------
    def response_in(self, response) -> None:
        work_id = _work_id(response)
        if work_id and work_id not in self._work:
            self._work[work_id] = _Work(url=response.url, via_middleware=True)

    def watched_by_middleware(self, work_id: str | None) -> bool:
        work = self._work.get(work_id) if work_id else None
        return work is not None and work.via_middleware

    def failure_in(self, failure) -> str | None:
        """A download failure reaches the errback: start following its work."""
        work_id = _work_id(failure)
        if work_id:
            self._work.setdefault(work_id, _Work(url=failure.request.url, via_middleware=False))
        return work_id

    def closed_without_output(self, work_id: str | None) -> None:
        work = self._work.get(work_id) if work_id else None
        if work is not None and work.outputs_open == 0:
            work.output_closed = True
            self._schedule_check(work_id)

    async def watch(self, work_id: str | None, output) -> AsyncIterator:
        """``output`` passed through unchanged, counting what leaves it for ``work_id``."""
        work = self._work.get(work_id) if work_id else None
        if work is None:
            async for element in as_async_generator(output):
                yield element
            return
        work.outputs_open += 1
        try:
            async for element in as_async_generator(output):
                self._count(work_id, work, element)
                yield element
        finally:
            work.outputs_open -= 1
            work.output_closed = True
            self._schedule_check(work_id)

    def _count(self, work_id: str, work: _Work, element) -> None:
        if isinstance(element, Request):
            # new work of its own (even with the response's meta copied in): acked apart from its parent
            element.meta.pop(WORK_ID, None)
            self._children[id(element)] = (element, work_id)
            work.requests += 1
        elif element is not None:
            work.items += 1

    def child_lost(self, request: Request) -> None:
        """The scheduler could not push ``request``: its parent must be redone."""
        entry = self._children.get(id(request))
        work = self._work.get(entry[1]) if entry else None
        if work is not None:
            work.lost = True

    # --- signals ---------------------------------------------------------------------------------
    def _item_left(self, item, response=None, **_) -> None:
        work_id = _work_id(response)
        work = self._work.get(work_id) if work_id else None
        if work is not None and work.items > 0:
            work.items -= 1
            self._schedule_check(work_id)

    def _spider_error(self, failure, response=None, **_) -> None:
        self.closed_without_output(_work_id(response))

    def _request_scheduled(self, request, **_) -> None:
        if id(request) in self._children:
            # the scheduler's enqueue_request runs right after this signal, in the same call
            self._call_soon(self._child_through, id(request))

    def _child_through(self, key: int) -> None:
        _, work_id = self._children.pop(key, (None, None))
        work = self._work.get(work_id) if work_id else None
        if work is not None:
            work.requests -= 1
            self._check(work_id)

    # --- deciding ----------------------------------------------------------------------------------
    def _schedule_check(self, work_id: str) -> None:
        if work_id not in self._checks:
            self._checks.add(work_id)
            self._call_soon(self._check, work_id)

    def _check(self, work_id: str) -> None:
        self._checks.discard(work_id)
        work = self._work.get(work_id)
        if work is None or not work.output_closed or work.outputs_open or work.items or work.requests:
            return
        del self._work[work_id]
        callback = self.on_lost if work.lost else self.on_done
        if callback is not None:
            callback(work_id, work.url)

    @staticmethod
    def _call_soon(function, *args) -> None:
        from twisted.internet import reactor

        reactor.callLater(0, function, *args)

    def pending(self) -> int:
        """Requests being handled (for tests and logs)."""
        return len(self._work)


_trackers: WeakKeyDictionary = WeakKeyDictionary()


def tracker_for(crawler) -> CompletionTracker:
    """The crawler's one tracker, shared by the middleware, the worker spider and the scheduler."""
    tracker = _trackers.get(crawler)
    if tracker is None:
        tracker = _trackers[crawler] = CompletionTracker(crawler)
    return tracker


def _work_id(response) -> str | None:
    """The lease a response (or a download failure, as Scrapy passes it to signals) belongs to."""
    request = getattr(response, "request", None)
    meta = getattr(request, "meta", None)
    return meta.get(WORK_ID) if meta else None


class CompletionMiddleware:
    """Spider middleware, closest to the engine: reports each response and its final output to the tracker."""

    def __init__(self, tracker: CompletionTracker) -> None:
        self.tracker = tracker

    @classmethod
    def from_crawler(cls, crawler) -> CompletionMiddleware:
        tracker = tracker_for(crawler)
        tracker.middleware_installed = True
        return cls(tracker)

    def process_spider_input(self, response) -> None:
        self.tracker.response_in(response)

    async def process_spider_output(self, response, result):
        async for element in self.tracker.watch(_work_id(response), result):
            yield element


def run_errback(tracker: CompletionTracker, spider, failure):
    """``WorkerSpiderMixin.worker_errback``: run the spider's own errback (or none) and watch its output."""
    request = failure.request
    name = request.meta.get(ERRBACK_META)
    original = getattr(spider, name) if name else None
    if tracker.watched_by_middleware(request.meta.get(WORK_ID)):
        # an error response (e.g. HttpError): its output goes through the spider middlewares, watched there
        if original is None:
            failure.raiseException()
        return original(failure)
    work_id = tracker.failure_in(failure)
    if original is None:
        tracker.closed_without_output(work_id)
        failure.raiseException()  # as if there were no errback: Scrapy logs the download error
    try:
        output = original(failure)
    except Exception:
        tracker.closed_without_output(work_id)
        raise
    return tracker.watch(work_id, iterate_spider_output(output))
