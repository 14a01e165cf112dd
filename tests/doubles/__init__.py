"""Loopback doubles for the third-party trackers that cannot run here.

Every double is written to its provider's public documentation (each module names
the pages it follows) and is a real server or executable: HTTP doubles listen on
127.0.0.1 on an ephemeral port with in-memory state, a request log, fault injection
and the provider's own authentication header; ``bd`` and ``fp`` are small Python
programs with a file-backed store, put on PATH by the ``bd_on_path``/``fp_on_path``
fixtures (see :mod:`doubles.fixtures`).
"""
