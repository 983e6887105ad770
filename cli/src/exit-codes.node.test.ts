import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EcdnError } from 'ephemeral-cdn';
import { CliError } from './cli-error.js';
import { codeOf, EXIT_CODES, exitCodeOf, messageOf } from './exit-codes.js';

describe('exit codes', () => {
  it('gives every code a status of its own', () => {
    const statuses = Object.values(EXIT_CODES);
    assert.equal(new Set(statuses).size, statuses.length);
    assert.equal(EXIT_CODES.OK, 0);
  });

  it("maps the engine's and the CLI's errors, and anything else to INTERNAL", () => {
    assert.equal(exitCodeOf(new EcdnError('DEAD', 'gone')), 10);
    assert.equal(exitCodeOf(new CliError('OUTPUT_EXISTS', 'there')), 5);
    assert.equal(exitCodeOf(new TypeError('bug')), 1);
  });

  it('sees through the STORAGE error a download wraps our own error in', () => {
    const ours = new CliError('OUTPUT_EXISTS', 'out.bin appeared during the download');
    const wrapped = new EcdnError('STORAGE', 'Could not keep the pieces', { cause: ours });
    assert.equal(codeOf(wrapped), 'OUTPUT_EXISTS');
    assert.equal(messageOf(wrapped), ours.message);
  });

  it('keeps a message on one line', () => {
    assert.equal(messageOf(new Error('first\n  second')), 'first second');
  });
});
