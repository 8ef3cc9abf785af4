"""`python -m fieldmind` runs the command line."""

from fieldmind.cli import main

main()
