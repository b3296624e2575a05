"""The console's signed envelopes (issue 24) are the Python side's, byte for byte: the shared vectors,
envelopes made on either side verify on the other, the same action for every route, and the API
client sends every write as an envelope, resent byte for byte when its answer is lost."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from deconline.record.actions import ACTIONS, action_for
from deconline.record.envelope import PAYLOAD_TYPE, open_sealed, pae, seal
from deconline.record.signing import generate_key, public_key_b64, read_private_key
from tests.web.conftest import Site, Watched, needs_browser, open_console

pytestmark = needs_browser

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "envelopes" / "vectors.json").read_text(encoding="utf-8"))
PKCS8_ED25519_PREFIX = "302e020100300506032b657004220420"  # PKCS#8 DER of an Ed25519 key, less its 32-byte seed
LINE = "deconline/1a2b3c4d"


@pytest.fixture(scope="module")
def page(browser: Any, site: Site) -> Iterator[Watched]:
    """One console page for the tests that only import modules (opening a page costs more than they do)."""
    watched = open_console(browser, site.url)
    yield watched
    watched.page.context.close()


def test_the_browser_seals_the_shared_vectors(page: Watched) -> None:
    assert VECTORS["payload_type"] == PAYLOAD_TYPE
    results = page.page.evaluate(
        """async ([prefix, vectors]) => {
            const s = await import('/console/js/signing.js');
            const unhex = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
            const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
            const out = [];
            for (const v of vectors) {
                const der = unhex(prefix + v.private_key_seed_hex);
                const key = await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
                const sealed = await s.sealStatement(key, {
                    line: v.line, action: v.action, body: v.body, created: v.created, nonce: v.nonce,
                });
                out.push({
                    text: sealed.text,
                    statement: hex(sealed.statement),
                    pae: hex(s.pae(s.PAYLOAD_TYPE, sealed.statement)),
                    signature: sealed.signature,
                    type: s.PAYLOAD_TYPE,
                });
            }
            return out;
        }""",
        [PKCS8_ED25519_PREFIX, VECTORS["vectors"]],
    )
    assert len(results) == len(VECTORS["vectors"]) > 0
    for vector, result in zip(VECTORS["vectors"], results, strict=True):
        assert result["type"] == PAYLOAD_TYPE
        assert result["text"] == vector["statement"], vector["action"]
        assert result["statement"] == vector["statement"].encode("utf-8").hex(), vector["action"]
        assert result["pae"] == vector["pae_hex"], vector["action"]
        assert result["signature"] == vector["signature"], vector["action"]
    page.assert_clean()


def test_an_envelope_made_in_the_browser_opens_in_python(page: Watched, site: Site) -> None:
    body = {"text": "Übung – €", "recipients": ["bravo"], "n": 1.5, "none": None}
    made = page.page.evaluate(
        """async ([pem, line, body]) => {
            const s = await import('/console/js/signing.js');
            const key = await s.importPrivateKeyPem(pem);
            const one = await s.sealStatement(key, { line, action: 'message.send', body });
            const two = await s.sealStatement(key, { line, action: 'message.send', body });
            return { statement: s.base64Encode(one.statement), text: one.text, signature: one.signature,
                     other: two.text, nonces: [s.newNonce(), s.newNonce()] };
        }""",
        [site.keys["charlie"].read_text(), LINE, body],
    )
    statement = base64.b64decode(made["statement"])
    assert statement.decode("utf-8") == made["text"]
    opened = open_sealed(statement, made["signature"], public_key_b64(read_private_key(site.keys["charlie"])))
    assert (opened.line, opened.action, opened.body) == (LINE, "message.send", body)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", opened.created)
    for nonce in [opened.nonce, *made["nonces"]]:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", nonce)
        assert len(base64.urlsafe_b64decode(nonce + "==")) == 16
    assert len({opened.nonce, *made["nonces"]}) == 3
    assert made["other"] != made["text"]  # a second statement of the same body is another nonce
    page.assert_clean()


def test_an_envelope_made_in_python_verifies_in_the_browser(page: Watched) -> None:
    key = generate_key()
    sealed = seal(key, LINE, "operation.revise:op_1a2b", {"version": 3, "name": "Nord – €", "volumes": []})
    statement = sealed.statement
    assert pae(PAYLOAD_TYPE, statement).startswith(b"DSSEv1 ")
    bent = statement.replace(b'"version":3', b'"version":4')
    verdicts = page.page.evaluate(
        """async ([publicKey, signature, statements]) => {
            const s = await import('/console/js/signing.js');
            const raw = s.base64Decode(publicKey);
            const key = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
            const verify = (bytes) => crypto.subtle.verify({ name: 'Ed25519' }, key, s.base64Decode(signature), bytes);
            const out = [];
            for (const b64 of statements) out.push(await verify(s.pae(s.PAYLOAD_TYPE, s.base64Decode(b64))));
            // the statement alone (no PAE) is not what was signed
            out.push(await verify(s.base64Decode(statements[0])));
            return out;
        }""",
        [public_key_b64(key), sealed.signature, [base64.b64encode(b).decode() for b in (statement, bent)]],
    )
    assert verdicts == [True, False, False]
    page.assert_clean()


def _sample_paths() -> list[tuple[str, str]]:
    ids = {"op_id": "op_1a2b", "notice_id": "n_77", "hazard_id": "hz_9", "message_id": "msg_5"}
    ids |= {"party_id": "charlie", "version": "2"}
    samples: list[tuple[str, str]] = []
    for action in ACTIONS:
        path = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], action.route)
        samples += [(action.method, path), (action.method.lower(), path + "/"), (action.method, path + "?x=1")]
    samples += [
        ("GET", "/v1/operations"),
        ("GET", "/v1/messages?box=in&limit=200"),
        ("GET", "/v1/whoami"),
        ("POST", "/v1/parties"),
        ("DELETE", "/v1/operations/op_1a2b"),
        ("PUT", "/v1/operations"),
        ("POST", "/v1/operations/op_1a2b/check/again"),
        ("POST", "/v1/messages//ack"),
        ("POST", "/v2/operations"),
    ]
    return samples


def test_actions_are_the_python_sides(page: Watched) -> None:
    samples = _sample_paths()
    table, derived = page.page.evaluate(
        """async (samples) => {
            const a = await import('/console/js/actions.js');
            return [a.ACTIONS, samples.map(([method, path]) => a.actionFor(method, path))];
        }""",
        samples,
    )
    assert table == [{"method": a.method, "route": a.route, "name": a.name, "subject": a.subject} for a in ACTIONS]
    expected = [action_for(method, path) for method, path in samples]
    assert derived == expected
    assert all(e is not None for e in expected[: 3 * len(ACTIONS)])
    assert all(e is None for e in expected[3 * len(ACTIONS) :])
    page.assert_clean()


def test_the_api_sends_writes_as_envelopes_and_resends_the_same_bytes(page: Watched, site: Site) -> None:
    """Against a stand-in service (page.route): the line read once from whoami, every write an
    envelope, a lost answer resent byte for byte, unsigned reads and key-less writes as before."""
    page.assert_clean()
    seen: list[dict[str, Any]] = []
    lose = {"/v1/messages/msg_5/ack": ["abort", 503]}

    def stand_in(route: Any) -> None:
        request = route.request
        path = urlsplit(request.url).path
        seen.append(
            {
                "method": request.method,
                "path": path,
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": request.post_data_buffer,
            }
        )
        if path == "/v1/whoami":
            route.fulfill(json={"role": "party", "party": "charlie", "line": LINE})
        elif lose.get(path):
            how = lose[path].pop(0)
            if how == "abort":
                route.abort()
            else:
                route.fulfill(status=how, json={"detail": "try again"})
        elif path == "/v1/messages/msg_6/ack":
            route.fulfill(status=422, json={"detail": "this nonce was used for other bytes"})
        elif request.method == "POST":
            replayed = {"Idempotent-Replayed": "true"} if path == "/v1/messages/msg_5/ack" else {}
            route.fulfill(status=201, json={"ok": path}, headers=replayed)
        else:
            route.fulfill(json={"ok": path})

    page.page.route("**/v1/**", stand_in)
    try:
        answers = page.page.evaluate(
            """async ([pem]) => {
                const { Api } = await import('/console/js/api.js');
                const { importPrivateKeyPem } = await import('/console/js/signing.js');
                const api = new Api({ token: 'party-token', key: await importPrivateKeyPem(pem) });
                const out = {};
                out.ack = await api.post('/v1/messages/msg_5/ack', {});
                out.withdraw = await api.del('/v1/hazards/hz_9');
                out.list = await api.get('/v1/operations');
                try {
                    await api.post('/v1/messages/msg_6/ack', {});
                } catch (e) {
                    out.refused = [e.status, e.message];
                }
                out.line = api.line;
                const admin = new Api({ token: 'admin-token' });
                out.plain = await admin.post('/v1/parties', { id: 'echo', public_key: 'x' });
                return out;
            }""",
            [site.keys["charlie"].read_text()],
        )
    finally:
        page.page.unroute("**/v1/**", stand_in)
    assert answers["ack"] == {"ok": "/v1/messages/msg_5/ack"}
    assert answers["withdraw"] == {"ok": "/v1/hazards/hz_9"}
    assert answers["refused"] == [422, "this nonce was used for other bytes"]
    assert answers["line"] == LINE
    public = public_key_b64(read_private_key(site.keys["charlie"]))
    calls = [(c["method"], c["path"]) for c in seen]
    assert calls == [
        ("GET", "/v1/whoami"),  # once, before the first signed request
        *[("POST", "/v1/messages/msg_5/ack")] * 3,  # lost (network), lost (503), answered (replayed)
        ("DELETE", "/v1/hazards/hz_9"),
        ("GET", "/v1/operations"),
        ("POST", "/v1/messages/msg_6/ack"),  # a refusal is not resent
        ("POST", "/v1/parties"),
    ]
    acks = seen[1:4]
    assert len({(a["body"], a["headers"]["x-deconline-signature"]) for a in acks}) == 1  # the same envelope
    for call, action, body in [
        (acks[0], "message.ack:msg_5", {}),
        (seen[4], "hazard.withdraw:hz_9", {}),
        (seen[6], "message.ack:msg_6", {}),
    ]:
        assert call["headers"]["content-type"] == PAYLOAD_TYPE
        assert call["headers"]["authorization"] == "Bearer party-token"
        opened = open_sealed(call["body"], call["headers"]["x-deconline-signature"], public)
        assert (opened.line, opened.action, opened.body) == (LINE, action, body)
    assert seen[6]["body"] != acks[0]["body"]
    for unsigned in (seen[0], seen[5], seen[7]):
        assert "x-deconline-signature" not in unsigned["headers"]
    assert seen[5]["body"] is None
    assert seen[7]["headers"]["content-type"] == "application/json"
    assert json.loads(seen[7]["body"]) == {"id": "echo", "public_key": "x"}
    # Chromium logs each failed load; these were provoked
    assert all(re.search(r"status of (503|422)|net::ERR_FAILED", e) for e in page.errors), page.errors
    page.errors.clear()
    page.assert_clean()
