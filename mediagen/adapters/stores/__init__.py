"""Continuation stores: in-memory (LRU + TTL), SQLite (embedded, survives restarts) and Redis (several workers).

Each module is imported on its own so that choosing one store never loads another's driver.
"""
