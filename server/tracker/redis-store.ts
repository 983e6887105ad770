/**
 * A {@link SwarmStore} in Redis, shared by several tracker instances, so that a lookup
 * on any instance sees the holders on every instance.
 *
 * Keys, all under `prefix` (default `ecdn:`):
 *
 * | key               | type   | content                                                              |
 * | ----------------- | ------ | -------------------------------------------------------------------- |
 * | `s:<hash>`        | hash   | peer ID -> `<1 or 0: complete><instance ID>`; field `#` = seeders     |
 * | `peers`           | hash   | peer ID -> `<swarms held>\|<ip>\|<country>` (one address per peer)    |
 * | `i:<instance>`    | set    | `<hash><peer ID>` of every entry the instance owns: what a sweep reads |
 * | `alive:<instance>`| string | present while the instance heartbeats (TTL half the timeout)         |
 * | `instances`       | set    | instance IDs that may still own entries                              |
 * | `stats`           | hash   | `swarms`, `entries`: counters for {@link StoreStats}                 |
 * | `changed`         | channel| `<instance ID or *> <hash> [<hash>…]`: the swarms a script changed   |
 * | `at`              | hash   | peer ID -> instance holding its PeerServer (signaling) connection     |
 * | `ai:<instance>`   | set    | peer IDs of the instance's signaling connections: what a sweep reads |
 * | `signal:<instance>`| channel| `<peer ID> <PeerJS message>` for a signaling connection there       |
 *
 * Every change runs in a Lua script, so it is atomic. The announces of one event-loop
 * turn go to Redis together, in one call of the add script (up to {@link ADD_BATCH}),
 * which also returns each swarm's counts: a busy instance makes one request per turn,
 * not two per announce. An entry belongs to the
 * instance whose connection announced it: `remove` and `removePeer` only remove this
 * instance's own entries, so a peer that reconnected to another instance is not
 * removed when the old instance notices its old connection died. A swarm with no
 * holder left is deleted in the same script.
 *
 * Liveness: each instance sets `alive:<id>` every sixth of `heartbeatTimeoutMs`
 * with a TTL of half of it, and every quarter of it looks for instances whose key
 * is gone. Their entries are removed (in batches, from their `i:` index, so a
 * sweep costs what the dead instance held) by whichever live instance gets there
 * first: an instance killed without a goodbye leaves every swarm within 3/4 of the
 * timeout. On {@link RedisStore.close} an instance removes what is left of its
 * own entries at once.
 *
 * Watches across instances: the swarms each script changed are published on `changed`,
 * in one message; every instance subscribes and hands the hashes changed elsewhere to
 * {@link RedisStore.onChange}.
 *
 * Signaling across instances (see server/signaling-relay.ts): `at` says which instance
 * holds each peer's PeerServer connection, and a PeerJS message for a peer connected
 * elsewhere is published on that instance's `signal:` channel. A dead instance's
 * entries in `at` are swept with its swarm entries.
 *
 * Redis trouble: {@link RedisStore.start} does not wait for Redis; the client retries
 * with backoff. Commands are not queued while Redis is away (`disableOfflineQueue`):
 * a method waits up to `unavailableWaitMs` for Redis to come back, then rejects with
 * {@link StoreUnavailableError}, so that a tracker request fails with a clear code
 * instead of hanging. A Redis that keeps the connection open but answers nothing for
 * `unavailableWaitMs` (stopped, or the network gone quiet) is treated the same way: the
 * store drops the connection, which rejects what was waiting, and reconnects (see
 * {@link RedisStore.checkStall}). Each time Redis comes back (after a restart it is empty) the
 * store re-writes the entries of this instance's connected peers, as listed by
 * {@link RedisStore.setRebuild}, removes those of its peers that left meanwhile,
 * and only then answers again. For a short while after that, while the other
 * instances re-write theirs, a swarm read without seeders is read again before it is
 * answered, so that no lookup says "dead" for a file whose seeders stayed connected.
 */
import { EventEmitter } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createClient, type RedisClientType } from '@redis/client';
import createDebug from 'debug';
import { DEFAULT_HEARTBEAT_TIMEOUT_MS, type SwarmCounts } from './protocol.js';
import {
  StoreUnavailableError,
  type PeerInfo,
  type PeerRecord,
  type StoreEntry,
  type StoreHealth,
  type StoreStats,
  type SwarmStore,
  type SwarmUpdate,
} from './store.js';

const debug = createDebug('ecdn:redis-store');

/** Entries a sweep script removes at once, so that Redis never blocks for long. */
const SWEEP_BATCH = 1000;
/** Peer IDs per HMGET inside the list script (Lua's unpack has a stack limit). */
const LIST_CHUNK = 500;
/** How long {@link RedisStore.close} waits for its goodbye before cutting the connections. */
const GOODBYE_TIMEOUT_MS = 2000;
/** Longest wait between two reconnection attempts (plus up to 100 ms of jitter). */
const MAX_RECONNECT_DELAY_MS = 1000;
/**
 * After Redis came back, how long a swarm without seeders is read again before being
 * answered: every instance reconnects within {@link MAX_RECONNECT_DELAY_MS} and then
 * re-writes its peers' entries.
 */
const SETTLE_MS = MAX_RECONNECT_DELAY_MS + 1000;
/** How often a swarm read without seeders is read again while settling. */
const SETTLE_POLL_MS = 100;
/** Entries re-written at once by a rebuild. */
const REBUILD_BATCH = 200;
/** Announces per add script call at most, so that one call never holds Redis for long. */
const ADD_BATCH = 200;
/** Most lookups one call of the list script answers. Fewer than announces: a reply carries whole swarms. */
const LIST_BATCH = 64;

export interface RedisStoreOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…`. */
  url: string;
  /**
   * An instance that stops heartbeating for this long (ms) is taken for dead, and its
   * entries are removed by the others. Default 30,000, the tracker's own default.
   */
  heartbeatTimeoutMs?: number | undefined;
  /** Prefix of every key and channel, so that several deployments can share one Redis. Default `ecdn:`. */
  prefix?: string | undefined;
  /** This instance's ID. Default 12 random hexadecimal characters. */
  instanceId?: string | undefined;
  /**
   * How long (ms) a method waits for an unreachable Redis to come back before rejecting
   * with {@link StoreUnavailableError}. Default 5,000: half a client's request timeout,
   * so that a lookup made during a Redis restart is answered late rather than failed.
   * Also how long Redis may leave every command unanswered, its connection open, before
   * the store takes it for unreachable and reconnects.
   */
  unavailableWaitMs?: number | undefined;
}

/** One announce, as the add script takes it. */
interface AddArgs {
  hash: string;
  peerId: string;
  complete: boolean;
  /** `|ip|country`, as the `peers` hash keeps it after the count of swarms held. */
  address: string;
}

/** A lookup waiting for its event-loop turn's script call. */
interface PendingList {
  hash: string;
  resolve(records: PeerRecord[]): void;
  reject(err: unknown): void;
}

/** An announce waiting for its event-loop turn's script call. */
interface PendingAdd extends AddArgs {
  resolve(update: SwarmUpdate | Promise<SwarmUpdate>): void;
  reject(err: unknown): void;
}

interface RedisStoreEvents {
  /** Recoverable trouble: Redis unreachable, a sweep that failed, this instance taken for dead. */
  warning: [Error];
}

// Shared by the scripts that remove entries. `P` is the key prefix (ARGV[1]).
const LUA_DROP = `
local P = ARGV[1]
local function unhold(id)
  local rec = redis.call('HGET', P .. 'peers', id)
  if not rec then return end
  local held, rest = string.match(rec, '^(%d+)(|.*)$')
  held = tonumber(held) - 1
  if held <= 0 then redis.call('HDEL', P .. 'peers', id) else redis.call('HSET', P .. 'peers', id, held .. rest) end
end
local function drop(hash, id, inst)
  local key = P .. 's:' .. hash
  local v = redis.call('HGET', key, id)
  if not v or string.sub(v, 2) ~= inst then return false end
  redis.call('HDEL', key, id)
  if string.sub(v, 1, 1) == '1' then redis.call('HINCRBY', key, '#', -1) end
  if redis.call('HLEN', key) <= 1 then
    redis.call('DEL', key)
    redis.call('HINCRBY', P .. 'stats', 'swarms', -1)
  end
  redis.call('HINCRBY', P .. 'stats', 'entries', -1)
  redis.call('SREM', P .. 'i:' .. inst, hash .. id)
  unhold(id)
  return true
end
`;

/**
 * ARGV: prefix, instance, then for each announce: hash, peer ID, complete (1/0),
 * `|ip|country`. Returns for each: 1 when its swarm changed (0 otherwise), then the
 * swarm's seeders and leechers. The announces of one event-loop turn arrive together
 * (see {@link RedisStore.add}); their changed hashes go out in one message.
 */
const LUA_ADD = `
local P, inst = ARGV[1], ARGV[2]
local function add(hash, id, c, addr)
  local key = P .. 's:' .. hash
  local rec = redis.call('HGET', P .. 'peers', id)
  local held = rec and tonumber(string.match(rec, '^(%d+)')) or 0
  local v = redis.call('HGET', key, id)
  local changed, s = 1, nil
  if v then
    local owner = string.sub(v, 2)
    redis.call('HSET', P .. 'peers', id, held .. addr)
    if owner ~= inst then
      redis.call('SREM', P .. 'i:' .. owner, hash .. id)
      redis.call('SADD', P .. 'i:' .. inst, hash .. id)
    end
    if string.sub(v, 1, 1) == c then
      changed = 0
      if owner ~= inst then redis.call('HSET', key, id, c .. inst) end
    else
      redis.call('HSET', key, id, c .. inst)
      s = redis.call('HINCRBY', key, '#', c == '1' and 1 or -1)
    end
  else
    if redis.call('HSETNX', key, '#', 0) == 1 then redis.call('HINCRBY', P .. 'stats', 'swarms', 1) end
    redis.call('HSET', key, id, c .. inst)
    if c == '1' then s = redis.call('HINCRBY', key, '#', 1) end
    redis.call('HINCRBY', P .. 'stats', 'entries', 1)
    redis.call('SADD', P .. 'i:' .. inst, hash .. id)
    redis.call('HSET', P .. 'peers', id, (held + 1) .. addr)
  end
  s = s or tonumber(redis.call('HGET', key, '#')) or 0
  return changed, s, redis.call('HLEN', key) - 1 - s
end
local out, changed = {}, {}
for i = 3, #ARGV, 4 do
  local ch, s, l = add(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
  out[#out + 1] = ch
  out[#out + 1] = s
  out[#out + 1] = l
  if ch == 1 then changed[#changed + 1] = ARGV[i] end
end
if #changed > 0 then redis.call('PUBLISH', P .. 'changed', inst .. ' ' .. table.concat(changed, ' ')) end
return out
`;

/** ARGV: prefix, instance, peer ID, hash… Returns the hashes it removed the peer from. */
const LUA_REMOVE = `${LUA_DROP}
local inst, id = ARGV[2], ARGV[3]
local removed = {}
for i = 4, #ARGV do
  if drop(ARGV[i], id, inst) then removed[#removed + 1] = ARGV[i] end
end
if #removed > 0 then redis.call('PUBLISH', P .. 'changed', inst .. ' ' .. table.concat(removed, ' ')) end
return removed
`;

/** ARGV: prefix, instance, peer ID, hash. Returns 1 when it removed the peer (0 otherwise), then the seeders and leechers left. */
const LUA_WITHDRAW = `${LUA_DROP}
local inst, id, hash = ARGV[2], ARGV[3], ARGV[4]
local changed = 0
if drop(hash, id, inst) then
  changed = 1
  redis.call('PUBLISH', P .. 'changed', inst .. ' ' .. hash)
end
local key = P .. 's:' .. hash
local n = redis.call('HLEN', key)
if n == 0 then return {changed, 0, 0} end
local s = tonumber(redis.call('HGET', key, '#')) or 0
return {changed, s, n - 1 - s}
`;

/**
 * ARGV: prefix, dead instance, batch size. Removes up to a batch of the instance's
 * entries, unless it is alive after all. Returns -1 (alive), 0 (none left) or 1 (more).
 */
const LUA_SWEEP = `${LUA_DROP}
local dead = ARGV[2]
if redis.call('EXISTS', P .. 'alive:' .. dead) == 1 then return -1 end
local idx = P .. 'i:' .. dead
local seen, changed = {}, {}
for _, m in ipairs(redis.call('SPOP', idx, tonumber(ARGV[3]))) do
  local hash = string.sub(m, 1, 64)
  if drop(hash, string.sub(m, 65), dead) and not seen[hash] then
    seen[hash] = true
    changed[#changed + 1] = hash
  end
end
if #changed > 0 then redis.call('PUBLISH', P .. 'changed', '* ' .. table.concat(changed, ' ')) end
if redis.call('SCARD', idx) > 0 then return 1 end
local at = P .. 'ai:' .. dead
for _, id in ipairs(redis.call('SPOP', at, tonumber(ARGV[3]))) do
  if redis.call('HGET', P .. 'at', id) == dead then redis.call('HDEL', P .. 'at', id) end
end
if redis.call('SCARD', at) > 0 then return 1 end
redis.call('SREM', P .. 'instances', dead)
return 0
`;

/** ARGV: prefix, instance, peer ID. The peer's signaling connection is on this instance now. */
const LUA_ATTACH = `
local P, inst, id = ARGV[1], ARGV[2], ARGV[3]
local old = redis.call('HGET', P .. 'at', id)
if old and old ~= inst then redis.call('SREM', P .. 'ai:' .. old, id) end
redis.call('HSET', P .. 'at', id, inst)
redis.call('SADD', P .. 'ai:' .. inst, id)
`;

/** ARGV: prefix, instance, peer ID… Forgets the peers' signaling connections, where this instance holds them. */
const LUA_DETACH = `
local P, inst = ARGV[1], ARGV[2]
for i = 3, #ARGV do
  if redis.call('HGET', P .. 'at', ARGV[i]) == inst then redis.call('HDEL', P .. 'at', ARGV[i]) end
  redis.call('SREM', P .. 'ai:' .. inst, ARGV[i])
end
`;

/** ARGV: prefix, peer ID, message. Publishes to the instance holding the peer's connection; returns receivers (0: none). */
const LUA_SIGNAL = `
local P, id = ARGV[1], ARGV[2]
local inst = redis.call('HGET', P .. 'at', id)
if not inst then return 0 end
return redis.call('PUBLISH', P .. 'signal:' .. inst, id .. ' ' .. ARGV[3])
`;

/**
 * ARGV: prefix, hashes. Returns, for each hash, its number of holders and then each
 * one's peer ID, complete flag and `held|ip|country`.
 */
const LUA_LIST = `
local P = ARGV[1]
local out = {}
for h = 2, #ARGV do
  local all = redis.call('HGETALL', P .. 's:' .. ARGV[h])
  local ids, flags = {}, {}
  for i = 1, #all, 2 do
    if all[i] ~= '#' then
      ids[#ids + 1] = all[i]
      flags[#flags + 1] = string.sub(all[i + 1], 1, 1)
    end
  end
  out[#out + 1] = #ids
  for from = 1, #ids, ${LIST_CHUNK} do
    local to = math.min(from + ${LIST_CHUNK} - 1, #ids)
    local recs = redis.call('HMGET', P .. 'peers', unpack(ids, from, to))
    for i = from, to do
      out[#out + 1] = ids[i]
      out[#out + 1] = flags[i]
      out[#out + 1] = recs[i - from + 1] or ''
    end
  end
end
return out
`;

/** ARGV: prefix, hash. Returns seeders, leechers. */
const LUA_COUNTS = `
local key = ARGV[1] .. 's:' .. ARGV[2]
local n = redis.call('HLEN', key)
if n == 0 then return {0, 0} end
local s = tonumber(redis.call('HGET', key, '#')) or 0
return {s, n - 1 - s}
`;

/** ARGV: prefix. Returns swarms, peers, entries. */
const LUA_STATS = `
local P = ARGV[1]
local c = redis.call('HMGET', P .. 'stats', 'swarms', 'entries')
return {tonumber(c[1]) or 0, redis.call('HLEN', P .. 'peers'), tonumber(c[2]) or 0}
`;

/** Every script by its SHA1, to send its source when Redis lost its script cache. */
const SCRIPTS = new Map<string, Script>();

class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
    SCRIPTS.set(this.sha, this);
  }
}

const ADD = new Script(LUA_ADD);
const REMOVE = new Script(LUA_REMOVE);
const WITHDRAW = new Script(LUA_WITHDRAW);
const SWEEP = new Script(LUA_SWEEP);
const LIST = new Script(LUA_LIST);
const COUNTS = new Script(LUA_COUNTS);
const STATS = new Script(LUA_STATS);
const ATTACH = new Script(LUA_ATTACH);
const DETACH = new Script(LUA_DETACH);
const SIGNAL = new Script(LUA_SIGNAL);

/**
 * The {@link SwarmStore} for several tracker instances. Call {@link RedisStore.start}
 * before handing it to a tracker, and {@link RedisStore.close} after the tracker closed.
 *
 * @fires warning - recoverable trouble
 */
export class RedisStore extends EventEmitter<RedisStoreEvents> implements SwarmStore {
  /** True once {@link RedisStore.close} was called. */
  destroyed = false;
  /** This instance's ID, carried by each entry it owns. */
  readonly instanceId: string;

  private readonly prefix: string;
  private readonly heartbeatTimeoutMs: number;
  private readonly unavailableWaitMs: number;
  private state: 'unreachable' | 'rebuilding' | 'up' = 'unreachable';
  /** Bumped by each recovery, so that a recovery overtaken by a newer one stops. */
  private generation = 0;
  private everUp = false;
  private rebuilds = 0;
  private settledAt = 0;
  private rebuildEntries: (() => Iterable<StoreEntry>) | undefined;
  private readonly waiters = new Set<() => void>();
  private resolveFirstUp!: () => void;
  private readonly firstUp = new Promise<void>((resolve) => {
    this.resolveFirstUp = resolve;
  });
  /** The last connection error reported, so that a reconnect loop reports each error once. */
  private lastClientError: string | undefined;
  private readonly client: RedisClientType;
  private readonly subscriber: RedisClientType;
  private readonly changeListeners = new Set<(hash: string) => void>();
  private readonly signalListeners = new Set<(peerId: string, message: string) => void>();
  private signalingPeers: (() => Iterable<string>) | undefined;
  private timers: NodeJS.Timeout[] = [];
  /**
   * Scripts sent and not answered yet, and when Redis last answered one (or one was
   * sent with none in flight), by `performance.now()`. node-redis's own per-command
   * timeout is off (see the constructor): instead, one timer checks these, and drops
   * the connection when Redis answered nothing for `unavailableWaitMs` while scripts
   * waited. node-redis then rejects them, and the store reconnects and re-writes its
   * entries as after any drop.
   */
  private inFlight = 0;
  private progressAt = 0;
  /** Announces waiting for this turn's script call (see {@link RedisStore.add}). */
  private adds: PendingAdd[] = [];
  private lists: PendingList[] = [];
  private sweeping = false;
  private started = false;

  constructor(options: RedisStoreOptions) {
    super();
    this.prefix = options.prefix ?? 'ecdn:';
    this.instanceId = options.instanceId ?? randomBytes(6).toString('hex');
    if (!/^[\w-]+$/.test(this.instanceId)) throw new RangeError('instanceId must be letters, digits, _ and - only');
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
    this.unavailableWaitMs = options.unavailableWaitMs ?? 5000;
    this.client = createClient({
      url: options.url,
      // Fail at once while disconnected: the store decides how long to wait (see whenUp).
      disableOfflineQueue: true,
      // No per-command timeout. node-redis's default (5 s) costs one AbortSignal.timeout per
      // command, which was the largest single cost of an announce in the tracker-redis bench,
      // and it only covers a command still waiting to be written, not one waiting for its
      // answer. A command whose connection drops is rejected by node-redis (the offline queue
      // is off); one that Redis never answers is bounded by checkStall, one timer for all.
      commandOptions: { timeout: 0 },
      socket: {
        connectTimeout: 5000,
        reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS) + Math.random() * 100,
      },
    }) as RedisClientType;
    // The subscriber's SUBSCRIBE may wait for the connection; node-redis subscribes again after each reconnect.
    this.subscriber = this.client.duplicate({ disableOfflineQueue: false }) as RedisClientType;
    // node-redis emits 'error' on each failed reconnect; an unheard 'error' would crash the process.
    const onError = (err: Error) => {
      if (this.destroyed || err.message === this.lastClientError) return;
      this.lastClientError = err.message;
      this.warn(`Redis: ${err.message}`, err);
    };
    this.client.on('error', (err: Error) => {
      this.lost();
      onError(err);
    });
    this.client.on('end', () => this.lost());
    this.client.on('reconnecting', () => this.lost());
    this.subscriber.on('error', onError);
    this.client.on('ready', () => {
      this.lastClientError = undefined;
      void this.recover();
    });
  }

  /**
   * Starts connecting (retrying with backoff for as long as it takes), subscribes to
   * changes and starts heartbeating. Resolves the first time Redis answers; a server
   * need not wait for that: {@link RedisStore.health} says meanwhile.
   */
  start(): Promise<void> {
    if (this.started || this.destroyed) return this.firstUp;
    this.started = true;
    const failed = (err: Error) => {
      if (!this.destroyed) this.warn(`connecting to Redis failed: ${err.message}`, err);
    };
    this.client.connect().catch(failed);
    this.subscriber.connect().catch(failed);
    this.subscriber.subscribe(`${this.prefix}changed`, (message) => this.onMessage(message)).catch(failed);
    this.subscriber.subscribe(this.key(`signal:${this.instanceId}`), (message) => this.onSignalMessage(message)).catch(failed);
    const { heartbeatTimeoutMs: timeout } = this;
    this.timers.push(setInterval(() => void this.heartbeat(), Math.max(10, Math.round(timeout / 6))));
    this.timers.push(setInterval(() => void this.sweep(), Math.max(10, Math.round(timeout / 4))));
    this.timers.push(setInterval(() => this.checkStall(), Math.max(10, Math.round(this.unavailableWaitMs / 4))));
    for (const timer of this.timers) timer.unref();
    debug('instance %s starting', this.instanceId);
    return this.firstUp;
  }

  setRebuild(entries: () => Iterable<StoreEntry>): void {
    this.rebuildEntries = entries;
  }

  health(): StoreHealth {
    const { state, rebuilds } = this;
    return state === 'up' ? { up: true, rebuilds } : { up: false, reason: state, rebuilds };
  }

  /**
   * Stops heartbeating, removes whatever entries this instance still owns (the tracker
   * removed its peers' already if it closed first) and disconnects. Never rejects.
   */
  async close(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    this.changeListeners.clear();
    this.signalListeners.clear();
    for (const wake of [...this.waiters]) wake();
    if (!this.started) return;
    if (this.state !== 'up') {
      // Nothing to say goodbye to; stop the reconnection attempts.
      for (const client of [this.subscriber, this.client]) if (client.isOpen) client.destroy();
      return;
    }
    const goodbye = async () => {
      await this.client.del(this.key(`alive:${this.instanceId}`));
      while ((await this.sweepInstance(this.instanceId)) === 1);
      await Promise.all([this.subscriber.close(), this.client.close()]);
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        goodbye(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('Redis did not answer the goodbye in time')), GOODBYE_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      this.warn(`closing: ${(err as Error).message}`, err);
    } finally {
      clearTimeout(timer);
      for (const client of [this.subscriber, this.client]) if (client.isOpen) client.destroy();
    }
  }

  /**
   * Queued, and sent with the other announces of this event-loop turn in one script
   * call: a busy instance makes one request per turn rather than one per announce.
   */
  add(hash: string, peer: PeerInfo, complete: boolean): Promise<SwarmUpdate> {
    return new Promise((resolve, reject) => {
      if (this.adds.length === 0) setImmediate(this.flushAdds);
      this.adds.push({ hash, peerId: peer.peerId, complete, address: address(peer), resolve, reject });
    });
  }

  async remove(hash: string, peerId: string): Promise<SwarmUpdate> {
    const [changed, seeders, leechers] = (await this.request(this.command(WITHDRAW, peerId, hash))) as [number, number, number];
    return this.updated(hash, changed, seeders, leechers);
  }

  async removePeer(peerId: string, hashes: Iterable<string>): Promise<string[]> {
    const list = [...hashes];
    if (list.length === 0) return [];
    return (await this.request(this.command(REMOVE, peerId, ...list))) as string[];
  }

  async list(hash: string): Promise<PeerRecord[]> {
    let records = await this.listNow(hash);
    while (!records.some((record) => record.complete) && (await this.settling())) records = await this.listNow(hash);
    return records;
  }

  async counts(hash: string): Promise<SwarmCounts> {
    let counts = await this.countsNow(hash);
    while (counts.seeders === 0 && (await this.settling())) counts = await this.countsNow(hash);
    return counts;
  }

  async stats(): Promise<StoreStats> {
    const [swarms, peers, entries] = (await this.request(this.readCommand(STATS))) as [number, number, number];
    return { swarms, peers, entries };
  }

  onChange(listener: (hash: string) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /**
   * Records that `peerId`'s PeerServer connection is on this instance, so that other
   * instances forward its signaling here. Rejects at once while Redis is away: the
   * rebuild when it returns records every connection listed by {@link setSignalingRebuild}.
   */
  async attachSignaling(peerId: string): Promise<void> {
    await this.ifUp(this.command(ATTACH, peerId));
  }

  /** Forgets `peerId`'s PeerServer connection, unless it has moved to another instance meanwhile. */
  async detachSignaling(peerId: string): Promise<void> {
    await this.ifUp(this.command(DETACH, peerId));
  }

  /**
   * Hands a PeerJS message to the instance holding `peerId`'s PeerServer connection.
   * Resolves false when no live instance holds one; rejects at once while Redis is away.
   */
  async sendSignal(peerId: string, message: string): Promise<boolean> {
    return ((await this.ifUp(this.readCommand(SIGNAL, peerId, message))) as number) > 0;
  }

  /** Calls `listener` with each PeerJS message another instance sent to a connection on this one. */
  onSignal(listener: (peerId: string, message: string) => void): () => void {
    this.signalListeners.add(listener);
    return () => this.signalListeners.delete(listener);
  }

  /** `peers` lists this instance's PeerServer connections, which a rebuild records again. */
  setSignalingRebuild(peers: () => Iterable<string>): void {
    this.signalingPeers = peers;
  }

  // -------------------------------------------------------------------------

  private async countsNow(hash: string): Promise<SwarmCounts> {
    const [seeders, leechers] = (await this.request(this.readCommand(COUNTS, hash))) as [number, number];
    return { seeders, leechers };
  }

  /** Queued, and read with the other lookups of this event-loop turn in one script call, as announces are. */
  private listNow(hash: string): Promise<PeerRecord[]> {
    return new Promise((resolve, reject) => {
      if (this.lists.length === 0) setImmediate(this.flushLists);
      this.lists.push({ hash, resolve, reject });
    });
  }

  /** Sends the queued lookups, in script calls of up to {@link LIST_BATCH}, and answers each. Bound: a `setImmediate` callback. */
  private readonly flushLists = (): void => {
    const queued = this.lists;
    this.lists = [];
    for (let from = 0; from < queued.length; from += LIST_BATCH) {
      const batch = queued.slice(from, from + LIST_BATCH);
      this.request(this.readCommand(LIST, ...batch.map((pending) => pending.hash))).then(
        (reply) => {
          const flat = reply as Array<string | number>;
          let at = 0;
          for (const { resolve } of batch) {
            const holders = flat[at] as number;
            resolve(listed(flat, at + 1, holders));
            at += 1 + 3 * holders;
          }
        },
        (err: unknown) => {
          for (const { reject } of batch) reject(err);
        },
      );
    }
  };

  /** Sends the queued announces, in script calls of up to {@link ADD_BATCH}, and answers each. Bound: a `setImmediate` callback. */
  private readonly flushAdds = (): void => {
    const queued = this.adds;
    this.adds = [];
    for (let from = 0; from < queued.length; from += ADD_BATCH) {
      const batch = queued.slice(from, from + ADD_BATCH);
      this.request(this.addCommand(batch)).then(
        (reply) => {
          const flat = reply as number[];
          for (let i = 0; i < batch.length; i++) {
            const { hash, resolve } = batch[i]!;
            resolve(this.updated(hash, flat[3 * i]!, flat[3 * i + 1]!, flat[3 * i + 2]!));
          }
        },
        (err: unknown) => {
          for (const { reject } of batch) reject(err);
        },
      );
    }
  };

  /** The add script's command for `entries`. */
  private addCommand(entries: AddArgs[]): string[] {
    const command = ['EVALSHA', ADD.sha, '0', this.prefix, this.instanceId];
    for (const { hash, peerId, complete, address } of entries) command.push(hash, peerId, complete ? '1' : '0', address);
    return command;
  }

  /** What `add` and `remove` resolve, from their script's reply. */
  private updated(hash: string, changed: number, seeders: number, leechers: number): SwarmUpdate | Promise<SwarmUpdate> {
    // No seeders right after Redis came back: the other instances may still be re-writing theirs.
    if (seeders === 0 && this.settledAt > Date.now()) {
      return this.counts(hash).then((counts) => ({ changed: changed === 1, ...counts }));
    }
    return { changed: changed === 1, seeders, leechers };
  }

  /**
   * Runs a script command once Redis answers, and again if the connection drops under
   * it (every script is safe to run twice), for up to `unavailableWaitMs` from the call;
   * then rejects with {@link StoreUnavailableError}.
   */
  private async request(command: string[]): Promise<unknown> {
    const deadline = Date.now() + this.unavailableWaitMs;
    for (;;) {
      // Up, the common case: no wait (nor a promise to wait on).
      if (this.state !== 'up' || this.destroyed) await this.whenUp(deadline);
      try {
        return await this.evalScript(command);
      } catch (err) {
        if (this.state === 'up' && this.client.isReady) throw err;
      }
    }
  }

  /** Runs a script command now if Redis answers; signaling cannot wait for it, and has a fallback. */
  private ifUp(command: string[]): Promise<unknown> {
    if (this.state !== 'up' || this.destroyed) return Promise.reject(new StoreUnavailableError());
    return this.evalScript(command);
  }

  /** Resolves once the store is up; rejects with {@link StoreUnavailableError} at `deadline`. */
  private whenUp(deadline: number): Promise<void> {
    if (this.destroyed) return Promise.reject(new StoreUnavailableError('The swarm store is closed.'));
    if (this.state === 'up') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        if (this.state === 'up') resolve();
        else reject(new StoreUnavailableError(this.destroyed ? 'The swarm store is closed.' : undefined));
      };
      const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
      this.waiters.add(wake);
    });
  }

  /**
   * True (after a short wait) while Redis came back recently and other instances may
   * still be re-writing their entries: a swarm without seeders is worth reading again.
   */
  private async settling(): Promise<boolean> {
    const wait = this.settledAt - Date.now();
    if (wait <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(wait, SETTLE_POLL_MS)));
    return true;
  }

  /** The connection to Redis dropped (or never came up). */
  private lost(): void {
    if (this.state === 'unreachable') return;
    this.state = 'unreachable';
    this.generation++;
    debug('Redis unreachable');
  }

  /**
   * Redis answers (again): re-writes this instance's entries (Redis may have restarted
   * empty, or other instances may have swept them), then serves.
   */
  private async recover(): Promise<void> {
    if (this.destroyed) return;
    const generation = ++this.generation;
    const again = this.everUp;
    this.state = 'rebuilding';
    try {
      await this.rebuild();
      if (generation !== this.generation || this.destroyed) return;
      await this.beat();
      if (generation !== this.generation || this.destroyed) return;
    } catch (err) {
      if (generation !== this.generation || this.destroyed) return;
      this.warn(`re-writing this instance's entries failed: ${(err as Error).message}`, err);
      this.state = 'unreachable';
      // Not a dropped connection (that brings a new 'ready'): try again shortly.
      setTimeout(() => {
        if (this.client.isReady && this.state === 'unreachable' && generation === this.generation) void this.recover();
      }, 1000).unref();
      return;
    }
    if (again) {
      this.rebuilds++;
      this.settledAt = Date.now() + SETTLE_MS;
    }
    this.state = 'up';
    this.everUp = true;
    debug('Redis %s', again ? 'back, entries re-written' : 'up');
    for (const wake of [...this.waiters]) wake();
    this.resolveFirstUp();
  }

  /** Writes every entry of this instance's connected peers, and removes its entries of peers that left. */
  private async rebuild(): Promise<void> {
    const own = new Set<string>();
    let batch: AddArgs[] = [];
    for (const { hash, peer, complete } of this.rebuildEntries?.() ?? []) {
      own.add(hash + peer.peerId);
      batch.push({ hash, peerId: peer.peerId, complete, address: address(peer) });
      if (batch.length >= ADD_BATCH) {
        await this.evalScript(this.addCommand(batch));
        batch = [];
      }
    }
    if (batch.length > 0) await this.evalScript(this.addCommand(batch));
    // Peers that left while Redis was away: their removal failed then.
    const stale = new Map<string, string[]>();
    for (const member of await this.client.sMembers(this.key(`i:${this.instanceId}`))) {
      if (own.has(member)) continue;
      const peerId = member.slice(64);
      stale.set(peerId, [...(stale.get(peerId) ?? []), member.slice(0, 64)]);
    }
    await Promise.all([...stale].map(([peerId, hashes]) => this.evalScript(this.command(REMOVE, peerId, ...hashes))));
    debug('re-wrote %d entries, removed %d stale peers', own.size, stale.size);
    await this.rebuildSignaling();
  }

  /** Records this instance's PeerServer connections again, and forgets those that closed meanwhile. */
  private async rebuildSignaling(): Promise<void> {
    const connected = new Set(this.signalingPeers?.() ?? []);
    let batch: Array<Promise<unknown>> = [];
    for (const peerId of connected) {
      batch.push(this.evalScript(this.command(ATTACH, peerId)));
      if (batch.length >= REBUILD_BATCH) {
        await Promise.all(batch);
        batch = [];
      }
    }
    await Promise.all(batch);
    const gone = (await this.client.sMembers(this.key(`ai:${this.instanceId}`))).filter((id) => !connected.has(id));
    for (let i = 0; i < gone.length; i += REBUILD_BATCH) await this.evalScript(this.command(DETACH, ...gone.slice(i, i + REBUILD_BATCH)));
  }

  /** A `changed` message: `<instance or *> <hash> [<hash>…]`. */
  private onMessage(message: string): void {
    const space = message.indexOf(' ');
    // This instance's own changes were made through its methods: its tracker knows of them.
    if (space < 0 || (space === this.instanceId.length && message.startsWith(this.instanceId))) return;
    for (let from = space + 1; from < message.length; ) {
      let to = message.indexOf(' ', from);
      if (to < 0) to = message.length;
      const hash = message.slice(from, to);
      for (const listener of this.changeListeners) listener(hash);
      from = to + 1;
    }
  }

  private onSignalMessage(message: string): void {
    const space = message.indexOf(' ');
    if (space < 0) return;
    const peerId = message.slice(0, space);
    const payload = message.slice(space + 1);
    for (const listener of this.signalListeners) listener(peerId, payload);
  }

  /** Refreshes this instance's liveness key, and re-writes its entries when it had expired. */
  private async heartbeat(): Promise<void> {
    if (this.destroyed || this.state !== 'up') return;
    const generation = this.generation;
    try {
      const previous = await this.beat();
      if (previous === null && generation === this.generation && this.state === 'up') {
        // Stalled for longer than the timeout: other instances may have swept this one's entries.
        debug('liveness key had expired: re-writing the entries');
        void this.recover();
      }
    } catch (err) {
      if (this.state === 'up' && this.client.isReady) this.warn(`heartbeat failed: ${(err as Error).message}`, err);
    }
  }

  /** Sets this instance's liveness key; resolves its previous value (null when it had expired). */
  private async beat(): Promise<unknown> {
    const ttl = Math.max(1, Math.round(this.heartbeatTimeoutMs / 2));
    const [previous] = await this.client
      .multi()
      .set(this.key(`alive:${this.instanceId}`), '1', { expiration: { type: 'PX', value: ttl }, GET: true })
      .sAdd(this.key('instances'), this.instanceId)
      .exec();
    return previous;
  }

  /** Removes the entries of every instance whose liveness key is gone. */
  private async sweep(): Promise<void> {
    if (this.destroyed || this.sweeping || this.state !== 'up') return;
    this.sweeping = true;
    try {
      const instances = await this.client.sMembers(this.key('instances'));
      const others = instances.filter((id) => id !== this.instanceId);
      if (others.length === 0) return;
      const alive = await this.client.exists(others.map((id) => this.key(`alive:${id}`)));
      if (alive === others.length) return;
      for (const id of others) {
        if (this.destroyed) return;
        let result: number;
        do result = await this.sweepInstance(id);
        while (result === 1 && !this.destroyed);
        if (result === 0) debug('swept the entries of dead instance %s', id);
      }
    } catch (err) {
      if (this.state === 'up' && this.client.isReady) this.warn(`sweeping dead instances failed: ${(err as Error).message}`, err);
    } finally {
      this.sweeping = false;
    }
  }

  private async sweepInstance(id: string): Promise<number> {
    return (await this.evalScript(['EVALSHA', SWEEP.sha, '0', this.prefix, id, String(SWEEP_BATCH)])) as number;
  }

  /** The command of a script that changes entries of this instance: ARGV = prefix, instance, `args`. */
  private command(script: Script, ...args: string[]): string[] {
    return ['EVALSHA', script.sha, '0', this.prefix, this.instanceId, ...args];
  }

  /** The command of a script that reads, or needs no instance: ARGV = prefix, `args`. */
  private readCommand(script: Script, ...args: string[]): string[] {
    return ['EVALSHA', script.sha, '0', this.prefix, ...args];
  }

  /** Sends `EVALSHA <sha> 0 …`, or the script's source when Redis does not have it cached. */
  private async evalScript(command: string[]): Promise<unknown> {
    if (this.inFlight++ === 0) this.progressAt = performance.now();
    try {
      return await this.client.sendCommand(command);
    } catch (err) {
      // Redis forgets its script cache when it restarts: send the source, which caches it again.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      const script = SCRIPTS.get(command[1]!);
      if (!script) throw err;
      return await this.client.sendCommand(['EVAL', script.source, ...command.slice(2)]);
    } finally {
      this.inFlight--;
      this.progressAt = performance.now();
    }
  }

  /**
   * Drops the connection when Redis has answered none of the scripts in flight for
   * `unavailableWaitMs`: see {@link RedisStore.inFlight}.
   */
  private checkStall(): void {
    if (this.destroyed || this.inFlight === 0 || !this.client.isOpen) return;
    const quiet = performance.now() - this.progressAt;
    if (quiet < this.unavailableWaitMs) return;
    this.warn(`Redis answered none of ${this.inFlight} commands for ${Math.round(quiet)} ms: reconnecting`);
    // Rejects every command in flight; the store waits for 'ready' and re-writes its entries, as after any drop.
    this.client.destroy();
    this.client.connect().catch((err: Error) => {
      if (!this.destroyed) this.warn(`connecting to Redis failed: ${err.message}`, err);
    });
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  private warn(message: string, cause?: unknown): void {
    debug('warning: %s', message);
    const err = new Error(message, cause === undefined ? undefined : { cause });
    if (this.listenerCount('warning') > 0) this.emit('warning', err);
  }
}

/** The list script's reply, `peer ID, complete flag, held|ip|country, …`, as records. */
/** The `holders` records of the list script's reply from index `from` on. */
function listed(flat: Array<string | number>, from: number, holders: number): PeerRecord[] {
  const records: PeerRecord[] = [];
  for (let i = from; i < from + 3 * holders; i += 3) {
    // `held|ip|country`; empty when the peer's record is missing, which the scripts never leave.
    const [, ip = '', country = ''] = (flat[i + 2] as string).split('|');
    records.push({ peerId: flat[i] as string, ip, country: country || undefined, complete: flat[i + 1] === '1' });
  }
  return records;
}

/** A peer's address as the `peers` hash keeps it, after its count of swarms held: `|ip|country`. */
function address(peer: PeerInfo): string {
  return `|${peer.ip}|${peer.country ?? ''}`;
}
