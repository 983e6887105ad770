import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type EcdnServer } from './create-server.js';

// The pages the server serves itself: share links, the invalid-link page, and their assets.

let server: EcdnServer;
let url: string;
before(async () => {
  server = createServer();
  url = await server.listen(0, '127.0.0.1');
});
after(() => server.close());

const HASH = 'c0ffee'.padEnd(64, '0');

test('GET /f/<hash> answers the share page, whatever the case of the hash', async () => {
  for (const hash of [HASH, HASH.toUpperCase()]) {
    const res = await fetch(`${url}/f/${hash}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    const body = await res.text();
    assert.match(body, /<ecdn-file id="file"/);
    assert.match(body, /<script src="\/ephemeralcdn\.js"><\/script>/);
  }
});

test('a malformed share link gets a readable 404 page that says what is wrong', async () => {
  const cases: Array<[string, RegExp]> = [
    [`/f/${HASH.slice(0, 40)}`, /has 40 hexadecimal characters/],
    [`/f/${HASH}0`, /has 65 hexadecimal characters/],
    ['/f/not-a-hash', /characters other than 0–9 and a–f/],
    ['/f/', /no file hash/],
    ['/f', /no file hash/],
    [`/f/${HASH}/more`, /characters other than/],
    ['/f/%3Cscript%3Ealert(1)%3C%2Fscript%3E', /&lt;script&gt;alert\(1\)&lt;\/script&gt;/],
    ['/f/%E0%A4%A', /characters other than/],
  ];
  for (const [path, why] of cases) {
    const res = await fetch(`${url}${path}`);
    assert.equal(res.status, 404, path);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const body = await res.text();
    assert.match(body, /<title>Not a valid link · EphemeralCDN<\/title>/, path);
    assert.match(body, /<h1>This is not a valid link<\/h1>/, path);
    assert.match(body, why, path);
    assert.doesNotMatch(body, /<script>alert/, 'what the link held is escaped');
    assert.doesNotMatch(body, /\{\{given\}\}/);
  }
});

test('the pages share a favicon and a stylesheet', async () => {
  const icon = await fetch(`${url}/favicon.svg`);
  assert.equal(icon.status, 200);
  assert.equal(icon.headers.get('content-type'), 'image/svg+xml');
  assert.match(await icon.text(), /^<svg /);
  const css = await fetch(`${url}/pages.css`);
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
  for (const page of ['/', `/f/${HASH}`, '/f/x']) {
    const body = await (await fetch(`${url}${page}`)).text();
    assert.match(body, /<link rel="icon" href="\/favicon\.svg"/, page);
    assert.match(body, /<link rel="stylesheet" href="\/pages\.css">/, page);
  }
});
