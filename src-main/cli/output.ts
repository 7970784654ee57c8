import { readFileSync } from 'node:fs';
import type { RequestSummary } from '../engine/request-log.ts';

/** What every command shares: exit codes, failures with a message, and output. */

export const EXIT = { ok: 0, failure: 1, usage: 2, refused: 3 } as const;

/** A failure with a message a person can act on, and the exit code it means. */
export class CliFailure extends Error {
  override name = 'CliFailure';
  readonly code: number;
  constructor(message: string, code: number = EXIT.failure) {
    super(message);
    this.code = code;
  }
}

/** Where output goes: words for people, NDJSON for programs. */
export class Output {
  readonly json: boolean;
  #pending: string[] = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(json: boolean) {
    this.json = json;
    process.once('exit', () => this.flush());
  }

  /** A line a person reads on stdout (or an event object with --json). */
  info(text: string, event?: Record<string, unknown>): void {
    if (this.json) {
      if (event) this.#write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
    } else if (text) {
      // An event with nothing to say to a person (a reconnect, already told on stderr) prints nothing.
      this.#write(`${text}\n`);
    }
  }

  /**
   * Lines are gathered for up to 50 ms and written together: under load one write a line is a
   * system call a request, which the benchmark showed as a good part of the CLI's CPU.
   */
  #write(line: string): void {
    this.#pending.push(line);
    this.#timer ??= setTimeout(() => this.flush(), 50);
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (!this.#pending.length) return;
    const text = this.#pending.join('');
    this.#pending = [];
    process.stdout.write(text);
  }

  /** A warning or error: stderr in both modes. */
  warn(text: string): void {
    this.flush();
    process.stderr.write(`${text}\n`);
  }

  request(s: RequestSummary): void {
    if (this.json) {
      // One line a request: built directly, without the copies info() makes.
      this.#write(`{"time":"${new Date().toISOString()}","event":"request",${JSON.stringify(s).slice(1)}\n`);
      return;
    }
    const time = new Date(s.startedAt).toTimeString().slice(0, 8);
    const ms = s.durationMs === null ? '-' : `${Math.round(s.durationMs)} ms`;
    const err = s.error ? `  (${s.error})` : '';
    if (s.method === 'TCP') {
      // A TCP tunnel's connection: who, bytes each way, how long.
      this.info(`${time}  ${s.visitorIp || '-'}  TCP  in ${s.requestBytes} B  out ${s.responseBytes} B  ${ms}${err}`);
      return;
    }
    this.info(`${time}  ${s.visitorIp || '-'}  ${s.method} ${s.url}  ${s.status ?? '-'}  ${ms}${err}`);
  }
}

/** Porthole's version, from package.json (two levels up: from src-main/cli/ and from out/main/ alike). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
