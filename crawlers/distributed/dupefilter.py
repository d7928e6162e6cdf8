"""The workers' dupefilter: scrapy-redis's Redis set, fingerprinting mtop calls by what they ask for.

An mtop URL's ``t`` and ``sign`` change at every signing, so a URL fingerprint would let a next page
re-yielded by a redone parent through again. Fingerprinting by (api, version, data) drops it: its first
copy is queued, leased or done. The scheduler marks a request seen and queues it in one Lua step
(``LeasedQueue.push``), and lost leases go back to the queue without passing the dupefilter at all.
"""

from __future__ import annotations

import hashlib
import json

from scrapy import Request
from scrapy_redis.dupefilter import RFPDupeFilter


class MtopDupeFilter(RFPDupeFilter):
    """scrapy-redis's dupefilter; an mtop call is identified by (api, version, data), not by its signed URL."""

    def request_fingerprint(self, request: Request) -> str:
        spec = request.meta.get("mtop")
        if not spec:
            return super().request_fingerprint(request)
        key = json.dumps([spec.get("api"), spec.get("v"), spec.get("data")], ensure_ascii=False)
        return hashlib.sha1(key.encode()).hexdigest()
