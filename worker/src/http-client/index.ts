export {
  checkAddress,
  checkHostName,
  classifyAddress,
  isBlockedAddress,
  normaliseHostName,
  parseHostLiteral,
  type AddressClass,
  type AddressKind,
  type AddressPolicy,
  type AddressRefusal,
  type HostLiteral,
} from './address-policy.js';
export { createGuardedLookup, type GuardedLookupOptions } from './guarded-lookup.js';
export { HttpClientError, toHttpClientError, type HttpFailureReason } from './http-client-error.js';
export { DEFAULT_MAX_REDIRECTS, DEFAULT_MAX_RESPONSE_BYTES, safeFetch, type SafeFetchRequest, type SafeFetchResponse } from './safe-fetch.js';
