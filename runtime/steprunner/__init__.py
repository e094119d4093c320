"""steprunner: a small, durable Python runtime for Motia 0.17 step files (`steprunner dev` in a Motia project).

What it runs, how to install it and how it differs from Motia: runtime/README.md; the design
choices behind it: docs/decisions.md.
"""
