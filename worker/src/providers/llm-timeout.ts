/**
 * Time every adapter allows until a provider's response (or, streaming, its headers) arrives,
 * unless told otherwise. The engine's node timeout, through the AbortSignal, bounds the rest.
 */
export const DEFAULT_LLM_TIMEOUT_MS = 120_000;
