"""steprunner: a small, durable Python runtime for Motia step files (see DESIGN.md)."""
