"""The record checks the console runs in the browser give the Python verifier's answers: RFC 9162
inclusion proofs, commitments and signed checkpoints; and a party's own entry checks out end to end."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from deconline.record.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from deconline.record.merkle import MerkleTree, leaf_hash
from deconline.record.signing import generate_key
from tests.web.conftest import Site, needs_browser, open_console, open_record

pytestmark = needs_browser
b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731

CHECK = """async (cases) => {
  const m = await import('/console/js/merkle.js');
  const { base64Decode } = await import('/console/js/signing.js');
  const out = [];
  for (const c of cases) {
    const proof = c.proof.map(base64Decode);
    out.push(await m.verifyInclusion(c.index, c.size, base64Decode(c.leaf), proof, base64Decode(c.root)));
  }
  return out;
}"""


def cases() -> list[dict[str, Any]]:
    """Every (index, size) of trees up to 33 leaves, right and wrong."""
    leaves = [leaf_hash(hashlib.sha256(bytes([k])).digest()) for k in range(33)]
    tree = MerkleTree(leaves)
    found = []
    for size in range(1, 34):
        root = tree.root(size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            case = {"index": index, "size": size, "leaf": b64(leaves[index]), "proof": [b64(p) for p in proof]}
            found.append({**case, "root": b64(root), "expect": True})
            other = leaves[(index + 1) % 33]
            found.append({**case, "leaf": b64(other), "root": b64(root), "expect": size == 1 and other == leaves[0]})
            if proof:
                bent = bytes([proof[0][0] ^ 1]) + proof[0][1:]
                found.append({**case, "proof": [b64(bent), *case["proof"][1:]], "root": b64(root), "expect": False})
    return found


def test_inclusion_proofs_agree_with_python(browser: Any, site: Site) -> None:
    watched = open_console(browser, site.url)
    chosen = cases()
    answers = watched.page.evaluate(CHECK, chosen)
    assert answers == [c["expect"] for c in chosen]
    watched.assert_clean()
    watched.page.context.close()


def test_checkpoint_signatures_agree_with_python(browser: Any, site: Site) -> None:
    key = generate_key()
    note = sign_checkpoint(Checkpoint("example.org/log", 7, os.urandom(32)), "example.org/log", key)
    verifier = verifier_key("example.org/log", key.public_key())
    stranger = verifier_key("example.org/log", generate_key().public_key())
    tampered = note.replace("\n7\n", "\n8\n")
    watched = open_console(browser, site.url)
    results = watched.page.evaluate(
        """async ([note, verifier, stranger, tampered]) => {
            const m = await import('/console/js/merkle.js');
            const attempt = async (n, k) => {
                try { return await m.verifyNoteSignature(n, k); } catch (e) { return e.message; }
            };
            return [await attempt(note, verifier), await attempt(note, stranger), await attempt(tampered, verifier),
                    m.parseCheckpoint(note).size];
        }""",
        [note, verifier, stranger, tampered],
    )
    assert results[0] is True
    assert "id does not match" in results[1] or "no signature" in results[1]
    assert "does not verify" in results[2]
    assert results[3] == 7
    watched.assert_clean()
    watched.page.context.close()


def test_a_party_checks_its_own_entry_in_the_browser(browser: Any, site: Site) -> None:
    watched = open_record(browser, site, "delta")
    page = watched.page
    entry = page.locator("#panel-record [data-index]").last  # delta signed the agreement before the server started
    assert "agreement.signed" in (entry.text_content() or "")
    entry.get_by_role("button", name="Verify inclusion").click()
    entry.get_by_text("included in the checkpoint of size").wait_for()
    watched.assert_clean()
    watched.page.context.close()
