"""Rules versions held in the database (issue 15): drafts, publish, rollback, audit, diff.

``services.py`` works on ``RulesVersion`` rows (flushes; the caller commits); ``diff.py`` is pure.
Which version the app serves lives in ``coachapp.rules_store``.
"""
