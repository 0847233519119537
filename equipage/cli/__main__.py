"""``python -m equipage.cli``: the same command as the ``equipage`` script."""

from equipage.cli import main

main()
