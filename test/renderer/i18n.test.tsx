// @vitest-environment jsdom
// Every string a person reads goes through i18next: both languages have the same keys, and every key
// the code names literally exists.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { en } from '../../src-renderer/ui/i18n/en.ts';
import { zhCN } from '../../src-renderer/ui/i18n/zh-CN.ts';

type Tree = { [key: string]: string | Tree };

function keys(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, v]) =>
    typeof v === 'string' ? [`${prefix}${k}`] : keys(v, `${prefix}${k}.`),
  );
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !path.includes(`${join('ui', 'i18n')}`) ? [path] : [];
  });
}

describe('translations', () => {
  it('have the same keys in English and Chinese, none empty', () => {
    expect(keys(zhCN as Tree).sort()).toEqual(keys(en as Tree).sort());
    for (const k of keys(zhCN as Tree))
      expect(k.split('.').reduce<Tree | string>((t, p) => (t as Tree)[p]!, zhCN as Tree)).not.toBe('');
  });

  it('hold every key the UI names', () => {
    const known = new Set(keys(en as Tree).map((k) => k.replace(/_(one|other)$/, '')));
    const root = join(import.meta.dirname, '../../src-renderer/ui');
    const named = new Set<string>();
    for (const file of sources(root)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z0-9_.-]+)'/g)) named.add(m[1]!);
      for (const m of text.matchAll(/\bkey: '([a-zA-Z0-9_-]+\.[a-zA-Z0-9_.-]+)'/g)) named.add(m[1]!);
      for (const m of text.matchAll(/'((?:errors|validation|detail|profile|tunnel|requests)\.[a-zA-Z0-9_.-]+)'/g))
        named.add(m[1]!);
    }
    expect(named.size).toBeGreaterThan(150);
    expect([...named].filter((k) => !known.has(k))).toEqual([]);
  });
});
