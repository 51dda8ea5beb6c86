"""Scans as jobs: the scan itself (``scan``), where its state lives (``store``), who runs
it (``runner``: a thread pool by default, RQ workers with Redis) and the worker process."""
