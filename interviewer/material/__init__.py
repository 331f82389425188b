"""Study notes, one Markdown file per topic; rubric points cite their headings."""
