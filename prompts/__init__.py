"""Packaged prompt templates (data files); installed as interviewer.prompts."""
