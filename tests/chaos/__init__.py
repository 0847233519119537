"""The chaos suite: real worker processes SIGKILLed at random moments (inside the crash
windows too), the Redis server stopped, frozen and killed, and every envelope accounted for.

``python -m tests.chaos.harness`` runs the full suite (``make chaos``); ``test_chaos.py`` is
its reduced version in ``make test``.
"""
