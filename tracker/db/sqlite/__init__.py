"""The SQLite backend: the embedded default, one file per experiment collection."""
