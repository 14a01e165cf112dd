"""``spec-kitty merge``: lanes → mission branch → target, resumable, never losing work.

``preflight`` checks and forecasts, ``state`` keeps the resumable state and the lock,
``phases`` merges lanes and the mission and moves the target, ``bookkeeping`` records
``done`` and cleans up, ``run`` drives the phases, ``abort`` undoes an interrupted run.
"""
