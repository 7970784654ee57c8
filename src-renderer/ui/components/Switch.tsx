export interface SwitchProps {
  checked: boolean;
  /** The accessible name, e.g. "Run tunnel Offline demo". */
  label: string;
  onChange(checked: boolean): void;
  disabled?: boolean;
}

/** An on/off switch (a button with role="switch"). */
export function Switch({ checked, label, onChange, disabled = false }: SwitchProps) {
  return (
    <button
      type="button"
      role="switch"
      className="ph-switch"
      aria-checked={checked}
      aria-label={label}
      disabled={disabled}
      onClick={() => onChange(!checked)}
    >
      <span className="ph-switch-thumb" aria-hidden="true" />
    </button>
  );
}
