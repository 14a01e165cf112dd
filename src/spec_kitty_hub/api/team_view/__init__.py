"""The team view's routes (HTML pages, live JSON, server-sent events; session cookie).

``scope`` resolves the signed-in user and their team (404 otherwise), ``lists`` serves
the teams, team and project pages and the shared board assets, ``mission`` the mission,
work-package and document pages and the live stream.
"""
