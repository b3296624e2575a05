"""``deconline party rotate-key``: a party replaces its own key, through the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deconline.cli.common import api_client, complain, fail, out, read_key, settings


def rotate_key(
    new_key: Annotated[
        Path,
        typer.Option(help="the new private key file; made (mode 0600, with a .pub beside it) if it does not exist"),
    ],
    key: Annotated[
        Path | None, typer.Option(help="your current private key file (default: the global --key / DECONLINE_KEY)")
    ] = None,
) -> None:
    """Replace your party's key: signed with the current key, recorded publicly; then sign with the new one."""
    from deconline.record.signing import generate_key, write_private_key

    current = key or settings.key
    if current is None or not current.is_file():
        fail("give your current private key file: --key FILE (the key the rotation is signed with)", 2)
    current_key = read_key(current, "--key")  # an unreadable key file is named, exit 2
    made = not new_key.exists()
    replacement = generate_key() if made else read_key(new_key, "--new-key")
    with api_client() as client:
        if made:
            write_private_key(replacement, new_key)
        try:
            rotated = client.rotate_key(replacement, current_key=current_key)
        except Exception as exc:  # refused, or the service is not there
            if made:
                new_key.unlink(missing_ok=True)  # never used: no stray key to mistake for the party's
            if settings.debug:
                raise
            complain(exc)
    if made:
        new_key.with_suffix(".pub").write_text(rotated.public_key + "\n")
    out.print(f"key of {rotated.party} rotated: {rotated.public_key} from {rotated.valid_from}")
    out.print(f"record entry {rotated.record_index}; sign with {new_key} from now on (--key / DECONLINE_KEY)")
