"""Alibaba.com search (docs/platforms.md: Alibaba.com): the ``/trade/search`` page with its embedded offer data,
or, with ``-a render=1`` (or ``RENDER_PLATFORMS`` naming ``alibaba``), the page rendered in Chromium
and read from its result cards.
"""

from scrapy import Request

from crawlers.platforms import alibaba
from crawlers.spiders.base import SearchSpider, response_text
from crawlers.spiders.render import RenderedSearch


class AlibabaSpider(RenderedSearch, SearchSpider):
    name = "alibaba"
    default_source = "html"
    render_ready = alibaba.RENDERED_READY

    def search_request(self, query, page, state):
        meta = self.search_meta(query, page)
        if self.render:
            meta.update(self.render_meta())
        return Request(alibaba.search_url(query, page), callback=self.parse_search, errback=self.search_failed,
                       meta=meta, headers={"Referer": alibaba.REFERER})

    def read_page(self, response):
        return alibaba.read_search(response_text(response))
