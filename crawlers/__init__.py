"""The Scrapy project: what to fetch on each platform and how to read it."""

import os

# Scrapy's cookie middleware asks tldextract for the public-suffix list, which by default downloads
# it at run time. Use the snapshot tldextract ships: a crawl (and above all a replayed one) must not
# reach any host but the platforms'.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
