"""A tiny spider for record/replay tests: fetches the URLs it is given and yields their bodies."""

from typing import ClassVar

import scrapy


class EchoSpider(scrapy.Spider):
    name = "echo"
    custom_settings: ClassVar[dict] = {"ITEM_PIPELINES": {}}  # these are not listings

    def __init__(self, urls="", *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.urls = [u for u in urls.split(" ") if u]

    async def start(self):
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response):
        yield {"url": response.url, "status": response.status, "body": response.text}
