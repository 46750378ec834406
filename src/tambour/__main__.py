"""`python -m tambour`: the command line."""

from tambour.cli import main

main()
