import { customType, timestamp } from 'drizzle-orm/pg-core';

/**
 * `bytea` as a Buffer. node-postgres already returns Buffers; PGlite returns Uint8Array,
 * which is wrapped without a copy.
 */
export const bytea = customType<{ data: Buffer; driverData: Uint8Array }>({
  dataType() {
    return 'bytea';
  },
  fromDriver(value) {
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  },
});

/**
 * timestamptz(3): millisecond precision, like a JS Date, so that a timestamp read back and
 * used in a cursor compares equal to the stored one.
 */
export function timestamptz(name: string) {
  return timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });
}
