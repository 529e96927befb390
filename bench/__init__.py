"""The book's benchmarks: figures measured against a reference in the same run (see README.md)."""
