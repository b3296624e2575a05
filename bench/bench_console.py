"""The console in Chromium under a live picture: per-update handling + render, first load, size.

    .venv/bin/python bench/bench_console.py [--seconds 30] [--sizes 50,5000] [--nonconforming]

A real ``deconline serve`` on a demo database (SQLite); a feeder process posts signed batches
of N tracks of the signed-in party every second while the page polls and renders them. The page
records, for every update, the time from the /v1/tracks response to the end of the next
animation frame (``window.deconline.perf.trackUpdates``). With ``--nonconforming`` the party
first files and activates an operation far from its aircraft, so every one of them is outside
it: the run also counts the party's nonconformance alerts and the alert events it was sent.
Writes bench/out/console.json (console_nonconforming.json).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from bench_filing import demo_line, instance

from deconline.client import Client
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


def hold_to_an_operation(url: str, token: str, key_file: Path) -> None:
    """An active operation of the party's, just south of the grid its aircraft fly (the map keeps
    its view): all of them are outside it."""
    now = datetime.now(UTC)
    square = [[12.0, 53.5], [12.2, 53.5], [12.2, 53.7], [12.0, 53.7], [12.0, 53.5]]
    volume = {
        "footprint": {"type": "Polygon", "coordinates": [square]},
        "lower_m": 0.0,
        "upper_m": 1000.0,
        "start": (now - timedelta(minutes=5)).isoformat(),
        "end": (now + timedelta(hours=3)).isoformat(),
    }
    with Client(url, token, key=key_file) as client:
        op = client.file_operation([volume], name="bench: far away")
        client.set_state(op.id, op.version, "active")


def alert_events(url: str, token: str, seconds: float) -> dict[str, Any]:
    """The party's stream for ``seconds``, from its first event: how many alert events it was sent, of which kinds."""
    kinds: dict[str, int] = {}
    deadline = time.time() + seconds
    headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": f"{PARTY}:0"}
    try:
        with httpx.stream("GET", f"{url}/v1/events", headers=headers, timeout=httpx.Timeout(30, read=2)) as response:
            for line in response.iter_lines():
                if line.startswith("data:") and '"type":"alert"' in line:
                    kind = json.loads(line[5:])["alert"]["kind"]
                    kinds[kind] = kinds.get(kind, 0) + 1
                if time.time() > deadline:
                    break
    except httpx.ReadTimeout:
        pass
    return kinds


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
    counted: dict[str, Any] = {}
    listener = threading.Thread(target=lambda: counted.update(alert_events(url, tokens[PARTY], seconds)))
    listener.start()
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
    listener.join()
    open_alerts = httpx.get(f"{url}/v1/alerts", headers={"Authorization": f"Bearer {tokens[PARTY]}"}).json()
    nonconformance = [a for a in open_alerts if a["kind"] == "nonconformance"]
    context.close()
    feeder.terminate()
    feeder.join()
    return {
        "nonconformance_alerts_open": len(nonconformance),
        "aircraft_in_them": sum(len(a.get("aircraft", [a["own_track"]])) for a in nonconformance),
        "alert_events_since_start": counted,
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
    parser.add_argument("--nonconforming", action="store_true", help="every aircraft outside an active operation")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    vendor = sum(p.stat().st_size for p in (WEB / "vendor").rglob("*") if p.is_file())
    own = sum(p.stat().st_size for p in WEB.rglob("*") if p.is_file() and "vendor" not in p.parts)
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/bench.db"
        keys = Path(tmp) / "keys"
        tokens = demo_line(db_url, keys)
        with instance(db_url) as (url, _):  # the demo's feeders post once a second: no limit is met
            if args.nonconforming:
                hold_to_an_operation(url, tokens[PARTY], keys / f"{PARTY}.key")
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
    (OUT / ("console_nonconforming.json" if args.nonconforming else "console.json")).write_text(
        json.dumps(report, indent=1)
    )
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
            f"{r['aircraft']:,} aircraft: {r['nonconformance_alerts_open']} nonconformance alert(s) open listing "
            f"{r['aircraft_in_them']:,} aircraft; alert events since the line started: {r['alert_events_since_start']}"
        )
    for r in results:
        print(
            f"{r['aircraft']:,} aircraft: sign-in form after {r['first_load_to_sign_in_form_ms']} ms "
            f"(DOMContentLoaded {r['first_load_dom_content_loaded_ms']} ms); sign-in to first render "
            f"{r['sign_in_to_first_render_ms']} ms; console errors: {len(r['console_errors'])}"
        )


if __name__ == "__main__":
    main()
