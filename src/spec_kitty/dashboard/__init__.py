"""The browser dashboard: a read-only, live kanban of one or more projects.

``launcher`` (used by ``spec-kitty dashboard``) starts, reuses and stops a detached
server process; ``serve`` is that process's entry point; ``api`` is the starlette
application; ``readmodel`` turns missions on disk into JSON without writing anything.
Nothing here imports starlette, uvicorn or watchfiles at module level except the
modules only the server process loads (``api``, ``live``, ``serve``).
"""
