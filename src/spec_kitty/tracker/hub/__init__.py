"""Trackers reached through the team hub (GitHub, GitLab, Jira, Linear): the client,
binding and the service.
"""
