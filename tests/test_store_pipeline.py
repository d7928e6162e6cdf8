"""The store pipelines: ``pipelines.store.StorePipeline`` (batches, one transaction each, a failed batch
counted and the crawl going on) and the worker's ``WorkerStorePipeline``, a subclass committing before each
ack. A killed worker losing nothing end to end: tests/test_distributed.py
(``test_two_workers_one_killed_midway_store_every_listing_once_with_single_process_scores``)."""

from __future__ import annotations

from scrapy.utils.test import get_crawler

from contract import stats as stat_keys
from crawlers import settings as project_settings
from crawlers.distributed import WorkerStorePipeline, store_flush, worker_settings
from pipelines.store import StorePipeline
from store import Store, listings, runs, sightings
from tests.test_store_access import _listing


def test_a_crawl_stores_every_listing_and_is_idempotent_when_rerun(crawl, tmp_path):
    first = crawl("taobao", "-a", "query=露莫拉", "-a", "pages=3", settings={"RUN_ID": "fixed-run"})
    second = crawl("taobao", "-a", "query=露莫拉", "-a", "pages=3", settings={"RUN_ID": "fixed-run"})
    assert first.stats["store/saved"] == second.stats["store/saved"] == len(first.items)
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    assert store.count(listings) == len({(i["platform"], i["listing_id"]) for i in first.items})
    assert store.count(sightings) == store.count(listings)


def _pipeline(cls, tmp_path, **settings):
    crawler = get_crawler(settings_dict={"STORE_URL": f"sqlite:///{tmp_path / 'm.db'}", **settings})
    pipeline = cls.from_crawler(crawler)
    pipeline.open_spider(None)
    return crawler, pipeline


def test_batches_are_written_by_size_and_a_failed_batch_is_counted_while_later_ones_are_written(tmp_path):
    crawler, pipeline = _pipeline(StorePipeline, tmp_path, STORE_BATCH_SIZE=2)
    pipeline.process_item(_listing("1"))
    assert pipeline.store.count(listings) == 0  # held until the batch is full
    pipeline.process_item(_listing("2"))
    assert pipeline.store.count(listings) == 2
    broken = _listing("3")
    del broken["url"]  # the store cannot write a listing without its address
    pipeline.process_item(broken)
    pipeline.process_item(_listing("4"))
    pipeline.process_item(_listing("5"))
    pipeline.close_spider(None)
    assert (crawler.stats.get_value(stat_keys.STORE_SAVED), crawler.stats.get_value(stat_keys.STORE_FAILED)) == (3, 2)
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    assert store.count(listings) == 3
    run = store.run(crawler.stats.get_value("store/run_id"))
    assert run["status"] == "finished" and run["finished_at"]  # a run it started itself, it finishes
    store.close()


def test_a_named_run_is_left_for_its_owner_to_finish(tmp_path):
    _, pipeline = _pipeline(StorePipeline, tmp_path, RUN_ID="monitor-run")
    pipeline.close_spider(None)
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    assert store.run("monitor-run")["status"] == "running" and store.count(runs) == 1
    store.close()


def test_without_a_store_url_items_pass_and_nothing_is_written(tmp_path):
    crawler = get_crawler(settings_dict={"STORE_URL": ""})
    pipeline = StorePipeline.from_crawler(crawler)
    pipeline.open_spider(None)
    assert pipeline.process_item(_listing("1")) == _listing("1")
    pipeline.close_spider(None)
    assert pipeline.store is None and crawler.stats.get_value(stat_keys.STORE_SAVED) is None


def test_the_workers_store_pipeline_is_a_subclass_named_in_the_workers_pipelines_at_the_stores_place():
    assert issubclass(WorkerStorePipeline, StorePipeline)
    chosen = worker_settings("run-1", "redis://127.0.0.1:1/0", project_settings.ITEM_PIPELINES)["ITEM_PIPELINES"]
    assert "pipelines.store.StorePipeline" not in chosen
    assert chosen["crawlers.distributed.worker.WorkerStorePipeline"] == project_settings.ITEM_PIPELINES[
        "pipelines.store.StorePipeline"]
    others = {name: order for name, order in project_settings.ITEM_PIPELINES.items() if "store" not in name}
    assert {name: order for name, order in chosen.items() if "Store" not in name} == others


def test_the_worker_commits_only_before_an_ack_never_by_batch_size(tmp_path):
    crawler, pipeline = _pipeline(WorkerStorePipeline, tmp_path, STORE_BATCH_SIZE=1, RUN_ID="r1")
    for n in range(3):
        pipeline.process_item(_listing(str(n)))
    assert pipeline.store.count(listings) == 0  # held: an ack has not been asked for
    results = crawler.signals.send_catch_log(signal=store_flush)
    assert [result for _, result in results] == [True]
    assert pipeline.store.count(listings) == 3 and crawler.stats.get_value(stat_keys.STORE_SAVED) == 3
    pipeline.process_item(_listing("9"))
    pipeline.close_spider(None)
    assert pipeline.closed_cleanly is True
    assert [result for _, result in crawler.signals.send_catch_log(signal=store_flush)] == [True]  # after close


def test_a_worker_whose_store_is_gone_acks_nothing(tmp_path):
    crawler, pipeline = _pipeline(WorkerStorePipeline, tmp_path, RUN_ID="r1")
    pipeline.process_item(_listing("1"))
    pipeline.store.engine.dispose()
    (tmp_path / "m.db").unlink()
    (tmp_path / "m.db").mkdir()  # the database file replaced by a folder: the store cannot be opened
    assert [result for _, result in crawler.signals.send_catch_log(signal=store_flush)] == [False]
    assert crawler.stats.get_value(stat_keys.STORE_FAILED) is None  # not refused: to be redone, not dropped
