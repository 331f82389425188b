"""The ``interviewer`` command line: practice, review, knowledge, serving a channel, database."""
