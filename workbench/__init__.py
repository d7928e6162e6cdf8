"""The review workbench: a local web app where reviewers validate flagged listings, decide, prepare complaints
and follow the trend (``scrapy review``). The store is the one place decisions live."""
