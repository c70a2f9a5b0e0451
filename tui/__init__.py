"""tui: the ``tracktui`` command — a terminal viewer and command line for tracker databases.

Imports nothing: ``import tui`` loads neither Textual nor the tracker's write side
(tests/test_import_contracts.py checks it).
"""
