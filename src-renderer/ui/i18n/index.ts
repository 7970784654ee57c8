// One i18next instance per mounted UI, with every string a person reads in English and Simplified
// Chinese. It starts in the system's language and then follows the app's `language` setting.
import i18next, { type i18n as I18n } from 'i18next';
import type { Language } from '../../../src-main/ipc/contract.ts';
import { en } from './en.ts';
import { zhCN } from './zh-CN.ts';

export const LANGUAGES: readonly Language[] = ['en', 'zh-CN'];

export const resources = { en: { translation: en }, 'zh-CN': { translation: zhCN } } as const;

/** The first of the system's preferred languages that the UI speaks (English when none is). */
export function systemLanguage(preferred: readonly string[] = navigator.languages ?? [navigator.language]): Language {
  for (const tag of preferred) {
    const lower = tag.toLowerCase();
    if (lower === 'zh' || lower.startsWith('zh-')) return 'zh-CN';
    if (lower === 'en' || lower.startsWith('en-')) return 'en';
  }
  return 'en';
}

export function createI18n(language: Language): I18n {
  const instance = i18next.createInstance();
  void instance.init({
    resources,
    lng: language,
    fallbackLng: 'en',
    supportedLngs: LANGUAGES,
    // React escapes what it renders; i18next escaping on top would show `&amp;`.
    interpolation: { escapeValue: false },
    initAsync: false,
    returnNull: false,
    react: { useSuspense: false },
  });
  return instance;
}
