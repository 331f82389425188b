"""The offline engine: rubric-point coverage by embedding similarity, lexical cues and a
contradiction check, plus the reference-answer model for questions without a rubric."""
