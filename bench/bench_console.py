"""The console in Chromium under a live picture: per-update handling + render, first load, size.

    .venv/bin/python bench/bench_console.py [--seconds 30] [--sizes 50,5000]

A real ``deconline serve`` on a demo database (SQLite); a feeder process posts signed batches
of N tracks of the signed-in party every second while the page polls and renders them. The page
records, for every update, the time from the /v1/tracks response to the end of the next
animation frame (``window.deconline.perf.trackUpdates``). Writes bench/out/console.json.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bench_filing import instance

from deconline.record.envelope import PAYLOAD_TYPE, SIGNATURE_HEADER, seal
from deconline.record.signing import read_private_key

OUT = Path(__file__).parent / "out"
WEB = Path(__file__).resolve().parents[1] / "deconline" / "web"
PARTY = "orange-af"  # flies no active operation: its aircraft are not held to one (no nonconformance flood)
LONGTASKS = """
window.__longtasks = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longtasks.push(e.duration); })
  .observe({ type: 'longtask', buffered: true });
"""


def feed(url: str, token: str, key_file: str, n: int, stop_at: float) -> None:
    """N aircraft in a grid over the Baltic, all moving, posted as one signed batch a second."""
    key = read_private_key(Path(key_file))
    headers = {"Authorization": f"Bearer {token}"}
    side = math.ceil(math.sqrt(n))
    with httpx.Client(timeout=30) as client:
        line_id = client.get(f"{url}/v1/whoami", headers=headers).json()["line"]
        while time.time() < stop_at:
            started = time.time()
            now = datetime.now(UTC)
            shift = (started % 600) / 600 * 0.5
            tracks = [
                {
                    "id": f"B{k:05d}",
                    "lat": 54.0 + (k // side) * (5.0 / side),
                    "lon": 12.0 + (k % side) * (10.0 / side) + shift,
                    "alt_m": 300.0 + (k * 37) % 12_000,
                    "gs_mps": 120.0 + k % 100,
                    "track_deg": float((k * 7) % 360),
                    "vrate_mps": 0.0,
                    "time": now.isoformat(),
                }
                for k in range(n)
            ]
            body = {"tracks": tracks}
            sealed = seal(key, line_id, "tracks.post", body)
            signed = {**headers, SIGNATURE_HEADER: sealed.signature, "Content-Type": PAYLOAD_TYPE}
            client.post(f"{url}/v1/tracks", content=sealed.statement, headers=signed)
            time.sleep(max(0.0, 1.0 - (time.time() - started)))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_size(browser: Any, url: str, tokens: dict[str, str], keys: Path, n: int, seconds: float) -> dict[str, Any]:
    stop_at = time.time() + seconds + 8
    feeder = multiprocessing.Process(target=feed, args=(url, tokens[PARTY], str(keys / f"{PARTY}.key"), n, stop_at))
    feeder.start()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(LONGTASKS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    started = time.perf_counter()
    page.goto(url + "/")
    page.get_by_label("API token").wait_for()
    ready_s = time.perf_counter() - started
    navigation = page.evaluate("() => performance.getEntriesByType('navigation')[0].toJSON()")
    page.get_by_label("API token").fill(tokens[PARTY])
    page.locator("#signin-key").set_input_files(str(keys / f"{PARTY}.key"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_function("() => window.deconline.perf.firstRender !== null", timeout=30_000)
    first_render_ms = page.evaluate("() => window.deconline.perf.firstRender")
    page.wait_for_function(f"() => window.deconline.ctx.map.trackCount() >= {n}", timeout=60_000)
    page.evaluate("() => { window.deconline.perf.trackUpdates.length = 0; window.__longtasks.length = 0; }")
    clicks = []
    deadline = time.time() + seconds
    tabs = ["Hotline", "Alerts"]
    while time.time() < deadline:
        t0 = time.perf_counter()
        page.evaluate(
            "(name) => new Promise((resolve) => { document.getElementById('tab-' + name).click(); "
            "requestAnimationFrame(() => resolve()); })",
            tabs[len(clicks) % 2].lower(),
        )
        clicks.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.7)
    updates = page.evaluate("() => window.deconline.perf.trackUpdates")
    longtasks = page.evaluate("() => window.__longtasks")
    shown = page.evaluate("() => window.deconline.ctx.map.trackCount()")
    context.close()
    feeder.terminate()
    feeder.join()
    return {
        "aircraft": n,
        "aircraft_shown": shown,
        "updates": len(updates),
        "update_ms_median": round(statistics.median(updates), 1),
        "update_ms_p90": round(percentile(updates, 0.9), 1),
        "update_ms_max": round(max(updates), 1),
        "tab_click_to_frame_ms_median": round(statistics.median(clicks), 1),
        "tab_click_to_frame_ms_max": round(max(clicks), 1),
        "long_tasks": len(longtasks),
        "longest_task_ms": round(max(longtasks), 1) if longtasks else 0.0,
        "first_load_to_sign_in_form_ms": round(ready_s * 1000, 1),
        "first_load_dom_content_loaded_ms": round(navigation["domContentLoadedEventEnd"], 1),
        "sign_in_to_first_render_ms": round(first_render_ms, 1),
        "console_errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--sizes", default="50,5000")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    vendor = sum(p.stat().st_size for p in (WEB / "vendor").rglob("*") if p.is_file())
    own = sum(p.stat().st_size for p in WEB.rglob("*") if p.is_file() and "vendor" not in p.parts)
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/bench.db"
        keys = Path(tmp) / "keys"
        subprocess.run(
            [sys.executable, "-m", "deconline", "--db", db_url, "demo", "--keys-dir", str(keys)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tokens = json.loads((keys / "tokens.json").read_text())
        with instance(db_url) as (url, _):  # the demo's feeders post once a second: no limit is met
            results = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                for n in (int(s) for s in args.sizes.split(",")):
                    print(f"{n} aircraft for {args.seconds:.0f} s …", file=sys.stderr)
                    results.append(run_size(browser, url, tokens, keys, n, args.seconds))
                browser.close()
    report = {"vendored_bytes": vendor, "console_own_bytes": own, "runs": results}
    OUT.mkdir(exist_ok=True)
    (OUT / "console.json").write_text(json.dumps(report, indent=1))
    print(f"vendored assets {vendor / 1e6:.2f} MB, console's own files {own / 1e3:.0f} kB")
    print("| aircraft | updates | update+render median | p90 | max | tab click→frame median / max | longest task |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['aircraft']:,} | {r['updates']} | {r['update_ms_median']} ms | {r['update_ms_p90']} ms | "
            f"{r['update_ms_max']} ms | {r['tab_click_to_frame_ms_median']} / {r['tab_click_to_frame_ms_max']} ms | "
            f"{r['longest_task_ms']} ms |"
        )
    for r in results:
        print(
            f"{r['aircraft']:,} aircraft: sign-in form after {r['first_load_to_sign_in_form_ms']} ms "
            f"(DOMContentLoaded {r['first_load_dom_content_loaded_ms']} ms); sign-in to first render "
            f"{r['sign_in_to_first_render_ms']} ms; console errors: {len(r['console_errors'])}"
        )


if __name__ == "__main__":
    main()
