"""interviewer: a mock interviewer for AI/ML job candidates."""

__version__ = "0.1.0"
