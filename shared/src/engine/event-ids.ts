/** Event ids are stream ids `<ms>-<seq>`; compares them numerically (pure). */
export function compareEventIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

const EVENT_ID = /^\d{1,20}-\d{1,20}$/;

export function isEventId(value: string): boolean {
  return EVENT_ID.test(value);
}
