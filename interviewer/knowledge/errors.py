"""The knowledge base's error type, importable without importing Chroma."""


class KnowledgeError(Exception):
    """The knowledge base cannot be used; the message is for the user."""
