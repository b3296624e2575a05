"""``python -m deconline`` is the ``deconline`` command."""

from deconline.cli import main

main()
