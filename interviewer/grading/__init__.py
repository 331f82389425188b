"""Grading: the Engine protocol, the score computed from verdicts, evidence and contradiction
checks, and the two engines (``offline``: embedded, no key; ``llm``: any model through litellm)."""
