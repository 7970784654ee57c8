// Sizes for people: 1024-based, so labelled KiB, MiB, GiB (not KB, MB), in English and Chinese alike.
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src-renderer/ui/lib/format.ts';
import { en } from '../../src-renderer/ui/i18n/en.ts';
import { zhCN } from '../../src-renderer/ui/i18n/zh-CN.ts';

describe('formatBytes', () => {
  it.each(['en', 'zh-CN'])('uses binary units (%s)', (lang) => {
    expect(formatBytes(0, lang)).toBe('0 B');
    expect(formatBytes(512, lang)).toBe('512 B');
    expect(formatBytes(1024, lang)).toBe('1 KiB');
    expect(formatBytes(1536, lang)).toBe('1.5 KiB');
    expect(formatBytes(200 * 1024, lang)).toBe('200 KiB');
    expect(formatBytes(5 * 1024 * 1024, lang)).toBe('5 MiB');
    expect(formatBytes(1.25 * 1024 ** 3, lang)).toBe('1.3 GiB');
  });

  it('is not contradicted by a string that names a decimal unit', () => {
    const decimal = /\d\s*[KMGT]B\b/;
    const strings = (tree: object): string[] =>
      Object.values(tree).flatMap((v: unknown) => (typeof v === 'string' ? [v] : strings(v as object)));
    expect([...strings(en), ...strings(zhCN)].filter((s) => decimal.test(s))).toEqual([]);
  });
});
