// Secrets (relay tokens, basic-auth passwords) sealed with Electron's safeStorage where the OS has a
// real keyring: Keychain on macOS, DPAPI on Windows, libsecret or KWallet on Linux. Linux's
// `basic_text` backend encrypts with a key that is the same on every machine, so it counts as clear
// text: secrets are then stored as plain strings, and `info.encrypted` is false for the UI to warn.
import type { SafeStorage } from 'electron';
import type { SecretStorageInfo } from '../../ipc/contract.ts';

/** A secret as the data file holds it: a plain string (clear) or sealed bytes. */
export type StoredSecret = string | { $sealed: 'safeStorage'; data: string };

/** What opening a stored secret gives. */
export interface OpenedSecret {
  value: string;
  /** True when it should be written again (clear but a keyring is available, or the key rotated). */
  reseal: boolean;
}

/** Seals and opens secrets. */
export interface SecretVault {
  readonly info: SecretStorageInfo;
  seal(plain: string): Promise<StoredSecret>;
  /** @throws when a sealed secret cannot be opened (another machine's or user's keyring) */
  open(stored: unknown): Promise<OpenedSecret>;
}

export function isSealed(v: unknown): v is { $sealed: 'safeStorage'; data: string } {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { $sealed?: unknown }).$sealed === 'safeStorage' &&
    typeof (v as { data?: unknown }).data === 'string'
  );
}

const CLEAR_BACKENDS = new Set(['basic_text', 'unknown']);

/** The safeStorage vault. Call after the app is ready (Linux picks its backend then). */
export async function safeStorageVault(
  safeStorage: Pick<
    SafeStorage,
    'isAsyncEncryptionAvailable' | 'encryptStringAsync' | 'decryptStringAsync' | 'getSelectedStorageBackend'
  >,
  platform: NodeJS.Platform = process.platform,
): Promise<SecretVault> {
  let available = false;
  try {
    available = await safeStorage.isAsyncEncryptionAvailable();
  } catch {
    available = false;
  }
  let backend: string;
  if (platform === 'darwin') backend = 'keychain';
  else if (platform === 'win32') backend = 'dpapi';
  else if (platform === 'linux') backend = safeStorage.getSelectedStorageBackend();
  else backend = 'unknown';
  const encrypted = available && !(platform === 'linux' && CLEAR_BACKENDS.has(backend));
  const info: SecretStorageInfo = { encrypted, backend: available ? backend : 'none' };

  return {
    info,
    async seal(plain) {
      if (!encrypted) return plain;
      const bytes = await safeStorage.encryptStringAsync(plain);
      return { $sealed: 'safeStorage', data: bytes.toString('base64') };
    },
    async open(stored) {
      if (typeof stored === 'string') return { value: stored, reseal: encrypted };
      if (!isSealed(stored)) throw new Error('not a secret');
      if (!available) throw new Error('the OS keyring that sealed this secret is not available');
      const r = await safeStorage.decryptStringAsync(Buffer.from(stored.data, 'base64'));
      // Sealed but the keyring is now plain text: keep it sealed rather than write it out in clear.
      return { value: r.result, reseal: encrypted && r.shouldReEncrypt };
    },
  };
}
