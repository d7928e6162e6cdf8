"""Tmall search: the mall tab of Taobao's mtop search (default; Tmall search redirects there) or
the old GBK list.tmall.com page (``-a source=html``). Every listing is a Tmall item."""

from scrapy import Request

from crawlers.platforms import tmall
from crawlers.spiders.base import MtopSearchSpider, response_text


class TmallSpider(MtopSearchSpider):
    name = "tmall"
    mtop_host = tmall.SEARCH_HOST

    def search_request(self, query, page, state):
        meta = self.search_meta(query, page)
        if self.source == "html":
            return Request(tmall.list_url(query, page), callback=self.parse_search, errback=self.search_failed,
                           meta=meta)
        return self.mtop.request(
            tmall.SEARCH_API, tmall.SEARCH_VERSION, tmall.search_data(query, page, state),
            callback=self.parse_search, errback=self.search_failed, meta=meta, headers={"Referer": tmall.REFERER},
        )

    def read_page(self, response):
        return tmall.read_search(response_text(response), response.url)
