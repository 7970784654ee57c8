import { useId, type KeyboardEvent, type ReactNode } from 'react';

export interface Tab<K extends string> {
  key: K;
  label: string;
}

export interface TabsProps<K extends string> {
  /** The accessible name of the tab list. */
  label: string;
  tabs: ReadonlyArray<Tab<K>>;
  active: K;
  onChange(key: K): void;
  /** Shown on the tab list's line, at its end (outside the tab list). */
  aside?: ReactNode;
  children: ReactNode;
}

/** Tabs with the ARIA tabs pattern: arrow keys move between tabs, the panel is labelled by its tab. */
export function Tabs<K extends string>({ label, tabs, active, onChange, aside, children }: TabsProps<K>) {
  const base = useId();
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    const i = tabs.findIndex((t) => t.key === active);
    let next = -1;
    if (e.key === 'ArrowRight') next = (i + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') next = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = tabs.length - 1;
    const tab = tabs[next];
    if (!tab) return;
    e.preventDefault();
    onChange(tab.key);
    document.getElementById(`${base}-tab-${tab.key}`)?.focus();
  };
  const list = (
    <div role="tablist" aria-label={label} className="ph-tablist" onKeyDown={onKeyDown}>
      {tabs.map((t) => (
        <button
          key={t.key}
          type="button"
          role="tab"
          id={`${base}-tab-${t.key}`}
          aria-selected={t.key === active}
          aria-controls={`${base}-panel`}
          tabIndex={t.key === active ? 0 : -1}
          className="ph-tab"
          onClick={() => onChange(t.key)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
  return (
    <div className="ph-tabs">
      {aside ? (
        <div className="ph-tabbar">
          {list}
          <div className="ph-tabbar-aside">{aside}</div>
        </div>
      ) : (
        list
      )}
      <div role="tabpanel" id={`${base}-panel`} aria-labelledby={`${base}-tab-${active}`} className="ph-tabpanel">
        {children}
      </div>
    </div>
  );
}
