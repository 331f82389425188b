"""`python -m interviewer` runs the CLI."""

from interviewer.cli.main import main

main()
