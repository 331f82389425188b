"""Review: stored interviews as records, progress over time, and every reading of them
(terminal transcript, Markdown, JSON, the HTML report with its charts)."""
