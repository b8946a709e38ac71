"""ZKTeco door devices: their push protocols (push.py), what their event codes mean (codes.py), and the files
their terminals and software export (files.py)."""
