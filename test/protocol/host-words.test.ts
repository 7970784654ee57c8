import { describe, expect, it } from 'vitest';
import { fiveWordLabel, isValidHostName, normaliseHost, randomToken } from '../../src-main/protocol/host-words.ts';

describe('fiveWordLabel', () => {
  it('gives five lower-case words joined by "-", a valid host label', () => {
    for (let i = 0; i < 200; i++) {
      const label = fiveWordLabel();
      const words = label.split('-');
      expect(words).toHaveLength(5);
      for (const w of words) expect(w).toMatch(/^[a-z]+$/);
      expect(isValidHostName(label)).toBe(true);
      expect(isValidHostName(`${label}.28820.com`)).toBe(true);
    }
  });

  it('varies from call to call', () => {
    const labels = new Set(Array.from({ length: 50 }, () => fiveWordLabel()));
    // 2^25 names: 50 draws that were all alike would mean no randomness at all.
    expect(labels.size).toBeGreaterThan(1);
  });
});

describe('randomToken', () => {
  it('is 128 bits, URL-safe, and different each time', () => {
    const a = randomToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(16);
    expect(randomToken()).not.toBe(a);
  });
});

describe('normaliseHost', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['  My-App.Example.com  ', 'my-app.example.com'],
    ['example.com:8080', 'example.com'],
    ['example.com.', 'example.com'],
    ['Example.com.:443', 'example.com'],
    ['[::1]', '[::1]'],
    ['[::1]:8080', '[::1]'],
    ['[2001:DB8::1]:443', '[2001:db8::1]'],
    ['127.0.0.1:3000', '127.0.0.1'],
  ])('%j becomes %j', (input, expected) => {
    expect(normaliseHost(input)).toBe(expected);
  });

  it('gives "" for a missing or empty Host', () => {
    expect(normaliseHost(undefined)).toBe('');
    expect(normaliseHost('')).toBe('');
  });
});

describe('isValidHostName', () => {
  it.each([
    'example.com',
    'moon-flower-snake-red-apple.28820.com',
    'localhost',
    'a.b.c',
    'x1.y2',
    'a'.repeat(63) + '.com',
    '123.example',
  ])('accepts %j', (host) => {
    expect(isValidHostName(host)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['an empty label', 'a..com'],
    ['a leading dot', '.example.com'],
    ['a trailing dot', 'example.com.'],
    ['a leading hyphen', '-app.example.com'],
    ['a trailing hyphen', 'app-.example.com'],
    ['an underscore', 'my_app.example.com'],
    ['a 64-character label', 'a'.repeat(64) + '.com'],
    ['upper case', 'Example.com'],
    ['a port', 'example.com:80'],
    ['a space', 'my app.com'],
    ['more than 253 characters', Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')],
  ])('rejects %s', (_what, host) => {
    expect(isValidHostName(host)).toBe(false);
  });
});
