/** A fingerprint of the CLI sources under root (see source-stamp.js). */
export function sourceStamp(root: string): string;
