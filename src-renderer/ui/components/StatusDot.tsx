import type { TunnelPhase } from '../../../src-main/ipc/contract.ts';

/** A coloured dot for a phase; the phase in words always stands next to it. */
export function StatusDot({ phase }: { phase: TunnelPhase }) {
  return <span className={`ph-dot ph-dot-${phase}`} aria-hidden="true" />;
}
