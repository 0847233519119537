"""Chat channels: one adapter per platform, plus the gateway that owns access control.

May import: ``equipage``.
"""
