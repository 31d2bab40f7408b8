"""``python -m latentstack`` is the CLI."""

from latentstack.cli import main

main()
