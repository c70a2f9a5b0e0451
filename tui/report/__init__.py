"""tracktui report: one self-contained HTML file of chosen runs (tables, charts, media)."""
