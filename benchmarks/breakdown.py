"""Where a hot page's time goes, per request: the numbers behind docs/scaling.md.

Runs each page of benchmarks/pages.py's TARGETS (the portal's ones) in-process through
Flask's test client against the benchmark database (load it first with `make bench`),
single-threaded, and reports per request: wall time, the worker's CPU time, the time
spent waiting for PostgreSQL (statements and round trips), the number of statements, and
the time in Jinja. With --top N it also prints the N functions with the most own time
(cProfile) for each page.

    BENCH_DATABASE_URL=... .venv/bin/python benchmarks/breakdown.py [--top 15] [--requests 300]
        [--only queue --only transfer]

--only keeps the pages whose name contains one of the words given (the bare endpoint and
the framework-limit page are always measured, so every figure has its ratio to the limit).
The approval queue's backlog and the open transfers are topped up first, as `make bench` does.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pages  # noqa: E402  (the targets, the facts, the database URL)


def _client(app, login: str | None):
    client = app.test_client()
    if login is None:
        return client
    form = client.get("/sign-in", headers={"User-Agent": pages.USER_AGENT}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    client.post(
        "/sign-in",
        data={"login": login, "password": pages.PASSWORD, "csrf_token": token},
        headers={"User-Agent": pages.USER_AGENT},
    )
    return client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--sort", default="tottime", help="the profile's order: tottime, cumulative")
    parser.add_argument("--only", action="append", default=[], help="a word of the pages' names")
    options = parser.parse_args()
    os.environ.update(pages._env())
    from flask import template_rendered
    from flask.signals import before_render_template
    from sqlalchemy import event

    from portal import create_app
    from portal.extensions import db

    app = create_app()
    pages._add_open_transfers()
    pages.ensure_queue_backlog()
    pages.ensure_family_transfer()
    facts = pages._facts()
    clock = {"db": 0.0, "statements": 0, "render": 0.0}
    started: dict[str, float] = {}

    def before(*_args):
        started["db"] = time.perf_counter()

    def after(*_args):
        clock["db"] += time.perf_counter() - started["db"]
        clock["statements"] += 1

    def render_starts(*_args, **_kwargs):
        started["render"] = time.perf_counter()

    def render_ends(*_args, **_kwargs):
        clock["render"] += time.perf_counter() - started["render"]

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)

    guardian = _client(app, pages.GUARDIAN)
    home = guardian.get("/children/", headers={"User-Agent": pages.USER_AGENT}).get_data()
    os.environ["LIMIT_PAGE_BYTES"] = str(len(home))
    import framework_limit

    limit_app = framework_limit.app
    event.listen(framework_limit.engine, "before_cursor_execute", before)
    event.listen(framework_limit.engine, "after_cursor_execute", after)
    for measured in (app, limit_app):
        before_render_template.connect(render_starts, measured)
        template_rendered.connect(render_ends, measured)

    print(f"{options.requests} requests each, in-process, single-threaded; per request:")
    columns = ("wall ms", 8), ("CPU ms", 7), ("DB ms", 6), ("stmts", 5), ("Jinja ms", 8), ("CPU/limit", 9)
    print(f"  {'page':<40} " + " ".join(f"{name:>{width}}" for name, width in columns))
    limit_cpu = None
    for target in pages.chosen_targets(options.only):
        if target.server == "limit":  # the same session cookie, shown to the framework-limit app
            client = limit_app.test_client()
            client.set_cookie("session", guardian.get_cookie("session").value)
        else:
            client = _client(app, target.login)
        path = urllib.parse.quote(target.path.format(**facts), safe="/?=&")
        headers = {"User-Agent": pages.USER_AGENT}
        for _ in range(20):  # warm the statement caches and the pool
            assert client.get(path, headers=headers).status_code == 200, path
        clock.update(db=0.0, statements=0, render=0.0)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(options.requests):
            client.get(path, headers=headers)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        n = options.requests
        if target.name == pages.LIMIT:
            limit_cpu = cpu
        # The page's rate as a share of the limit page's, if CPU were all that counted.
        to_limit = f"{limit_cpu / cpu:9.2f}" if limit_cpu else f"{'':>9}"
        print(
            f"  {target.name:<40} {wall / n * 1000:8.2f} {cpu / n * 1000:7.2f} "
            f"{clock['db'] / n * 1000:6.2f} {clock['statements'] / n:5.1f} {clock['render'] / n * 1000:8.2f}"
            f" {to_limit}"
        )
        if options.top:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(n):
                client.get(path, headers=headers)
            profiler.disable()
            pstats.Stats(profiler).sort_stats(options.sort).print_stats(options.top)


if __name__ == "__main__":
    main()
