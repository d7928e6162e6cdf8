"""Taobao search: the mtop recommend API (default) or the old s.taobao.com page (``-a source=html``).

Tmall items in Taobao results are yielded with platform ``tmall``: complaints about them are filed
under Tmall.
"""

from scrapy import Request

from crawlers.platforms import taobao
from crawlers.spiders.base import MtopSearchSpider, response_text


class TaobaoSpider(MtopSearchSpider):
    name = "taobao"
    mtop_host = taobao.SEARCH_HOST
    tab = "all"

    def search_request(self, query, page, state):
        meta = self.search_meta(query, page)
        if self.source == "html":
            return Request(taobao.html_search_url(query, page, tab=self.tab), callback=self.parse_search,
                           errback=self.search_failed, meta=meta)
        return self.mtop.request(
            taobao.SEARCH_API, taobao.SEARCH_VERSION, taobao.search_data(query, page, tab=self.tab, state=state),
            callback=self.parse_search, errback=self.search_failed, meta=meta,
            headers={"Referer": taobao.REFERER},
        )

    def read_page(self, response):
        return taobao.read_search(response_text(response))
