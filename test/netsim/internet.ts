import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import createDebug from 'debug';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../helpers/chromium.js';
import { startCoturn, type TurnOptions, type TurnService } from './coturn.js';
import { NetsimError } from './errors.js';
import { hasTool, run, runQuietSync } from './shell.js';

const debug = createDebug('ecdn:netsim');

/**
 * How a home reaches the public segment:
 * - `cone`: endpoint-independent mapping (Linux masquerade keeps the source
 *   port) with address-and-port-dependent filtering, like most home routers;
 * - `symmetric`: a new public port per destination (`masquerade random`), like
 *   many mobile carriers; two of these never connect without a relay;
 * - `open`: no router, the host holds a public address itself.
 */
export type NatType = 'cone' | 'symmetric' | 'open';

/** What `internet()` builds. */
export interface InternetOptions {
  /** Home networks by name (lower-case letters and digits, up to 8). */
  homes: Record<string, NatType>;
  /** Start coturn on the public segment: `true`, or options for it. */
  turn?: boolean | TurnOptions;
  /**
   * Homes whose uplink gets delay, jitter or loss, with their starting values.
   * A home named here gets a user-space forwarder (delay-forwarder.py) on its
   * uplink, so that `setPath` can change its delay later; any home can be
   * given loss alone with `setPath`.
   */
  paths?: Record<string, PathOptions>;
}

/**
 * What a home's uplink does to every packet, each way: between the home (its
 * router's wan, or an open host's link) and the public segment. Two homes'
 * settings add up on the path between them.
 */
export interface PathOptions {
  /** One-way delay added each way, in ms (0 to 10,000). */
  delayMs?: number;
  /** Extra random delay each way, up to this many ms; never reorders packets. */
  jitterMs?: number;
  /** Packets dropped each way, in percent (0 to 100, steps of 0.01). */
  lossPercent?: number;
}

/** One home network as built. */
export interface Home {
  readonly name: string;
  readonly nat: NatType;
  /** The namespace of the host, where browsers and `spawn(home)` run. */
  readonly namespace: string;
  /** The NAT router's namespace; null for an `open` home. */
  readonly routerNamespace: string | null;
  /** The host's own address (192.168.x.2, or public for `open`). */
  readonly hostAddress: string;
  /** The address the rest of the internet sees (the router's wan address). */
  readonly publicAddress: string;
}

/**
 * Where a command runs: `'pub'` (the public segment, with coturn), a home's
 * name (its host), or `'<home>/router'` (its NAT router, for `nft`, `conntrack`).
 */
export type Place = string;

/** The public segment's addresses: the first carries servers and the TURN relay. */
export const PUBLIC_ADDRESSES = ['198.18.0.1', '198.18.0.2'] as const;

const HOME_NAME = /^[a-z][a-z0-9]{0,7}$/;
const open = new Set<Internet>();
let runs = 0;

/**
 * Builds a simulated internet from network namespaces on this machine (needs
 * root): a public segment 198.18.0.0/24 and one NAT router plus one host per
 * home. Close it with `close()`; a process exit closes whatever is left open.
 *
 * @example
 * const net = await internet({ homes: { a: 'cone', b: 'symmetric' }, turn: true });
 * const browser = await net.launchChromium('a');
 */
export async function internet(options: InternetOptions): Promise<Internet> {
  const names = Object.keys(options.homes);
  if (names.length === 0) throw new NetsimError('BAD_OPTIONS', 'internet() needs at least one home');
  if (names.length > 200) throw new NetsimError('BAD_OPTIONS', 'at most 200 homes fit in the public /24');
  for (const name of names) {
    if (!HOME_NAME.test(name) || name === 'pub') {
      throw new NetsimError('BAD_OPTIONS', `home name "${name}": use 1-8 lower-case letters and digits, not "pub"`);
    }
    const nat = options.homes[name];
    if (nat !== 'cone' && nat !== 'symmetric' && nat !== 'open') {
      throw new NetsimError('BAD_OPTIONS', `home "${name}": NAT type must be cone, symmetric or open, not ${String(nat)}`);
    }
  }
  if (process.getuid?.() !== 0) throw new NetsimError('NOT_ROOT', 'test/netsim needs root (network namespaces, nftables, tc)');
  const tools = [
    'ip',
    'tc',
    'ss',
    ...(names.some((n) => options.homes[n] !== 'open') ? ['nft'] : []),
    ...(options.turn ? ['turnserver'] : []),
  ];
  const paths = options.paths ?? {};
  for (const [name, path] of Object.entries(paths)) {
    if (!(name in options.homes)) throw new NetsimError('BAD_OPTIONS', `paths: no home named "${name}"`);
    checkPath(name, path);
  }
  if (Object.keys(paths).length > 0) tools.push(PYTHON, 'nft');
  for (const tool of tools) {
    if (!hasTool(tool)) throw new NetsimError('MISSING_TOOL', `${tool} is not installed (apt-get install -y iproute2 nftables coturn)`);
  }

  sweepStale();
  const net = new Internet(`ecdnsim${process.pid}x${runs++}`, await mkdtemp(join(tmpdir(), 'ecdn-netsim-')));
  open.add(net);
  installExitHook();
  const started = Date.now();
  try {
    await net.build(options);
  } catch (err) {
    await net.close();
    throw err;
  }
  debug('built %s in %d ms', net.id, Date.now() - started);
  return net;
}

/** A simulated internet built by `internet()`. */
export class Internet {
  /** Homes by name. */
  readonly homes: Record<string, Home> = {};
  /** coturn, when started with `turn`; null otherwise. */
  turn: TurnService | null = null;
  /** STUN URLs of coturn on both public addresses; empty without `turn`. */
  stunUrls: string[] = [];
  /** The public segment's namespace. */
  readonly pubNamespace: string;
  /** Set by `close()`. */
  closed = false;

  private readonly namespaces: string[] = [];
  private readonly resolvDirs: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly browsers = new Set<Browser>();
  /** The delay forwarder of each home built with a path. */
  private readonly forwarders = new Map<string, Forwarder>();
  private closing: Promise<void> | null = null;

  /** @internal Use `internet()`. */
  constructor(
    /** The prefix of every namespace this internet owns. */
    readonly id: string,
    private readonly dir: string,
  ) {
    this.pubNamespace = `${id}-pub`;
  }

  /** @internal Builds the topology; `internet()` calls it once. */
  async build(options: InternetOptions): Promise<void> {
    const pub = this.pubNamespace;
    await this.addNamespace(pub);
    // A silent default route: coturn sends to every peer address Chromium asks
    // a permission for, private ones included, and a "Network is unreachable"
    // from that send makes it drop the whole TURN session after about a second.
    await ipBatch(pub, [
      'link add br0 type bridge',
      ...PUBLIC_ADDRESSES.map((address) => `addr add ${address}/24 dev br0`),
      'link set br0 up',
      'link add sink0 type veth peer name sink1',
      'link set sink0 arp off',
      'link set sink0 up',
      'link set sink1 up',
      'route add default dev sink0',
    ]);

    // Homes are independent: build them concurrently, each its own namespaces.
    const paths = options.paths ?? {};
    await Promise.all(Object.entries(options.homes).map(([name, nat], index) => this.buildHome(name, nat, index, name in paths)));
    for (const [name, path] of Object.entries(paths)) await this.setPath(name, path);

    if (options.turn) {
      const coturn = await startCoturn(pub, PUBLIC_ADDRESSES, this.dir, options.turn === true ? {} : options.turn);
      this.children.add(coturn.process);
      this.turn = coturn.service;
      this.stunUrls = PUBLIC_ADDRESSES.map((address) => `stun:${address}:3478`);
    }
  }

  private async buildHome(name: string, nat: NatType, index: number, delayed: boolean): Promise<void> {
    const pub = this.pubNamespace;
    const host = `${this.id}-${name}`;
    const publicAddress = `198.18.0.${10 + index}`;
    const port = `p${index}`;
    await this.addNamespace(host);
    await this.addResolvConf(host);

    if (nat === 'open') {
      if (delayed) await this.startForwarder(name, host, 'eth0', port);
      else await ipBatch(host, [`link add eth0 type veth peer name ${port} netns ${pub}`]);
      await ipBatch(pub, [`link set ${port} master br0`, `link set ${port} up`]);
      await ipBatch(host, [
        `addr add ${publicAddress}/24 dev eth0`,
        'link set eth0 up',
        // Chromium gathers host candidates only on the default route's
        // interface; pub does not forward, so anything off-segment dies there.
        `route add default via ${PUBLIC_ADDRESSES[0]}`,
      ]);
      this.homes[name] = { name, nat, namespace: host, routerNamespace: null, hostAddress: publicAddress, publicAddress };
      return;
    }

    const router = `${this.id}-${name}-r`;
    const lan = `192.168.${index + 1}`;
    await this.addNamespace(router);
    // Both ends of every veth are created inside our namespaces, so nothing
    // ever appears among the machine's own interfaces.
    if (delayed) await this.startForwarder(name, router, 'wan0', port);
    else await ipBatch(router, [`link add wan0 type veth peer name ${port} netns ${pub}`]);
    await ipBatch(router, [`link add lan0 type veth peer name eth0 netns ${host}`]);
    await ipBatch(pub, [`link set ${port} master br0`, `link set ${port} up`]);
    await ipBatch(router, [
      `addr add ${publicAddress}/24 dev wan0`,
      'link set wan0 up',
      `addr add ${lan}.1/24 dev lan0`,
      'link set lan0 up',
      `route add default via ${PUBLIC_ADDRESSES[0]}`,
    ]);
    await ipBatch(host, [`addr add ${lan}.2/24 dev eth0`, 'link set eth0 up', `route add default via ${lan}.1`]);
    await this.sysctl(router, 'net.ipv4.ip_forward', '1');
    // Dropping new inbound flows is also the fix for cone-to-cone hole
    // punching: an early check from the peer, arriving before our host has sent
    // anything, would otherwise be kept by conntrack as an unanswered flow, and
    // the host's own packet to that peer would then be given a new port.
    await run(
      'ip',
      ['netns', 'exec', router, 'nft', '-f', '-'],
      `
      table inet netsim {
        chain postrouting {
          type nat hook postrouting priority srcnat; policy accept;
          oifname "wan0" masquerade${nat === 'symmetric' ? ' random' : ''}
        }
        chain input {
          type filter hook input priority filter; policy accept;
          iifname "wan0" ct state new drop
        }
        chain forward {
          type filter hook forward priority filter; policy accept;
          iifname "wan0" ct state new drop
        }
      }
    `,
    );
    this.homes[name] = { name, nat, namespace: host, routerNamespace: router, hostAddress: `${lan}.2`, publicAddress };
  }

  /**
   * Caps a home's upload (its router's wan egress; the host's own link for an
   * `open` home) at `mbit` Mbit/s with a token bucket, or removes the cap with
   * `null`. Can change during a transfer.
   */
  async capUpload(home: string, mbit: number | null): Promise<void> {
    this.assertOpen();
    const where = this.home(home);
    const namespace = where.routerNamespace ?? where.namespace;
    const device = where.routerNamespace ? 'wan0' : 'eth0';
    if (mbit === null) {
      await run('ip', ['netns', 'exec', namespace, 'tc', 'qdisc', 'del', 'dev', device, 'root']).catch(() => {});
      return;
    }
    if (!(mbit > 0)) throw new NetsimError('BAD_OPTIONS', `capUpload(${home}, ${mbit}): the rate must be positive or null`);
    // The bucket must hold at least one timer tick of traffic, or TBF caps
    // below the asked rate; 10 ms worth is safe at any kernel HZ.
    const burst = Math.max(32 * 1024, Math.ceil((mbit * 1e6) / 8 / 100));
    const tbf = ['tbf', 'rate', `${mbit}mbit`, 'burst', String(burst), 'latency', '50ms'];
    await run('ip', ['netns', 'exec', namespace, 'tc', 'qdisc', 'replace', 'dev', device, 'root', ...tbf]);
  }

  /**
   * Sets what `home`'s uplink does to packets each way, from now on: delay and
   * jitter (only on a home given a path in `internet({ paths })`, whose
   * forwarder applies them to packets read after this resolves) and loss (any
   * home; an nftables rule on its uplink). Fields left out are set to 0.
   */
  async setPath(home: string, path: PathOptions): Promise<void> {
    this.assertOpen();
    const where = this.home(home);
    checkPath(home, path);
    const forwarder = this.forwarders.get(home);
    const delayMs = path.delayMs ?? 0;
    const jitterMs = path.jitterMs ?? 0;
    if (forwarder) await forwarder.set(delayMs, jitterMs);
    else if (delayMs > 0 || jitterMs > 0) {
      throw new NetsimError('BAD_OPTIONS', `setPath(${home}): delay needs the home in internet({ paths }) when it is built`);
    }
    const namespace = where.routerNamespace ?? where.namespace;
    const device = where.routerNamespace ? 'wan0' : 'eth0';
    const perTenThousand = Math.round((path.lossPercent ?? 0) * 100);
    // Declaring the table first makes the delete succeed on the first call.
    const rules =
      perTenThousand > 0
        ? `
      table inet netsim_path {
        chain inbound {
          type filter hook prerouting priority -300; policy accept;
          iifname "${device}" numgen random mod 10000 < ${perTenThousand} drop
        }
        chain outbound {
          type filter hook postrouting priority 300; policy accept;
          oifname "${device}" numgen random mod 10000 < ${perTenThousand} drop
        }
      }`
        : '';
    await run('ip', ['netns', 'exec', namespace, 'nft', '-f', '-'], `table inet netsim_path\ndelete table inet netsim_path\n${rules}\n`);
  }

  /**
   * CPU time (user plus system, in seconds) the delay forwarder of `home` has
   * used so far; null for a home without one. Read it before and after a
   * transfer to know what the delay cost.
   */
  forwarderCpuSeconds(home: string): number | null {
    const pid = this.forwarders.get(home)?.pid;
    if (pid === undefined) return null;
    // /proc/<pid>/stat: the command may hold spaces, so fields are counted after its ')'.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  }

  /**
   * Makes `device` in `namespace` and `port` in pub as two TAP devices joined
   * by a delay forwarder, in place of the veth pair a home otherwise gets.
   */
  private async startForwarder(home: string, namespace: string, device: string, port: string): Promise<void> {
    const script = fileURLToPath(new URL('./delay-forwarder.py', import.meta.url));
    const child = spawn(PYTHON, [script, namespace, device, this.pubNamespace, port], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    const forwarder = new Forwarder(home, child);
    await forwarder.ready;
    this.forwarders.set(home, forwarder);
  }

  /**
   * Starts `command` inside the namespace of `where` and returns the child.
   * Its stdio is piped unless `options.stdio` says otherwise: read or ignore it.
   * It is killed on `close()`.
   */
  spawn(where: Place, command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    this.assertOpen();
    const namespace = this.namespaceOf(where);
    const child = spawn('ip', ['netns', 'exec', namespace, command, ...args], {
      stdio: 'pipe',
      ...options,
      env: { ...process.env, ...options.env },
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Runs `command` inside `where` to completion and returns its stdout. */
  exec(where: Place, command: string, args: readonly string[] = []): Promise<string> {
    this.assertOpen();
    return run('ip', ['netns', 'exec', this.namespaceOf(where), command, ...args]);
  }

  /**
   * Launches headless Chromium (with the flags WebRTC needs here) whose
   * process runs in `home`'s host namespace. Playwright drives it over a pipe,
   * which works across namespaces. It is closed on `close()`.
   */
  async launchChromium(home: string, options: LaunchOptions = {}): Promise<Browser> {
    this.assertOpen();
    const namespace = this.home(home).namespace;
    const wrapper = join(this.dir, `chromium-${home}`);
    await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec '${namespace}' '${chromiumPath()}' "$@"\n`);
    await chmod(wrapper, 0o755);
    const browser = await chromium.launch({
      headless: true,
      ...options,
      executablePath: wrapper,
      args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
    });
    this.browsers.add(browser);
    browser.on('disconnected', () => this.browsers.delete(browser));
    return browser;
  }

  /**
   * Closes browsers, kills every process started here (and any other process
   * left inside these namespaces), deletes the namespaces with their veths,
   * the resolv.conf files and the temp directory. Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= this.teardown();
    return this.closing;
  }

  private async teardown(): Promise<void> {
    this.closed = true;
    const started = Date.now();
    await Promise.all(
      [...this.browsers].map((browser) =>
        Promise.race([browser.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5000))]),
      ),
    );
    const exits = [...this.children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    );
    await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, 2000))]);
    this.teardownSync();
    await rm(this.dir, { recursive: true, force: true });
    debug('closed %s in %d ms', this.id, Date.now() - started);
  }

  /** @internal The part of teardown that also runs in the process 'exit' hook. */
  teardownSync(): void {
    this.closed = true;
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // Anything still inside our namespaces (a browser's helper process, a
    // grandchild of a spawned command) is ours, and would keep the namespace
    // and its veths alive after its name is deleted.
    for (const namespace of this.namespaces) killNamespacePids(namespace);
    for (const namespace of this.namespaces) runQuietSync('ip', ['netns', 'delete', namespace]);
    for (const dir of this.resolvDirs) rmSync(dir, { recursive: true, force: true });
    this.namespaces.length = 0;
    this.resolvDirs.length = 0;
    open.delete(this);
  }

  private async addNamespace(namespace: string): Promise<void> {
    await run('ip', ['netns', 'add', namespace]);
    this.namespaces.push(namespace);
    // IPv6 off: link-local addresses would give Chromium candidates and paths
    // that bypass the NATs under test.
    await this.sysctl(namespace, 'net.ipv6.conf.all.disable_ipv6', '1');
    await this.sysctl(namespace, 'net.ipv6.conf.default.disable_ipv6', '1');
    await run('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
  }

  /**
   * Chromium resolves Google hosts even with background networking off; `ip
   * netns exec` mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf, so
   * those lookups go to the public segment, where nothing answers.
   */
  private async addResolvConf(namespace: string): Promise<void> {
    const dir = `/etc/netns/${namespace}`;
    await mkdir(dir, { recursive: true });
    this.resolvDirs.push(dir);
    await writeFile(join(dir, 'resolv.conf'), `nameserver ${PUBLIC_ADDRESSES[0]}\n`);
  }

  private sysctl(namespace: string, key: string, value: string): Promise<string> {
    return run('ip', ['netns', 'exec', namespace, 'sysctl', '-q', '-w', `${key}=${value}`]);
  }

  private home(name: string): Home {
    const home = this.homes[name];
    if (!home) throw new NetsimError('UNKNOWN_PLACE', `no home named "${name}" (homes: ${Object.keys(this.homes).join(', ')})`);
    return home;
  }

  private namespaceOf(where: Place): string {
    if (where === 'pub') return this.pubNamespace;
    if (where.endsWith('/router')) {
      const router = this.home(where.slice(0, -'/router'.length)).routerNamespace;
      if (!router) throw new NetsimError('UNKNOWN_PLACE', `${where}: an open home has no router`);
      return router;
    }
    return this.home(where).namespace;
  }

  private assertOpen(): void {
    if (this.closed) throw new NetsimError('CLOSED', `the simulated internet ${this.id} is closed`);
  }
}

/** Python from the system (CI's base image has it), not a version manager's shim on PATH. */
const PYTHON = '/usr/bin/python3';
/** USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux architecture we run on. */
const CLOCK_TICKS = 100;

function checkPath(home: string, path: PathOptions): void {
  const within = (value: number | undefined, max: number) => value === undefined || (Number.isFinite(value) && value >= 0 && value <= max);
  if (!within(path.delayMs, 10_000) || !within(path.jitterMs, 10_000) || !within(path.lossPercent, 100)) {
    throw new NetsimError('BAD_OPTIONS', `path of "${home}": delayMs and jitterMs 0-10000, lossPercent 0-100 (${JSON.stringify(path)})`);
  }
}

/** The delay forwarder of one home: a line of JSON in, `ok` back once applied. */
class Forwarder {
  readonly ready: Promise<void>;
  readonly pid: number | undefined;
  private readonly replies: Array<(line: string) => void> = [];
  private stderr = '';
  private exited: string | null = null;

  constructor(
    private readonly home: string,
    private readonly child: ChildProcess,
  ) {
    this.pid = child.pid;
    let buffered = '';
    let onReady!: () => void;
    let onFail!: (err: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    let started = false;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!started && line === 'ready') {
          started = true;
          onReady();
        } else this.replies.shift()?.(line);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    // Teardown closes our end; nothing more is written after that.
    child.stdin!.on('error', () => {});
    child.on('exit', (code, signal) => {
      this.exited = `delay forwarder of ${home} exited (${signal ?? code}): ${this.stderr.trim()}`;
      onFail(new NetsimError('COMMAND_FAILED', this.exited));
      for (const reply of this.replies.splice(0)) reply('');
    });
  }

  set(delayMs: number, jitterMs: number): Promise<void> {
    if (this.exited) return Promise.reject(new NetsimError('COMMAND_FAILED', this.exited));
    return new Promise((resolve, reject) => {
      this.replies.push((line) =>
        line === 'ok' ? resolve() : reject(new NetsimError('COMMAND_FAILED', this.exited ?? `delay forwarder of ${this.home}: ${line}`)),
      );
      this.child.stdin!.write(`${JSON.stringify({ delay_ms: delayMs, jitter_ms: jitterMs })}\n`);
    });
  }
}

function ipBatch(namespace: string, commands: readonly string[]): Promise<string> {
  return run('ip', ['-n', namespace, '-batch', '-'], `${commands.join('\n')}\n`);
}

function killNamespacePids(namespace: string): void {
  for (const pid of runQuietSync('ip', ['netns', 'pids', namespace]).split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

let hooked = false;

/**
 * Tears down whatever is still open when the process exits, and on the usual
 * termination signals (which would otherwise end the process without 'exit').
 */
function installExitHook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const net of [...open]) net.teardownSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const net of [...open]) net.teardownSync();
      // The listener is gone now, so this ends the process the default way.
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Deletes what an earlier run killed with SIGKILL left behind: namespaces and
 * resolv.conf directories named after a process that no longer exists. Only
 * names this module makes (`ecdnsim<pid>x<n>-…`) are considered.
 */
function sweepStale(): void {
  const pattern = /^ecdnsim(\d+)x\d+-[a-z0-9-]+$/;
  const isDead = (name: string): boolean => {
    const match = pattern.exec(name);
    if (!match || Number(match[1]) === process.pid) return false;
    try {
      process.kill(Number(match[1]), 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  };
  for (const line of runQuietSync('ip', ['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (isDead(name)) {
      debug('removing stale namespace %s', name);
      killNamespacePids(name);
      runQuietSync('ip', ['netns', 'delete', name]);
    }
  }
  for (const name of runQuietSync('ls', ['/etc/netns']).split('\n')) {
    if (isDead(name)) rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
  }
}
