import { describe, expect, it } from 'vitest';
import { decodeClientMessage, encodeClientMessage } from './codec.ts';
import { CLIENT_MESSAGE_MAX_BYTES } from './limits.ts';

// The heartbeat's optional report (`ping.stats`), for the admin view.
describe('ping with the optional stats', () => {
  it('round-trips, and a ping without stats keeps its two-field bytes', () => {
    const m = {
      kind: 'ping' as const,
      id: 7,
      sentMs: 12.5,
      stats: { rttMs: 42, rollbacks: 3, stalls: 1 },
    };
    expect(decodeClientMessage(encodeClientMessage(m))).toEqual(m);
    const bare = encodeClientMessage({ kind: 'ping', id: 7, sentMs: 12.5 });
    expect(decodeClientMessage(bare)).toEqual({ kind: 'ping', id: 7, sentMs: 12.5 });
    // [code, id, sentMs]: a fixarray of 3, as before the field was added.
    expect(bare[0]).toBe(0x93);
  });

  it('the largest fits the kind limit', () => {
    const bytes = encodeClientMessage({
      kind: 'ping',
      id: 0xffff_ffff,
      sentMs: Math.PI * 1e12,
      stats: { rttMs: 3_600_000, rollbacks: 0xffff_ffff, stalls: 0xffff_ffff },
    });
    expect(bytes.length).toBeLessThanOrEqual(CLIENT_MESSAGE_MAX_BYTES.ping);
  });

  it('refuses stats out of range or of the wrong shape, naming the field', () => {
    const bad = (stats: unknown) => () =>
      encodeClientMessage({ kind: 'ping', id: 1, sentMs: 1, stats } as never);
    expect(bad({ rttMs: -1, rollbacks: 0, stalls: 0 })).toThrow(/ping\.stats\.rttMs/);
    expect(bad({ rttMs: 1.5, rollbacks: 0, stalls: 0 })).toThrow(/ping\.stats\.rttMs/);
    expect(bad({ rttMs: 1, rollbacks: 2 ** 32, stalls: 0 })).toThrow(/ping\.stats\.rollbacks/);
    expect(bad('fast')).toThrow(/ping\.stats/);
  });
});
