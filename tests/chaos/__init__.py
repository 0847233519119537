"""The chaos suite: real worker processes SIGKILLed at random moments (inside the crash
windows too), the Redis server stopped, frozen and killed, and every envelope accounted for.

``python -m tests.chaos.harness`` runs the full suite for one crew (``make chaos``);
``python -m tests.chaos.farm_harness`` the same over a farm's crews and its shared pool of
workers (``make chaos-farm``). ``test_chaos.py`` holds their reduced versions, run by
``make test``.
"""
