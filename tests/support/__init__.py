"""Helpers the tests share: live servers, database URLs, a TCP proxy, decoders, session and
metrics readers. Fixtures live in ``conftest.py``; these are plain functions and classes."""
