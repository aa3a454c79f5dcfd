import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/platform/logger';

/** A real pino logger whose JSON lines are kept in memory, so tests can assert on them. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: () => string[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level, destination: stream });
  const lines = () => chunks.join('').split('\n').filter(Boolean);
  return { logger, lines, text: () => chunks.join('') };
}
