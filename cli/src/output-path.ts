/**
 * Where `fetch` saves a file, decided and checked before anything touches the network:
 * `-o FILE`, `-o DIR` (the file's name inside it), `-o -` (stdout), or by default the
 * share link's file name (else the hash) in the current directory.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError } from './cli-error.js';
import type { Target } from './target.js';

export type Output = { kind: 'stdout' } | { kind: 'file'; path: string };

/**
 * The output for `option` (`-o`): throws `CliError('OUTPUT_EXISTS')` for a file that is
 * there (unless `force`), and `CliError('OUTPUT')` for a place that cannot be written.
 */
export async function resolveOutput(option: string | undefined, target: Target, force: boolean, cwd = process.cwd()): Promise<Output> {
  if (option === '-') return { kind: 'stdout' };
  const name = safeName(target.name) ?? target.hash;
  let path = resolve(cwd, option ?? name);
  const intoDirectory = (await stat(path).catch(() => undefined))?.isDirectory() || /[/\\]$/.test(option ?? '');
  if (intoDirectory) path = join(path, name);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new CliError('OUTPUT', `${path} is a directory.`);
  if (existing && !force) throw new CliError('OUTPUT_EXISTS', `${path} exists: pass --force to replace it.`);
  const dir = dirname(path);
  const parent = await stat(dir).catch(() => undefined);
  if (!parent?.isDirectory()) throw new CliError('OUTPUT', `Cannot save to ${path}: ${dir} is not a directory.`);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new CliError('OUTPUT', `Cannot save to ${path}: ${dir} is not writable.`);
  }
  return { kind: 'file', path };
}

/**
 * A share link's file name as a file name here: its last path segment, without control
 * characters; undefined for nothing usable (empty, `.`, `..`), so that a link cannot
 * make `fetch` write outside the directory asked for.
 */
export function safeName(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const last = basename(name.replace(/\\/g, '/'));
  const cleaned = [...last]
    .filter((char) => char.charCodeAt(0) >= 0x20 && char !== '\x7f')
    .join('')
    .trim();
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? undefined : cleaned;
}
