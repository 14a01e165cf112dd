"""The background sync daemon: one per machine and user (docs/sync.md, "The daemon").

- :mod:`.policy`: ``ensure_sync_daemon_running(intent)``, the policy, the emitter's nudge
- :mod:`.launcher`: spawn, replace, stop; identity-checked orphan reaping
- :mod:`.main`, :mod:`.service`, :mod:`.server`: the process, its drain loop, its API
- :mod:`.client`: the control token file and requests to the API
- :mod:`.owner`: the owner record; :mod:`.logs`: the rotated log; :mod:`.settings`
- :mod:`.control`: what ``spec-kitty sync daemon status|start|stop`` does

Nothing is imported here so the emitter's hook stays cheap.
"""
