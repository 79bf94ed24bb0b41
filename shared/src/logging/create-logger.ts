import { pino, type Logger, type LoggerOptions } from 'pino';
import { serializeError } from './serialize-error.js';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line: auth headers, keys, secrets. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'apiKey',
  '*.apiKey',
  'credential',
  '*.credential',
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'masterKey',
  '*.masterKey',
  'adminToken',
  '*.adminToken',
];

export interface CreateLoggerOptions {
  level: string;
  name: string;
  base?: Record<string, unknown>;
  /** Where to write (tests pass a stream); default stdout. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const opts: LoggerOptions = {
    level: options.level,
    name: options.name,
    base: { pid: process.pid, ...options.base },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Failed SQL is logged with the shape of its parameters, never their values.
    serializers: { err: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
