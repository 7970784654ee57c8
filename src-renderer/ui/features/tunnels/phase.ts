import type { TFunction } from 'i18next';
import type { TunnelPhaseState } from '../../../../src-main/ipc/contract.ts';

/** True while a tunnel is wanted up (starting, online or reconnecting): its switch is on. */
export function isRunning(state: TunnelPhaseState): boolean {
  return state.phase !== 'stopped' && state.phase !== 'failed';
}

/** The phase in a few words. */
export function phaseWords(t: TFunction, state: TunnelPhaseState): string {
  if (state.phase === 'reconnecting') return t('phase.reconnectingAttempt', { attempt: state.attempt });
  return t(`phase.${state.phase}`);
}
