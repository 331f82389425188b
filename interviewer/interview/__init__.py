"""The interview: the Interviewer API and its loop, the state rebuilt from a transcript,
pure choices (next question, difficulty), commands and the typed replies every channel renders."""
