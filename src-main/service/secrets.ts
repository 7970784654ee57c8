// Where secrets live in a profile. One list, used by the store that encrypts them and by the export
// that leaves them out; a secret field added to the profile schema is added here.

/** Paths of the secret string fields of a profile; `*` stands for every element of an array. */
export const SECRET_PATHS: ReadonlyArray<readonly string[]> = [
  ['relay', 'token'],
  ['access', 'basicAuth', '*', 'password'],
];

type Container = Record<string, unknown> | unknown[];

/** One place a secret is (or may be) in an object: its container and key. */
export interface SecretSlot {
  /** The dotted path, `*` resolved, e.g. `access.basicAuth.0.password`. */
  path: string;
  container: Record<string, unknown>;
  key: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Every slot of `obj` a secret path leads to, whether or not it holds a value. Change secrets through
 * the slots of a copy (`structuredClone`) to keep the original as it was.
 */
export function secretSlots(obj: unknown): SecretSlot[] {
  const out: SecretSlot[] = [];
  const walk = (cur: unknown, path: readonly string[], done: string[]): void => {
    const [head, ...rest] = path;
    if (head === undefined) return;
    if (head === '*') {
      if (Array.isArray(cur)) cur.forEach((item, i) => walk(item, rest, [...done, String(i)]));
      return;
    }
    if (!isRecord(cur)) return;
    if (rest.length === 0) out.push({ path: [...done, head].join('.'), container: cur, key: head });
    else walk((cur as Container & Record<string, unknown>)[head], rest, [...done, head]);
  };
  for (const path of SECRET_PATHS) walk(obj, path, []);
  return out;
}

/** A copy of the profile with every secret removed. */
export function withoutSecrets<T>(profile: T): T {
  const copy = structuredClone(profile);
  for (const slot of secretSlots(copy)) delete slot.container[slot.key];
  return copy;
}
