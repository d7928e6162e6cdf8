"""1688 search: the mtop recommend API of TPP app 32517 (default), the older GB18030 offer_search page
with ``window.data`` (``-a source=html``), or that page rendered in Chromium, read from the cards the
page's own script builds from its mtop call (``-a render=1``, or ``RENDER_PLATFORMS`` naming ``1688``):
signed calls from outside a browser get blocked (docs/platforms.md: 1688). Listings carry the MOQ and tier prices."""

from scrapy import Request

from crawlers.platforms import alibaba1688
from crawlers.spiders.base import MtopSearchSpider, response_text
from crawlers.spiders.render import RenderedSearch


class Alibaba1688Spider(RenderedSearch, MtopSearchSpider):
    name = "1688"
    mtop_host = alibaba1688.SEARCH_HOST
    render_ready = alibaba1688.RENDERED_READY

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mtop = alibaba1688.mtop_client()

    def search_request(self, query, page, state):
        meta = self.search_meta(query, page)
        if self.render or self.source == "html":
            if self.render:
                meta.update(self.render_meta())
            return Request(alibaba1688.html_search_url(query, page), callback=self.parse_search,
                           errback=self.search_failed, meta=meta)
        return self.mtop.request(
            alibaba1688.SEARCH_API, alibaba1688.SEARCH_VERSION, alibaba1688.search_data(query, page),
            callback=self.parse_search, errback=self.search_failed, meta=meta,
            headers={"Referer": alibaba1688.REFERER},
        )

    def read_page(self, response):
        return alibaba1688.read_search(response_text(response), page=response.meta["page"])
