"""The conscience benchmark's protocol (``benchmarks/conscience.py``), in three parts.

- :mod:`.scenarios`: the scenario sets (the generator's train split for choosing settings;
  held out: its test split, the hand-written scenarios, ``--scenarios MODULE[:ATTR]``).
- :mod:`.jobs`: one training-and-evaluation run in a worker process, and the untrained
  (random-valid) reference policy.
- :mod:`.stats`: the selection rule (reads train rows only) and the paired bootstrap over
  scenarios.
"""
