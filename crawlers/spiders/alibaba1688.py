"""1688 search: the mtop recommend API of TPP app 32517 (default) or the older GB18030
offer_search page with ``window.data`` (``-a source=html``). Listings carry the MOQ and tier prices."""

from scrapy import Request

from crawlers.platforms import alibaba1688
from crawlers.spiders.base import MtopSearchSpider, response_text


class Alibaba1688Spider(MtopSearchSpider):
    name = "1688"
    mtop_host = alibaba1688.SEARCH_HOST

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mtop = alibaba1688.mtop_client()

    def search_request(self, query, page, state):
        meta = self.search_meta(query, page)
        if self.source == "html":
            return Request(alibaba1688.html_search_url(query, page), callback=self.parse_search,
                           errback=self.search_failed, meta=meta)
        return self.mtop.request(
            alibaba1688.SEARCH_API, alibaba1688.SEARCH_VERSION, alibaba1688.search_data(query, page),
            callback=self.parse_search, errback=self.search_failed, meta=meta,
            headers={"Referer": alibaba1688.REFERER},
        )

    def read_page(self, response):
        return alibaba1688.read_search(response_text(response), page=response.meta["page"])
