/** A fresh Idempotency-Key: one per click, reused by the retries of that click. */
export function newIdempotencyKey() {
  return crypto.randomUUID();
}
