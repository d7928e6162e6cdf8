"""Scrapy settings for ipwatch. Deployment-specific values come from the environment."""

import os

from scrapy.settings.default_settings import EXTENSIONS_BASE as _SCRAPY_EXTENSIONS

from crawlers.browser import BROWSER_ARGS

BOT_NAME = "ipwatch"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"
COMMANDS_MODULE = "crawlers.commands"

# The search APIs' robots.txt disallows every crawler; this tool runs for rights holders, slowly
# (AutoThrottle below), on the listings that infringe their marks. Set True to honour robots.txt.
ROBOTSTXT_OBEY = False
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")

# Replay (-s REPLAY_DIR=fixtures/cassettes) and recording (-s RECORD_DIR=DIR) are switched on by this
# add-on, after command-line settings are known: see crawlers/replay/addon.py.
ADDONS = {"crawlers.replay.addon.ReplayAddon": 0}
REPLAY_DIR = os.environ.get("REPLAY_DIR") or None
RECORD_DIR = os.environ.get("RECORD_DIR") or None
REPLAY_ALLOW_REPEATS = True  # once a key's recordings are used up the last one repeats (vcrpy allow_playback_repeats)

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": 620,
    "crawlers.middlewares.BlockMiddleware": 610,
    # live crawls: the sign-in session's cookies, pacing and proxy; expiry and sliders (crawlers/sessions/)
    "crawlers.sessions.middleware.SessionMiddleware": 615,
}
# Blocks: retries with exponential back-off, then give up on that request (crawlers/middlewares.py).
BLOCK_RETRY_TIMES = 2
BLOCK_BACKOFF_BASE = 20.0
BLOCK_BACKOFF_MAX = 600.0

# Sign-in sessions for live crawls (crawlers/sessions/; off in replay). Made by `scrapy login PLATFORM` or
# `scrapy session import PLATFORM FILE`; one folder per sign-in and profile, private to the user.
SESSIONS_DIR = os.environ.get("SESSIONS_DIR", "data/sessions")
SESSIONS_ENABLED = True  # False: live crawls go out anonymous, as before sessions existed (no skip, no pacing)
SESSION_PROFILES = {}  # platform -> profiles used in turn, e.g. {"taobao": ["main", "spare"]}; default: all stored
SESSION_REQUESTS_PER_MINUTE = 6.0  # per session (account); each gap jittered by SESSION_JITTER
SESSION_JITTER = 0.3
SESSION_DAILY_PAGES = 300  # requests per account per UTC day, shared by the day's runs
# Platforms whose signed API calls are refused from outside a browser: live crawls with a session make
# them from inside the signed-in search page (render mode), through the page's own scripts.
SESSION_IN_PAGE_PLATFORMS = ["1688"]
LOGIN_TIMEOUT = 300  # seconds `scrapy login` waits for the sign-in
# Proxies (http, https, socks5; credentials in the URL): PROXY_URL for all, PROXY_URL_<PLATFORM> or
# PROXY_URLS={"taobao": …} per platform. Scrapy's requests and chromium use the same one.
PROXY_URL = os.environ.get("PROXY_URL") or None
PROXY_URLS = {}
SOCKS_CONNECT_TIMEOUT = 20.0  # seconds for a socks5 proxy to open a tunnel for Scrapy's requests

# Politeness and limits for scheduled monitoring.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 1.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]  # 429 is a block: BlockMiddleware handles it
CLOSESPIDER_ERRORCOUNT = 50
# A scheduled crawl that has produced nothing for half an hour is stuck (or blocked everywhere): end it,
# so the monitor still writes its reports and cron's next run is not queued behind it.
CLOSESPIDER_TIMEOUT_NO_ITEM = 1800

ITEM_PIPELINES = {
    "pipelines.validate.ValidationPipeline": 100,
    "pipelines.dedupe.DedupePipeline": 200,
    "pipelines.images.ListingImagesPipeline": 300,  # download and hash
    "pipelines.image_match.ImageMatchPipeline": 350,  # match against the registry's photos
    "pipelines.scoring.ScoringPipeline": 400,
    "pipelines.store.StorePipeline": 900,
}

# Listing images (pipelines/images.py, then pipelines/image_match.py): the main image of each listing,
# downloaded only from the platforms' CDNs, hashed and matched against the registry's photos. IMAGES_PER_LISTING,
# IMAGE_ALLOWED_HOSTS, IMAGE_MAX_BYTES, IMAGE_MAX_PIXELS are documented there.
IMAGES_STORE = os.environ.get("IMAGES_STORE", "data/images")
IMAGES_PER_LISTING = 1
# The text read from pictures, by picture checksum (pipelines/scoring.py); unset: <IMAGES_STORE>/.ocr. Brands or
# workers whose images stores differ can share one.
OCR_CACHE_DIR = os.environ.get("OCR_CACHE_DIR") or None
# What the image stages decided about each picture, kept for the next run (matchers/images/memo.py); unset:
# <IMAGES_STORE>/.memo. Keyed by the registered pictures and the matcher's code, so brands and workers can share one.
IMAGE_MEMO_DIR = os.environ.get("IMAGE_MEMO_DIR") or None
IMAGE_MEMO = True  # False: every picture is matched, looked inside and drawn again, and nothing is kept
# The registered pictures' hashes, by file checksum (pipelines/image_files.py); unset: <IMAGES_STORE>/.hashes.
IMAGE_HASH_CACHE_DIR = os.environ.get("IMAGE_HASH_CACHE_DIR") or None

# The store (store/, written by pipelines/store.py). Empty string: do not store.
STORE_URL = os.environ.get("STORE_URL", "sqlite:///data/monitor.db")
STORE_BATCH_SIZE = 200
RUN_ID = os.environ.get("RUN_ID") or None  # default: generated per crawl

# Bodies in no known format are saved here for diagnosis (format/unrecognized).
FORMAT_DIAG_DIR = os.environ.get("FORMAT_DIAG_DIR", "data/unrecognized")

# The registry whose watch list and marks drive queries and scoring (monitor sets it).
REGISTRY_PATH = os.environ.get("REGISTRY_PATH") or None

# Scrapy's remote control (an HTTP server that runs Python sent to it) is left out of Scrapy's own extensions,
# and is switched off below as well. Disabling it in EXTENSIONS (the key set to None) is not enough: Scrapy
# imports every key given there to compare it with the base list, and with it aiohttp (about 0.1 s a process).
EXTENSIONS_BASE = {path: order for path, order in _SCRAPY_EXTENSIONS.items() if not path.endswith(".RemoteControl")}
EXTENSIONS = {"crawlers.extensions.LogRedaction": 0, "crawlers.extensions.StatsFile": 500}
STATS_FILE = None  # write the final stats here as JSON

# `scrapy monitor` resumes a killed or stopped run of the same registry and platforms only if it started less
# than this many seconds ago; an older one is closed as interrupted and a new run starts (store/resume.py).
RESUME_MAX_AGE = 6 * 3600
# Off a terminal (cron, --no-progress) `scrapy monitor` logs one progress line per platform every this many seconds.
PROGRESS_INTERVAL = 30.0

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# HOST_MAP (this setting, or the environment variable, as JSON): host globs resolved to given addresses,
# e.g. a local stand-in for the platforms; the rendering browser gets the same map. Without one the
# resolver below is Scrapy's own (crawlers/resolver.py).
HOST_MAP = {}
TWISTED_DNS_RESOLVER = "crawlers.resolver.HostMapResolver"
# base64 SHA-256 public-key hashes of certificates the rendering browser accepts although no authority
# vouches for them: only for a local stand-in's self-signed certificate. Empty: chromium checks as usual.
BROWSER_TRUSTED_SPKI = []

# mtop calls carry their whole query as URL-encoded JSON; browsers send them at 2.5-4 kB.
URLLENGTH_LIMIT = 16384
# No listening ports on an analyst's machine.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Browser rendering (scrapy-playwright), opt-in per request (meta["playwright"]); see
# crawlers/spiders/render.py. On for a crawl with `-a render=1`, or for whole platforms with
# RENDER_PLATFORMS (e.g. `-s RENDER_PLATFORMS=alibaba,1688` or the environment variable); only then
# do http(s) go through scrapy-playwright's handler. The browser: PLAYWRIGHT_CHROMIUM_EXECUTABLE,
# else Debian's /usr/bin/chromium, else Playwright's own (filled into the launch options at run time).
RENDER_PLATFORMS = [name.strip() for name in os.environ.get("RENDER_PLATFORMS", "").split(",") if name.strip()]
PLAYWRIGHT_CHROMIUM_EXECUTABLE = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE") or None
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {"headless": True, "args": list(BROWSER_ARGS)}
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000  # ms
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4

# Many workers (scrapy-redis + PostgreSQL): off unless `scrapy worker` / `scrapy monitor --redis-url`
# switch them on for that run (crawlers/distributed/). A plain crawl never touches Redis.
REDIS_URL = None
WORKER_LEASE_SECONDS = 60  # a worker silent this long is presumed dead; its requests go back in the queue
WORKER_STATS_SECONDS = 5  # how often a worker adds its counters to the run's totals (also after each ack)
MAX_IDLE_TIME_BEFORE_CLOSE = 30  # seconds a worker waits with its run drained before it exits (0: never)
COORDINATOR_TIMEOUT = 0  # seconds the coordinator waits for workers to drain a run (0: no limit)
