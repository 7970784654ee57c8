import { useState, type InputHTMLAttributes } from 'react';
import { useTranslation } from 'react-i18next';
import { SAVED_SECRET } from '../../../src-main/ipc/channels.ts';

export interface SecretInputProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'type' | 'value' | 'onChange'> {
  value: string;
  onChange(value: string): void;
  /** What the secret is, for the reveal button's name ("token", "password of alice"). */
  what: string;
  /** Fetches the saved secret a mark (`SAVED_SECRET`) stands for, when the person asks to see it. */
  reveal?: () => Promise<string | null>;
}

/** A masked field with a button that shows and hides what it holds. */
export function SecretInput({ value, onChange, what, reveal, ...rest }: SecretInputProps) {
  const { t } = useTranslation();
  const [shown, setShown] = useState(false);
  const toggle = async (): Promise<void> => {
    // A saved secret is not in the page until the person asks to see it.
    if (!shown && value === SAVED_SECRET && reveal) {
      const secret = await reveal();
      if (secret !== null) onChange(secret);
    }
    setShown((s) => !s);
  };
  return (
    <span className="ph-secret">
      <input
        {...rest}
        type={shown ? 'text' : 'password'}
        value={value}
        autoComplete="off"
        spellCheck={false}
        // Typing into a field that holds a saved secret's mark replaces the mark.
        onChange={(e) => onChange(e.target.value.replace(SAVED_SECRET, ''))}
      />
      <button
        type="button"
        className="ph-button ph-button-small"
        aria-pressed={shown}
        aria-label={shown ? t('secret.hide', { what }) : t('secret.reveal', { what })}
        onClick={() => void toggle()}
      >
        {shown ? t('secret.hideShort') : t('secret.revealShort')}
      </button>
    </span>
  );
}
