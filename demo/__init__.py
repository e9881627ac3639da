"""The embedded demo: synthetic survey completes, preference data, an evaluation, logins and demo runs.

It sits above every app (it fills all of them) and nothing but tests imports it.
"""
