import { useState, type InputHTMLAttributes } from 'react';
import { useTranslation } from 'react-i18next';

export interface SecretInputProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'type' | 'value' | 'onChange'> {
  value: string;
  onChange(value: string): void;
  /** What the secret is, for the reveal button's name ("token", "password of alice"). */
  what: string;
}

/** A masked field with a button that shows and hides what it holds. */
export function SecretInput({ value, onChange, what, ...rest }: SecretInputProps) {
  const { t } = useTranslation();
  const [shown, setShown] = useState(false);
  return (
    <span className="ph-secret">
      <input
        {...rest}
        type={shown ? 'text' : 'password'}
        value={value}
        autoComplete="off"
        spellCheck={false}
        onChange={(e) => onChange(e.target.value)}
      />
      <button
        type="button"
        className="ph-button ph-button-small"
        aria-pressed={shown}
        aria-label={shown ? t('secret.hide', { what }) : t('secret.reveal', { what })}
        onClick={() => setShown((s) => !s)}
      >
        {shown ? t('secret.hideShort') : t('secret.revealShort')}
      </button>
    </span>
  );
}
