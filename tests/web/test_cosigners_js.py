"""Witness cosignatures checked in the browser (issue 25) give the Python verifier's answers, and the
record panel's "witnessed by" row says how many of the agreement's quorum cosigned, or nothing at
all when the agreement names no witnesses."""

from __future__ import annotations

import base64
import os
from typing import Any

from deconline.record.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from deconline.record.cosignature import cosign, cosigner
from deconline.record.signing import generate_key
from tests.web.conftest import Site, needs_browser, open_console, open_record

pytestmark = needs_browser
ORIGIN = "line.example/record"
T_BLUE = 1_700_000_000  # 2023-11-14T22:13:20Z
T_RED = 1_700_000_061


def _tampered(line: str) -> str:
    """The cosignature line with one bit of its signature flipped (key id and time kept)."""
    name, encoded = line.rstrip("\n").split(" ")[1:]
    blob = bytearray(base64.b64decode(encoded))
    blob[-1] ^= 1
    return f"\u2014 {name} {base64.b64encode(bytes(blob)).decode()}\n"


def _line() -> dict[str, Any]:
    """A log key, three witnesses (blue, red, green; quorum 2), the signed body, and cosignature lines."""
    log = generate_key()
    keys = {w: generate_key() for w in ("blue", "red", "green")}
    names = {w: f"w.{w}-af.example/witness" for w in keys}
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, os.urandom(32)), ORIGIN, log)
    body = note[: note.rindex("\n\n") + 1]
    stranger = cosign(generate_key(), "w.stranger.example/witness", body, T_BLUE)
    impostor = cosign(generate_key(), names["green"], body, T_BLUE)  # a trusted name, another key
    return {
        "note": note,
        "log_key": verifier_key(ORIGIN, log.public_key()),
        "vkeys": {w: cosigner(names[w], k.public_key()).vkey() for w, k in keys.items()},
        "names": names,
        "blue": cosign(keys["blue"], names["blue"], body, T_BLUE),
        "red": cosign(keys["red"], names["red"], body, T_RED),
        "noise": stranger + impostor,
    }


def test_python_cosignatures_verify_in_the_browser(browser: Any, site: Site) -> None:
    made = _line()
    note, names = made["note"], made["names"]
    cosigned = note + made["blue"] + made["noise"] + made["red"]
    cases = {
        "cosigned": cosigned,
        # a trusted witness's line that does not verify is reported, ok false (not left out)
        "tampered line": note + made["blue"] + _tampered(made["red"]),
        "tampered body": cosigned.replace("\n42\n", "\n43\n", 1),
    }
    bad_vkey = made["vkeys"]["blue"].replace(names["blue"], names["red"], 1)
    watched = open_console(browser, site.url)
    results = watched.page.evaluate(
        """async ([cases, vkeys, badVkey]) => {
            const c = await import('/console/js/cosignature.js');
            const trusted = await Promise.all(vkeys.map(c.parseVkey));
            const out = {};
            for (const [label, note] of Object.entries(cases)) {
                out[label] = (await c.cosignersOf(note, trusted)).map((x) => [x.name, x.time.toISOString(), x.ok]);
            }
            out.parsed = trusted.map((t) => [t.name, t.id.length, t.key.type, t.key.algorithm.name]);
            try { await c.parseVkey(badVkey); out.bad = 'accepted'; } catch (e) { out.bad = e.message; }
            return out;
        }""",
        [cases, list(made["vkeys"].values()), bad_vkey],
    )
    blue = [names["blue"], "2023-11-14T22:13:20.000Z"]
    red = [names["red"], "2023-11-14T22:14:21.000Z"]
    assert results["cosigned"] == [[*blue, True], [*red, True]]  # the stranger and the impostor are left out
    assert results["tampered line"] == [[*blue, True], [*red, False]]
    assert results["tampered body"] == [[*blue, False], [*red, False]]
    assert results["parsed"] == [[names[w], 4, "public", "Ed25519"] for w in ("blue", "red", "green")]
    assert "does not match" in results["bad"]
    watched.assert_clean()
    watched.page.context.close()


MOUNT = """async ([note, logKey, agreement, role]) => {
  const { mount } = await import('/console/js/record.js');
  const root = document.createElement('div');
  const asked = [];
  const text = (t, headers = {}) => ({ text: t, headers: new Headers(headers) });
  const api = {
    async get(path) {
      asked.push(path);
      if (path === '/v1/agreements/current') return agreement;
      throw new Error(`unexpected ${path}`);
    },
    async getText(path) {
      asked.push(path);
      const published = { 'X-Deconline-Checkpoint-Time': new Date().toISOString() };
      if (path === '/v1/record/checkpoint') return text(note, published);
      if (path === '/v1/record/key') return text(logKey);
      throw new Error(`unexpected ${path}`);
    },
  };
  await mount(root, { api, me: { role }, now: () => Date.now(), toast: () => {} }).refresh();
  const cell = root.querySelector('dl.checkpoint dd.witnesses');
  return {
    terms: [...root.querySelectorAll('dl.checkpoint dt')].map((d) => d.textContent),
    lines: cell ? [...cell.children].map((d) => d.textContent) : null,
    signature: root.querySelector('p[role=status]').textContent, // the first: the checkpoint's signature
    problem: root.querySelector('p[role=alert]').textContent,
    asked,
  };
}"""


def test_the_record_panel_counts_cosigners_against_the_quorum(browser: Any, site: Site) -> None:
    made = _line()
    note, names = made["note"], made["names"]
    parties = {"blue": "blue-af", "red": "red-af", "green": "green-af"}
    witnesses = [{"party": parties[w], "url": f"https://{w}.example/", "key": made["vkeys"][w]} for w in parties]
    agreement = {"version": 2, "document": {"witnesses": witnesses, "witness_quorum": 2}}
    scenarios = [
        (note + made["blue"] + made["noise"] + made["red"], agreement, "admin"),
        (note + made["blue"] + _tampered(made["red"]), agreement, "admin"),
        (note + made["blue"], {"version": 2, "document": {"witnesses": witnesses}}, "admin"),  # quorum: all 3
        (note + made["blue"], {"version": 1, "document": {"title": "no witnesses"}}, "admin"),
        (note + made["blue"], agreement, "auditor"),
    ]
    watched = open_console(browser, site.url)
    met, tampered, all_needed, unwitnessed, auditor = [
        watched.page.evaluate(MOUNT, [n, made["log_key"], a, role]) for n, a, role in scenarios
    ]
    for shown in (met, tampered, all_needed, unwitnessed, auditor):
        assert shown["signature"] == "✓ checkpoint signature verified with the service key"
        assert shown["problem"] == ""
    assert met["terms"][-1] == "witnessed by"
    assert met["lines"] == [
        f"✓ blue-af ({names['blue']}) at 2023-11-14T22:13:20Z",
        f"✓ red-af ({names['red']}) at 2023-11-14T22:14:21Z",
        "✓ quorum met: 2 cosigned, 2 needed",
    ]
    short = "this checkpoint may be a view shown to you alone"
    assert tampered["lines"][0] == f"✓ blue-af ({names['blue']}) at 2023-11-14T22:13:20Z"
    assert "red-af" in tampered["lines"][1] and "does not verify" in tampered["lines"][1]
    assert tampered["lines"][-1] == f"✗ short of quorum: 1 cosigned, 2 needed: {short}"
    assert all_needed["lines"][-1] == f"✗ short of quorum: 1 cosigned, 3 needed: {short}"
    # nothing new without witnesses, nor for an auditor, who cannot read the agreement (and is not made to try)
    for plain in (unwitnessed, auditor):
        assert "witnessed by" not in plain["terms"] and plain["lines"] is None
    assert "/v1/agreements/current" not in auditor["asked"]
    watched.assert_clean()
    watched.page.context.close()


def test_the_record_panel_of_a_line_without_witnesses_is_unchanged(browser: Any, site: Site) -> None:
    watched = open_record(browser, site, "delta")
    page = watched.page
    page.locator("#panel-record [data-index]").last.wait_for()  # listed after the witness row would be
    terms = page.locator("#panel-record dl.checkpoint dt").all_text_contents()
    assert terms == ["log", "entries", "root", "published"]
    watched.assert_clean()
    watched.page.context.close()
