"""The hub's tracker service: team connections (secrets sealed), bindings, durable jobs.

- :mod:`.crypto`: the encryption key and the box that seals provider secrets
- :mod:`.connections`: adding a team's provider connection, opening its connector
- :mod:`.bindings`: resources, bind-resolve/confirm/validate, request routing
- :mod:`.operations`: pull, push items (work packages included), search
- :mod:`.jobs`: durable push/run jobs, claimed by exactly one worker
- :mod:`.worker`: the job thread of every hub process
"""
