"""Packaged rubric bank (YAML data, one file per topic); installed as interviewer.bank."""
