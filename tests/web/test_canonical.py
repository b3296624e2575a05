"""The browser's canonical JSON is byte for byte the Python side's (the signatures depend on it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deconline.record.canonical import canonical_json
from tests.web.conftest import Site, needs_browser, open_console

VECTORS = json.loads((Path(__file__).parent / "canonical_vectors.json").read_text(encoding="utf-8"))["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_python_side_matches_the_vectors(vector: dict[str, str]) -> None:
    assert canonical_json(json.loads(vector["input"])).decode("utf-8") == vector["canonical"]


def test_the_rfc_example_is_the_rfcs_answer() -> None:
    [example] = [v for v in VECTORS if v["name"] == "rfc8785 example"]
    assert example["canonical"] == (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )


@needs_browser
def test_browser_side_matches_the_vectors(browser: Any, site: Site) -> None:
    watched = open_console(browser, site.url)
    results = watched.page.evaluate(
        """async (vectors) => {
            const { canonicalize, canonicalBytes } = await import('/console/js/canonical.js');
            const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
            return vectors.map((v) => {
                const value = JSON.parse(v.input);
                return { text: canonicalize(value), bytes: hex(canonicalBytes(value)) };
            });
        }""",
        VECTORS,
    )
    for vector, result in zip(VECTORS, results, strict=True):
        assert result["text"] == vector["canonical"], vector["name"]
        assert result["bytes"] == vector["canonical"].encode("utf-8").hex(), vector["name"]
    watched.assert_clean()
    watched.page.context.close()


@needs_browser
def test_a_signature_made_in_the_browser_verifies_in_python(browser: Any, site: Site) -> None:
    from deconline.record.signing import load_public_key, public_key_b64, read_private_key, verify_document

    watched = open_console(browser, site.url)
    pem = site.keys["charlie"].read_text()
    document = json.loads(VECTORS[-2]["input"])
    signature = watched.page.evaluate(
        """async ([pem, doc]) => {
            const { importPrivateKeyPem, signDocument } = await import('/console/js/signing.js');
            const key = await importPrivateKeyPem(pem);
            return { sig: await signDocument(key, doc), extractable: key.extractable };
        }""",
        [pem, document],
    )
    assert signature["extractable"] is False
    public = public_key_b64(read_private_key(site.keys["charlie"]))
    load_public_key(public)
    verify_document(public, document, signature["sig"])
    watched.assert_clean()
    watched.page.context.close()
