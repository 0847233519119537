"""Leases on Redis keys: the key holds its holder's token with a TTL.

A holder renews its lease while it works and deletes it when done; both only while the
key still holds its token, so a holder that lost the lease (frozen past the TTL) cannot
touch the next holder's. A dead holder frees it when the TTL runs out. The thread lease of
an agent's turn (``equipage.bus``) and the crew's console (``equipage.console_hold``) are
such leases.
"""

from __future__ import annotations

__all__ = ["RELEASE", "RENEW"]

#: KEYS: the lease. ARGV: the holder's token, the TTL (ms). 1 if renewed, 0 if not held.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

#: KEYS: the lease. ARGV: the holder's token. 1 if deleted, 0 if not held.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
