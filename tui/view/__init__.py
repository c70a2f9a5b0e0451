"""Pure formatting and rendering helpers for the TUI: no widgets, no terminal."""
