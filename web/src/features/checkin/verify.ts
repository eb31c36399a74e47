// Offline verification of a ticket's QR payload (the format of runtime/src/tickets/signing.rs):
// base64url(version | key id length | key id | ticket id 16 | event id 16 | seat u16 BE |
// issued at u32 BE | [seat] | Ed25519 signature 64), signed over "evently-ticket\0" + every byte
// before it. Version 1 has no [seat]; version 2 (a seated event) carries section, row and number,
// each as a length byte and at most 32 bytes of UTF-8.
import { ed25519 } from '@noble/curves/ed25519.js';

const DOMAIN = new TextEncoder().encode('evently-ticket\0');
const MAX_PAYLOAD_CHARS = 512;
const MAX_SEAT_PART_BYTES = 32;

export interface Jwk {
  kty: string;
  crv: string;
  kid: string;
  x: string;
}

export interface TicketClaims {
  keyId: string;
  ticketId: string;
  eventId: string;
  seatIndex: number;
  issuedAt: Date;
  /** The particular seat (version 2 payloads). */
  seat?: { section: string; row: string; number: string };
}

export type Verdict =
  | { ok: true; claims: TicketClaims }
  | { ok: false; reason: 'malformed' | 'version' | 'unknown_key' | 'signature' };

export function base64UrlDecode(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) return null;
  const b64 = text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  if (b64.length % 4 === 1) return null;
  try {
    const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function uuid(bytes: Uint8Array) {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The keys of `GET /tickets/public-keys` by key id. */
export function keyring(keys: Jwk[]): Map<string, Uint8Array> {
  const ring = new Map<string, Uint8Array>();
  for (const k of keys) {
    if (k.kty !== 'OKP' || k.crv !== 'Ed25519') continue;
    const x = base64UrlDecode(k.x);
    if (x && x.length === 32) ring.set(k.kid, x);
  }
  return ring;
}

export function verifyPayload(payload: string, ring: Map<string, Uint8Array>): Verdict {
  const text = payload.trim();
  if (!text || text.length > MAX_PAYLOAD_CHARS) return { ok: false, reason: 'malformed' };
  const bytes = base64UrlDecode(text);
  if (!bytes || bytes.length < 2) return { ok: false, reason: 'malformed' };
  const version = bytes[0];
  if (version !== 1 && version !== 2) return { ok: false, reason: 'version' };
  const kidLen = bytes[1];
  const fixedLen = 2 + kidLen + 16 + 16 + 2 + 4;
  const fits = version === 1 ? bytes.length === fixedLen + 64 : bytes.length >= fixedLen + 3 + 64;
  if (kidLen < 1 || kidLen > 16 || !fits) return { ok: false, reason: 'malformed' };
  const signedLen = bytes.length - 64;
  const keyId = new TextDecoder().decode(bytes.subarray(2, 2 + kidLen));
  const key = ring.get(keyId);
  if (!key) return { ok: false, reason: 'unknown_key' };
  const body = bytes.subarray(0, signedLen);
  const signature = bytes.subarray(signedLen);
  const message = new Uint8Array(DOMAIN.length + body.length);
  message.set(DOMAIN);
  message.set(body, DOMAIN.length);
  let valid = false;
  try {
    valid = ed25519.verify(signature, message, key);
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'signature' };
  let at = 2 + kidLen;
  const ticketId = uuid(bytes.subarray(at, at + 16));
  at += 16;
  const eventId = uuid(bytes.subarray(at, at + 16));
  at += 16;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seatIndex = view.getUint16(at);
  const issuedAt = new Date(view.getUint32(at + 2) * 1000);
  const claims: TicketClaims = { keyId, ticketId, eventId, seatIndex, issuedAt };
  if (version === 2) {
    const seat = readSeat(bytes.subarray(fixedLen, signedLen));
    if (!seat) return { ok: false, reason: 'malformed' };
    claims.seat = seat;
  }
  return { ok: true, claims };
}

/** Section, row and number, each a length byte and its UTF-8, filling `bytes` exactly. */
function readSeat(bytes: Uint8Array): TicketClaims['seat'] | null {
  const parts: string[] = [];
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  for (let i = 0; i < 3; i++) {
    const len = bytes[at];
    if (len === undefined || len > MAX_SEAT_PART_BYTES || at + 1 + len > bytes.length) return null;
    try {
      parts.push(utf8.decode(bytes.subarray(at + 1, at + 1 + len)));
    } catch {
      return null;
    }
    at += 1 + len;
  }
  if (at !== bytes.length) return null;
  const [section, row, number] = parts as [string, string, string];
  return { section, row, number };
}
