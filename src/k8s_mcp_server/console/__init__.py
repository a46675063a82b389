"""The security console in the browser (console/pages.py)."""
