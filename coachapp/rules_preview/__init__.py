"""See a draft before publishing it (issue 15.3): what answers come to under the live rules and
under a draft (``outcomes.py``, no database), the what-if samples (``samples.py``) and the replay
of stored submissions (``replay.py``, run by the worker)."""
