import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SERVER, parseCommand } from './args.js';
import { CliError } from './cli-error.js';

function usage(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseCommand(argv, env);
  } catch (err) {
    assert.ok(err instanceof CliError && err.code === 'USAGE', `USAGE, got ${String(err)}`);
    return err.message;
  }
  assert.fail(`${argv.join(' ')} was accepted`);
}

describe('parseCommand', () => {
  it('reads seed with its files and options', () => {
    const command = parseCommand(
      ['seed', 'a.csv', 'b.png', '--until-fetched', '2', '--timeout', '1.5', '--upload-limit', '2.5M', '--json'],
      {},
    );
    assert.deepEqual(command, {
      name: 'seed',
      files: ['a.csv', 'b.png'],
      untilFetched: 2,
      timeoutMs: 1500,
      uploadLimit: 2_500_000,
      server: undefined,
      defaultServer: `${DEFAULT_SERVER}/`,
      iceServers: undefined,
      json: true,
      verbose: false,
    });
  });

  it('reads fetch with -o - (stdout), --no-seed and the ICE servers', () => {
    const command = parseCommand(['fetch', 'h', '-o', '-', '--no-seed', '--ice-servers', '[]', '--server', 'https://cdn.example.org'], {});
    assert.equal(command.name, 'fetch');
    if (command.name !== 'fetch') return;
    assert.equal(command.output, '-');
    assert.equal(command.reseed, false);
    assert.deepEqual(command.iceServers, []);
    assert.equal(command.server, 'https://cdn.example.org/');
  });

  it('takes the default server from ECDN_SERVER', () => {
    const command = parseCommand(['status', 'h'], { ECDN_SERVER: 'http://10.1.2.3:9000' });
    assert.equal(command.name === 'status' && command.defaultServer, 'http://10.1.2.3:9000/');
  });

  it('refuses what makes no sense, saying what', () => {
    assert.match(usage([]), /No command: use seed, fetch or status/);
    assert.match(usage(['serve']), /Unknown command "serve"/);
    assert.match(usage(['seed']), /at least one file/);
    assert.match(usage(['fetch']), /one hash or share link, got 0/);
    assert.match(usage(['fetch', 'a', 'b']), /got 2/);
    assert.match(usage(['fetch', 'h', '--frobnicate']), /Unknown option '--frobnicate'/);
    assert.match(usage(['seed', 'f', '--until-fetched', '0']), /--until-fetched must be a whole number/);
    assert.match(usage(['fetch', 'h', '--timeout', 'soon']), /--timeout must be a number of seconds/);
    assert.match(usage(['fetch', 'h', '--server', 'ftp://x']), /--server must be an http/);
    assert.match(usage(['fetch', 'h', '--ice-servers', '{']), /--ice-servers must be JSON/);
    assert.match(usage(['fetch', 'h', '--ice-servers', '[{"url":"stun:x"}]']), /objects with "urls"/);
    assert.match(usage(['status', 'h'], { ECDN_SERVER: 'nope' }), /ECDN_SERVER must be an http/);
    assert.match(usage(['seed', 'f', '--upload-limit', 'fast']), /--upload-limit must be bytes a second/);
  });

  it('answers --help and --version', () => {
    assert.equal(parseCommand(['--help']).name, 'help');
    assert.equal(parseCommand(['fetch', '-h']).name, 'help');
    assert.equal(parseCommand(['--version']).name, 'version');
  });
});
