"""Adapters: thin translators between a chat platform and the interviewer core."""
