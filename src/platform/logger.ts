import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** Fields that must never reach a log line, wherever they appear. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'token',
  'registrationToken',
  '*.registrationToken',
  'RegistrationToken',
  '*.RegistrationToken',
  '["x-amzn-marketplace-token"]',
  '*["x-amzn-marketplace-token"]',
];

export interface LoggerOptions {
  level: string;
  /** Write here instead of stdout (tests capture JSON lines this way). */
  destination?: pino.DestinationStream;
  /** Human-readable lines (pino-pretty) instead of JSON: for a terminal. Ignored with `destination`. */
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'marketplace-bridge' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ??
      (options.pretty ? pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service' }) : undefined),
  );
}
