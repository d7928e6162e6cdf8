"""``python -m bench`` (``make bench``): every benchmark, one after the other, sized to fit ten minutes.

    python -m bench [--quick] [--only parse,crawl,...]

Runs ours (parse, crawl, monitor, reports: bench/bench_*.py) and the other benchmarks when present
(text, images, workers); a module that is missing or fails to import is reported as "not available",
one that fails is reported as failed, and the others still run. Each writes bench/results/<name>.md;
BENCHMARKS.md gathers them. ``--quick`` passes ``--quick`` to the benchmarks that take it.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import time
import traceback

# name -> (module, arguments of the default run); the default sizes keep the whole run under ten minutes
# on two shared cores.
BENCHMARKS = {
    "parse": ("bench.bench_parse", []),
    "crawl": ("bench.bench_crawl", ["--repeat", "1"]),
    "monitor": ("bench.bench_monitor", []),
    "reports": ("bench.bench_reports", []),
    "text": ("bench.bench_text", []),
    "images": ("bench.bench_images", []),
    "workers": ("bench.bench_workers", []),
    "memo": ("bench.bench_memo", []),
}


def _run_one(name: str, module_name: str, arguments: list[str], quick: bool) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # written by others, possibly not yet there or half-written
        return f"not available ({exc.__class__.__name__}: {exc})", 0.0
    main = getattr(module, "main", None)
    if main is None:
        return "not available (no main())", 0.0
    if quick:
        source = inspect.getsource(module)
        arguments = ["--quick"] if "--quick" in source else arguments
    print(f"\n=== {name}: python -m {module_name} {' '.join(arguments)}", flush=True)
    try:
        code = main(arguments)
    except SystemExit as exc:
        code = exc.code
    except Exception:
        traceback.print_exc()
        return "failed (exception, see above)", time.perf_counter() - started
    status = "ok" if code in (0, None) else f"failed (exit {code})"
    return status, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small sizes of every benchmark that has them")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    chosen = [n.strip() for n in args.only.split(",")] if args.only else list(BENCHMARKS)
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    started = time.perf_counter()
    outcomes = []
    for name in chosen:
        module_name, arguments = BENCHMARKS[name]
        status, seconds = _run_one(name, module_name, arguments, args.quick)
        outcomes.append((name, status, seconds))
    print("\n=== summary (results in bench/results/<name>.md; BENCHMARKS.md gathers them)")
    for name, status, seconds in outcomes:
        print(f"  {name:8s} {seconds:7.1f} s  {status}")
    print(f"  total    {time.perf_counter() - started:7.1f} s")
    return 0 if all(status == "ok" or status.startswith("not available") for _, status, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
