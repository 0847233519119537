"""Lua scripts of RedisSaver: one command per write, atomic like MULTI, and cheap to send.

A MULTI of n commands costs the client n+2 replies to parse; a script costs one, which is
most of a checkpoint write's time on a local server. A script either runs whole or not at
all, so a crash (of the server, under its append-only file, or of the caller) never leaves
half a write or half a prune. READ and PRUNE_LATEST also touch keys they find on the way
(a checkpoint named by the index, the blobs named by a checkpoint), which are not in KEYS:
every key of a company shares its hash tag, hence its cluster slot, which is what Redis
Cluster requires of such keys. Commands that take many arguments go in chunks: Lua's
``unpack`` is bounded by the C stack.
"""

from __future__ import annotations

__all__ = ["PRUNE", "PRUNE_LATEST", "READ", "STORE", "WRITES"]

# First lines of a write script: its last KEY is the thread's lease and its last ARGV the
# token the writer holds ('' for a write outside a worker's turn). Both are taken off, and
# nothing is written when another worker holds the thread now (``equipage.fence``).
_FENCED = """
local fence = table.remove(KEYS)
local token = table.remove(ARGV)
if token ~= '' and redis.call('GET', fence) ~= token then
  return redis.error_reply('TURNLOST this worker lost the thread to another one')
end
"""

# The id part of a key, escaped as ``equipage.keys.company.part`` does.
_PART = """
local function part(id)
  return (string.gsub(string.gsub(id, '%%', '%%25'), ':', '%%3A'))
end
"""

_CHUNKS = """
local function chunked(command, key, list, first, last)
  for i = first, last, 1000 do
    local upto = math.min(i + 999, last)
    if key then
      redis.call(command, key, unpack(list, i, upto))
    else
      redis.call(command, unpack(list, i, upto))
    end
  end
end
"""

#: Load one checkpoint in one round trip: the newest of its namespace unless an id is given.
#: KEYS: index. ARGV: id or "", key prefix of checkpoints, key prefix of writes (each id's
#: key is the prefix and the id escaped as ``keys.company.part`` does). Returns nil if there is
#: none, else {id, checkpoint hash, writes hash, blob values or nil}: the values follow the
#: checkpoint's ``blobs`` field, a msgpack list of (channel, version, key); a checkpoint
#: stored before that field existed answers nil, and the caller reads its blobs itself.
#: The checkpoint, writes and blob keys are not in KEYS: they hash to the index's slot
#: (one company, one hash tag), which Redis Cluster allows.
READ = (
    _PART
    + """
local id = ARGV[1]
if id == '' then
  id = redis.call('ZRANGE', KEYS[1], -1, -1)[1]
  if not id then return false end
end
local fields = redis.call('HGETALL', ARGV[2] .. part(id))
if #fields == 0 then return false end
local writes = redis.call('HGETALL', ARGV[3] .. part(id))
local values = false
for at = 1, #fields, 2 do
  if fields[at] == 'blobs' then
    local keys = {}
    for k, blob in ipairs(cmsgpack.unpack(fields[at + 1])) do keys[k] = blob[3] end
    values = {}
    for first = 1, #keys, 1000 do
      local got = redis.call('MGET', unpack(keys, first, math.min(first + 999, #keys)))
      for k = 1, #got do values[first + k - 1] = got[k] or '' end
    end
  end
end
return {id, fields, writes, values}
"""
)

# Records writes of tasks on a checkpoint: (field, entry, overwrite) triples of ``list``
# from ``first`` to ``last``. A retried task replays its regular writes and the first ones
# stand ("0"); special writes (error, interrupt, resume) record the latest outcome ("1").
_RECORD = """
local function record(key, list, first, last)
  for at = first, last, 3 do
    if list[at + 2] == '1' then
      redis.call('HSET', key, list[at], list[at + 1])
    else
      redis.call('HSETNX', key, list[at], list[at + 1])
    end
  end
end
"""

#: Store one checkpoint: its hash, index entry, namespace, pending writes and new blobs, and
#: the writes of tasks on its parent that were not stored yet (``RedisSaver.aput_writes``
#: lets the thread's next put carry them, so a step costs one round trip, and they land
#: with the checkpoint they lead to or not at all).
#: KEYS: checkpoint, index, namespaces, threads, thread keys, writes, parent's writes,
#: blob..., lease. ARGV: id, namespace, thread id, n fields, field/value..., n writes,
#: field/value..., n parent writes, (field, entry, overwrite)..., blob value... (one per
#: blob key, in order), fence token.
STORE = (
    _FENCED
    + _CHUNKS
    + _RECORD
    + """
local n = tonumber(ARGV[4])
local at = 5
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, at, at + 2 * n - 1)) end
at = at + 2 * n
n = tonumber(ARGV[at])
at = at + 1
if n > 0 then
  redis.call('HSET', KEYS[6], unpack(ARGV, at, at + 2 * n - 1))
  redis.call('SADD', KEYS[5], KEYS[6])
end
at = at + 2 * n
n = tonumber(ARGV[at])
at = at + 1
if n > 0 then
  record(KEYS[7], ARGV, at, at + 3 * n - 1)
  redis.call('SADD', KEYS[5], KEYS[7])
end
at = at + 3 * n
for k = 8, #KEYS do
  redis.call('SET', KEYS[k], ARGV[at])
  at = at + 1
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('SADD', KEYS[5], KEYS[1], KEYS[2], KEYS[3])
chunked('SADD', KEYS[5], KEYS, 8, #KEYS)
"""
)

#: Record tasks' writes on a checkpoint. KEYS: writes, thread keys, lease.
#: ARGV: (field, entry, "1" to overwrite or "0" to keep a first write) per write, token.
WRITES = (
    _FENCED
    + _RECORD
    + """
record(KEYS[1], ARGV, 1, #ARGV)
redis.call('SADD', KEYS[2], KEYS[1])
"""
)

#: Prune one thread to the checkpoints the caller chose to keep, if no newer one came.
#: KEYS: thread keys, namespaces, one index per namespace, keys to delete...
#: ARGV: n namespaces, then per namespace: its name, the newest id the caller saw ("" if
#: none), n kept ids, kept id... Returns 0, changing nothing, when a namespace's newest
#: checkpoint is no longer the one seen (a put came in between: read again); else 1.
PRUNE = (
    _CHUNKS
    + """
local spaces = tonumber(ARGV[1])
local at = 2
local plans = {}
for s = 1, spaces do
  local index, newest, n = KEYS[2 + s], ARGV[at + 1], tonumber(ARGV[at + 2])
  local last = redis.call('ZRANGE', index, -1, -1)[1] or ''
  if last ~= newest then return 0 end
  local kept = {}
  for k = 1, n do kept[ARGV[at + 2 + k]] = true end
  plans[s] = {index, ARGV[at], newest, kept}
  at = at + 3 + n
end
for _, plan in ipairs(plans) do
  if plan[3] == '' then
    redis.call('SREM', KEYS[2], plan[2])
    redis.call('DEL', plan[1])
  else
    local gone = {}
    for _, id in ipairs(redis.call('ZRANGE', plan[1], 0, -1)) do
      if not plan[4][id] then gone[#gone + 1] = id end
    end
    chunked('ZREM', plan[1], gone, 1, #gone)
  end
end
local first = 3 + spaces
chunked('DEL', nil, KEYS, first, #KEYS)
chunked('SREM', KEYS[1], KEYS, first, #KEYS)
return 1
"""
)

#: Prune one thread to each namespace's newest checkpoint, its writes and its blobs, all in
#: the script, so nothing can come in between. KEYS: thread keys, namespaces, one index per
#: namespace. ARGV: per namespace, in the order of KEYS: its name, the key prefix of its
#: checkpoints and of its writes. Returns 1 when done; 0, changing nothing, when the
#: thread's namespaces are not those given (read them and call again); -1, changing
#: nothing, when a newest checkpoint has DeltaChannel ancestors to keep or no ``blobs``
#: field (stored before it existed), or a namespace has none: then ``PRUNE`` does it.
#: Checkpoint, writes and blob keys are not in KEYS: they share the hash tag (see READ).
PRUNE_LATEST = (
    _PART
    + _CHUNKS
    + """
local spaces = #KEYS - 2
if redis.call('SCARD', KEYS[2]) ~= spaces then return 0 end
for s = 1, spaces do
  if redis.call('SISMEMBER', KEYS[2], ARGV[3 * s - 2]) == 0 then return 0 end
end
local keep = {[KEYS[2]] = true}
for s = 1, spaces do
  local index = KEYS[2 + s]
  local newest = redis.call('ZRANGE', index, -1, -1)[1]
  if not newest then return -1 end
  local checkpoint = ARGV[3 * s - 1] .. part(newest)
  local got = redis.call('HMGET', checkpoint, 'blobs', 'replays')
  if not got[1] or got[2] then return -1 end
  keep[index], keep[checkpoint], keep[ARGV[3 * s] .. part(newest)] = true, true, true
  for _, blob in ipairs(cmsgpack.unpack(got[1])) do keep[blob[3]] = true end
end
for s = 1, spaces do redis.call('ZREMRANGEBYRANK', KEYS[2 + s], 0, -2) end
local gone = {}
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if not keep[key] then gone[#gone + 1] = key end
end
chunked('DEL', nil, gone, 1, #gone)
chunked('SREM', KEYS[1], gone, 1, #gone)
return 1
"""
)
