"""One BLAS thread for the matcher's small matrix products."""

from __future__ import annotations

import functools
from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def _one_blas_thread(fn):
    """Run ``fn`` with BLAS on one thread: the matrix products here are small, and a second OpenBLAS
    thread costs more than it saves (measured: first-stage CPU time 2.6 -> 1.7 ms an image). A crawl
    runs one Scrapy process per core anyway."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _blas().limit(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper
