import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { keyring, verifyPayload, base64UrlDecode } from './verify';
import { normaliseNumber } from './store';
import fixture from './fixtures/backend-ticket.json';

function b64url(bytes: Uint8Array) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function hex(uuid: string) {
  return Uint8Array.from(uuid.replace(/-/g, '').match(/../g)!.map((h) => parseInt(h, 16)));
}

/** A payload built like runtime/src/tickets/signing.rs does. */
function sign(secret: Uint8Array, kid: string, ticket: string, event: string, seat: number, issued: number) {
  const k = new TextEncoder().encode(kid);
  const body = new Uint8Array(2 + k.length + 32 + 6);
  body[0] = 1;
  body[1] = k.length;
  body.set(k, 2);
  body.set(hex(ticket), 2 + k.length);
  body.set(hex(event), 18 + k.length);
  const view = new DataView(body.buffer);
  view.setUint16(34 + k.length, seat);
  view.setUint32(36 + k.length, issued);
  const domain = new TextEncoder().encode('evently-ticket\0');
  const sig = ed25519.sign(new Uint8Array([...domain, ...body]), secret);
  return b64url(new Uint8Array([...body, ...sig]));
}

describe('the QR payload verifier', () => {
  it('accepts a payload issued by the real backend, with its claims', () => {
    const ring = keyring(fixture.keys);
    const verdict = verifyPayload(fixture.qr_payload, ring);
    expect(verdict).toEqual({
      ok: true,
      claims: expect.objectContaining({ ticketId: fixture.ticket_id, eventId: fixture.event_id, seatIndex: fixture.seat_index, keyId: fixture.keys[0].kid }),
    });
    expect(fixture.qr_payload.length).toBe(142);
  });

  it('refuses the backend payload with any byte changed', () => {
    const ring = keyring(fixture.keys);
    const bytes = base64UrlDecode(fixture.qr_payload)!;
    for (let i = 0; i < bytes.length; i++) {
      const forged = bytes.slice();
      forged[i] ^= 0x01;
      const verdict = verifyPayload(b64url(forged), ring);
      expect(verdict.ok, `byte ${i}`).toBe(false);
    }
  });

  it('verifies its own signed payload and reads seat and time', () => {
    const secret = ed25519.utils.randomSecretKey();
    const x = b64url(ed25519.getPublicKey(secret));
    const ring = keyring([{ kty: 'OKP', crv: 'Ed25519', kid: 'k2', x }]);
    const ticket = '0195f0c2-1111-7aaa-8bbb-000000000001';
    const event = '0195f0c2-2222-7aaa-8bbb-000000000002';
    const payload = sign(secret, 'k2', ticket, event, 513, 1_760_000_000);
    const verdict = verifyPayload(payload, ring);
    expect(verdict.ok && verdict.claims).toEqual({ keyId: 'k2', ticketId: ticket, eventId: event, seatIndex: 513, issuedAt: new Date(1_760_000_000_000) });
  });

  it('reads the seat of a seated ticket (version 2), signed by the backend signer', () => {
    // runtime/src/tickets/signing.rs, the_seated_fixture_is_what_this_signer_makes: same text.
    const payload = 'AgJrMQGV8MIREXqqi7sAAAAAAAEBlfDCIiJ6qou7AAAAAAACAAFo53gADVBhcnRlcnJlIFPDvGQBQwIxMtQ-ESslAoO3iV73liEauj2PbxqJ3GIuHJnDpGmZDb4gT2vER4pVVKPKZ_PWJmjW53VdPGmXDLYs7zh2XWm4mg0';
    const ring = keyring([{ kty: 'OKP', crv: 'Ed25519', kid: 'k1', x: '6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw' }]);
    expect(verifyPayload(payload, ring)).toEqual({
      ok: true,
      claims: {
        keyId: 'k1',
        ticketId: '0195f0c2-1111-7aaa-8bbb-000000000001',
        eventId: '0195f0c2-2222-7aaa-8bbb-000000000002',
        seatIndex: 1,
        issuedAt: new Date(1_760_000_000_000),
        seat: { section: 'Parterre Süd', row: 'C', number: '12' },
      },
    });
    const bytes = base64UrlDecode(payload)!;
    for (let i = 0; i < bytes.length; i++) {
      const forged = bytes.slice();
      forged[i] ^= 0x01;
      expect(verifyPayload(b64url(forged), ring).ok, `byte ${i}`).toBe(false);
    }
    expect(verifyPayload(b64url(bytes.subarray(0, bytes.length - 1)), ring).ok).toBe(false);
  });

  it('refuses unknown keys, other keys, garbage and oversize input', () => {
    const secret = ed25519.utils.randomSecretKey();
    const other = ed25519.utils.randomSecretKey();
    const payload = sign(secret, 'k1', '0195f0c2-1111-7aaa-8bbb-000000000001', '0195f0c2-2222-7aaa-8bbb-000000000002', 0, 1);
    expect(verifyPayload(payload, keyring([]))).toEqual({ ok: false, reason: 'unknown_key' });
    const wrong = keyring([{ kty: 'OKP', crv: 'Ed25519', kid: 'k1', x: b64url(ed25519.getPublicKey(other)) }]);
    expect(verifyPayload(payload, wrong)).toEqual({ ok: false, reason: 'signature' });
    expect(verifyPayload('not a ticket!', wrong)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyPayload('A'.repeat(600), wrong)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyPayload(payload.slice(0, -4), wrong)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('ticket numbers', () => {
  it('normalises typed numbers like the backend reads them', () => {
    expect(normaliseNumber('k7qm 3xpa 9zr')).toBe('K7QM-3XPA-9ZR');
    expect(normaliseNumber('KOQM-3XPA-IZL')).toBe('K0QM-3XPA-1Z1');
  });
});
