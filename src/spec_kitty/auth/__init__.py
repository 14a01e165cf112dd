"""Logging in to a hub and staying logged in: OAuth flows, the session, one HTTP client.

- :mod:`.session`: the session and identity model (what is stored, what status shows)
- :mod:`.storage`: the encrypted session file (AES-256-GCM), permissions enforced
- :mod:`.oauth`: the hub's OAuth and identity endpoints as typed calls
- :mod:`.pkce`, :mod:`.loopback`, :mod:`.browser`, :mod:`.device`: the two login flows
- :mod:`.refresh`: token refresh under the machine-wide lock (read, decide, refresh, reconcile)
- :mod:`.transport`: :func:`~spec_kitty.auth.transport.authenticated_client`, the one
  ``httpx`` client every hosted command uses (bearer token, one refresh-and-retry on 401)
- :mod:`.login`, :mod:`.status`, :mod:`.doctor`: the use cases behind ``spec-kitty auth``

Nothing is imported here so that ``spec-kitty auth status`` stays fast.
"""
