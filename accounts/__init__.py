"""Accounts: sign-up, login limits, the session-user cache and API tokens."""
