export const NEEDED: [number, number];
export function nodeTooOld(version?: string, execPath?: string): string | null;
