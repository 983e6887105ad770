import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyNat, parseCandidate, verdictFor, type Diagnosis, type GatheredCandidate } from './diagnose.js';

const PROBE = ['stun:198.18.0.1:3478', 'stun:198.18.0.1:3479'];
const host: GatheredCandidate = { type: 'host', address: '192.168.1.2', port: 50000, relatedPort: undefined };
const srflx = (port: number): GatheredCandidate => ({ type: 'srflx', address: '198.18.0.10', port, relatedPort: 50000 });
const ok = { tracker: 'ok', signaling: 'ok', candidates: { host: 1, srflx: 1, relay: 0 }, stun: 'ok' } as const;

describe('diagnose', () => {
  it('reads candidate lines', () => {
    assert.deepEqual(
      parseCandidate('candidate:1 1 udp 1686052607 198.18.0.10 40001 typ srflx raddr 192.168.1.2 rport 50000 generation 0'),
      {
        type: 'srflx',
        address: '198.18.0.10',
        port: 40001,
        relatedPort: 50000,
      },
    );
    assert.equal(parseCandidate('a=candidate:1 1 udp 2122260223 192.168.1.2 50000 typ host')?.type, 'host');
    assert.equal(parseCandidate('garbage'), undefined);
  });

  it('tells a cone (one mapping for both STUN ports) from a symmetric NAT (one per destination)', () => {
    assert.equal(classifyNat({ candidates: [host, srflx(40001)], unanswered: new Set() }, PROBE), 'cone');
    assert.equal(classifyNat({ candidates: [host, srflx(40001), srflx(40777)], unanswered: new Set() }, PROBE), 'symmetric');
  });

  it('calls a network open when STUN answered with nothing new, unknown when STUN did not answer', () => {
    assert.equal(classifyNat({ candidates: [host], unanswered: new Set() }, PROBE), 'open');
    assert.equal(classifyNat({ candidates: [host], unanswered: new Set(PROBE) }, PROBE), 'unknown');
    assert.equal(
      classifyNat({ candidates: [host, srflx(40001)], unanswered: new Set() }, [PROBE[0]!]),
      'unknown',
      'one endpoint cannot tell',
    );
  });

  it('says in plain words what to do', () => {
    const verdict = (d: Partial<Omit<Diagnosis, 'verdict'>>) => verdictFor({ ...ok, nat: 'cone', turn: 'none', ...d });
    assert.equal(
      verdict({ nat: 'symmetric' }),
      'Your network (a symmetric NAT) blocks direct connections and this server has no relay configured.',
    );
    assert.match(verdict({ nat: 'symmetric', turn: 'ok' }), /relay, which works/);
    assert.match(verdict({ nat: 'symmetric', turn: 'failed' }), /relay \(TURN\) configured on this server did not answer/);
    assert.match(verdict({ tracker: 'unreachable' }), /server cannot be reached/);
    assert.match(verdict({ nat: 'cone' }), /Direct connections work/);
    assert.match(verdict({ candidates: { host: 0, srflx: 0, relay: 0 } }), /WebRTC is disabled/);
    assert.match(verdict({ stun: 'none', nat: 'unknown' }), /no STUN or TURN server: peers connect only within one network/);
    assert.match(verdict({ stun: 'failed', nat: 'unknown', candidates: { host: 1, srflx: 0, relay: 0 } }), /no STUN answer through/);
  });
});
