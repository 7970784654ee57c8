// Numbers, sizes, durations and times for people, in the UI's language. Intl formatters are costly
// to make and the request list formats three values a row at every batch: they are made once each.

/** 1024-based, so named as such (IEC): 1 KiB = 1024 B, in every language. */
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

const numberFormats = new Map<string, Intl.NumberFormat>();
const dateFormats = new Map<string, Intl.DateTimeFormat>();

function numberFormat(language: string, maximumFractionDigits?: number): Intl.NumberFormat {
  const key = `${language}|${maximumFractionDigits ?? ''}`;
  let f = numberFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(language, maximumFractionDigits === undefined ? {} : { maximumFractionDigits });
    numberFormats.set(key, f);
  }
  return f;
}

function dateFormat(language: string, kind: 'clock' | 'dateTime' | 'time'): Intl.DateTimeFormat {
  const key = `${language}|${kind}`;
  let f = dateFormats.get(key);
  if (!f) {
    const options: Intl.DateTimeFormatOptions =
      kind === 'clock'
        ? { hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3, hourCycle: 'h23' }
        : kind === 'dateTime'
          ? { dateStyle: 'medium', timeStyle: 'medium', hourCycle: 'h23' }
          : { timeStyle: 'medium', hourCycle: 'h23' };
    f = new Intl.DateTimeFormat(language, options);
    dateFormats.set(key, f);
  }
  return f;
}

/** `512 B`, `1.5 KiB`, `12 MiB` (1 KiB = 1024 B). */
export function formatBytes(n: number, language: string): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${numberFormat(language, digits).format(value)} ${UNITS[unit]}`;
}

/** `85 ms`, `1.25 s`. */
export function formatDuration(ms: number, language: string): string {
  if (ms < 1000) return `${numberFormat(language, ms < 10 ? 1 : 0).format(ms)} ms`;
  return `${numberFormat(language, 2).format(ms / 1000)} s`;
}

export function formatCount(n: number, language: string): string {
  return numberFormat(language).format(n);
}

/** `14:03:07.123`: the time of a request, to the millisecond. */
export function formatClock(at: number, language: string): string {
  return dateFormat(language, 'clock').format(at);
}

/** Date and time, to the second. */
export function formatDateTime(at: number, language: string): string {
  return dateFormat(language, 'dateTime').format(at);
}

/** Time of day, to the second. */
export function formatTime(at: number, language: string): string {
  return dateFormat(language, 'time').format(at);
}
