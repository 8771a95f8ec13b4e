"""Benchmark: the dashboard on a large table, measured in headless Chromium (issue 18).

  load         N documents ({"n", "name", "tags"}) written straight into a fresh data
               directory's database (transactions of 5,000), before the server starts
  first row    from navigating to `/dashboard#/data` (key already in sessionStorage) to the
               first row of the grid rendered — a cold server: the table's count is walked
               for the first time, the first page read from the index
  warm         the same, on a second load (the count is cached)
  endpoints    server time of `GET /api/dashboard/tables` (cold and warm) and of one page
               of `GET /api/dashboard/documents`, over HTTP
  scrolling    the virtualised grid scrolled a screen at a time until --rows rows have
               been shown (pages of 100 fetched over the sync WebSocket as it scrolls),
               then the page's JS heap and DOM node count after a garbage collection
               (Chromium's Performance.getMetrics)

    python bench/dashboard_bench.py                     # 1,000,000 documents, 10,000 rows
    python bench/dashboard_bench.py --docs 100000 --rows 2000

Needs Debian's `chromium` (headless); no Node.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.compat.browser import Browser, find_chromium  # noqa: E402
from tests.compat.conftest import start_server  # noqa: E402

from bayou.backend import Backend  # noqa: E402
from bayou.config import Settings  # noqa: E402
from bayou.snapshots.import_ import UNLIMITED  # noqa: E402

BATCH = 5_000


async def load(data_dir: Path, docs: int) -> None:
    backend = Backend(Settings(data_dir=data_dir), runtimes=lambda s: {})
    await backend.start()
    try:
        db = backend.db
        assert db is not None
        for start in range(0, docs, BATCH):
            tx = db.begin(limits=UNLIMITED)
            for i in range(start, min(docs, start + BATCH)):
                await tx.insert("items", {"n": float(i), "name": f"item {i}", "tags": ["a", "b"]})
            await db.commit(tx)
    finally:
        await backend.stop()


def timed_get(url: str, key: str) -> float:
    request = urllib.request.Request(url, headers={"Authorization": f"Convex {key}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        response.read()
    return time.perf_counter() - started


def wait_for_count(base: str, key: str) -> int:
    request = urllib.request.Request(
        base + "/api/dashboard/tables", headers={"Authorization": f"Convex {key}"}
    )
    while True:
        with urllib.request.urlopen(request, timeout=600) as response:
            tables = json.loads(response.read())["tables"]
        count = next(t["count"] for t in tables if t["name"] == "items")
        if count is not None:
            return count
        time.sleep(0.2)


def first_row(page, url: str) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    page.call("Page.navigate", url=url)
    page.wait_for(
        "document.querySelector('#grid tbody tr[data-id]') !== null "
        "&& document.getElementById('table-title')?.innerText === 'items'",
        bool,
        timeout=600,
    )
    return time.perf_counter() - started


LAST_ROW = (
    "(() => { const r = [...document.querySelectorAll('#grid tbody tr[data-id]')].pop();"
    " return r ? Number(r.dataset.row) : -1; })()"
)
SETTLED = "document.querySelector('#grid tbody tr.loading') === null"


def scroll(page, rows: int) -> int:  # type: ignore[no-untyped-def]
    """Scroll the grid a screen at a time until row `rows - 1` is shown; the rows shown."""
    last = -1
    while last < rows - 1:
        page.evaluate(
            "(() => { const g = document.getElementById('grid-wrap');"
            " g.scrollTop += g.clientHeight; })()"
        )
        page.wait_for(SETTLED, bool, timeout=60)
        last = page.wait_for(LAST_ROW, lambda row, before=last: row > before, timeout=60)
    return last + 1


def main(docs: int, rows: int) -> None:
    chromium = find_chromium()
    if chromium is None:
        sys.exit("Chromium is needed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data_dir = work / "data"
        started = time.perf_counter()
        asyncio.run(load(data_dir, docs))
        print(f"load        {time.perf_counter() - started:8.2f} s   ({docs:,} documents)")
        server = start_server(data_dir)
        try:
            key = server.admin_key
            with Browser.start(chromium, work / "profile") as browser:
                page = browser.open(server.url + "/version")
                page.call(
                    "Emulation.setDeviceMetricsOverride",
                    width=1280,
                    height=720,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                page.wait_for("document.readyState", lambda s: s == "complete")
                page.evaluate(f"sessionStorage.setItem('bayou.dashboard.adminKey', {key!r})")
                started = time.perf_counter()
                cold = first_row(page, server.url + "/dashboard#/data")
                print(f"first row   {cold * 1000:8.0f} ms  (cold server, count not known yet)")
                counted = wait_for_count(server.url, key)
                print(
                    f"count       {time.perf_counter() - started:8.2f} s   "
                    f"({counted:,}, walked in the background)"
                )
                warm = first_row(page, server.url + "/dashboard?again#/data")
                print(f"first row   {warm * 1000:8.0f} ms  (warm, count cached)")
                tables = timed_get(server.url + "/api/dashboard/tables", key)
                docs_page = timed_get(
                    server.url + "/api/dashboard/documents?table=items&numItems=50", key
                )
                print(f"tables      {tables * 1000:8.1f} ms  (warm)")
                print(f"one page    {docs_page * 1000:8.1f} ms  (50 documents)")
                page.call("Performance.enable")
                started = time.perf_counter()
                shown = scroll(page, rows)
                seconds = time.perf_counter() - started
                page.call("HeapProfiler.collectGarbage")  # what the page holds, not its litter
                metrics = {
                    m["name"]: m["value"] for m in page.call("Performance.getMetrics")["metrics"]
                }
                in_dom = page.evaluate("document.querySelectorAll('#grid tbody tr').length")
                print(
                    f"scrolling   {seconds:8.2f} s   ({shown:,} rows, "
                    f"{seconds / max(1, shown) * 1e6:.0f} µs a row)"
                )
                print(
                    f"page memory {metrics['JSHeapUsedSize'] / 1e6:8.1f} MB JS heap, "
                    f"{int(metrics['Nodes']):,} DOM nodes ({in_dom} grid rows) after {shown:,} rows"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    main(args.docs, args.rows)
