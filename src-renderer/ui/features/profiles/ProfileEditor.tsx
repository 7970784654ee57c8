// Every field of a profile, checked as it is typed by the engine's own schema, with the messages in
// the UI's language; secrets masked with a reveal button; "Generate host" makes a five-word host.
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { ProfileData } from '../../../../src-main/ipc/contract.ts';
import { PUBLIC_FPW_RELAY, generateHost, randomToken } from '../../../../src-main/engine/profile.ts';
import { SecretInput } from '../../components/SecretInput.tsx';
import { useBridge } from '../../context.ts';
import { useInform } from '../../hooks/useCommand.ts';
import { settle } from '../../lib/result.ts';
import { usePortholeStore } from '../../store/index.ts';
import {
  RELAY_KINDS,
  formFromProfile,
  hostDomain,
  newRow,
  usesPublicRelay,
  validateProfileForm,
  type FieldProblems,
  type PairRow,
  type ProfileForm,
} from './profile-form.ts';

type Update = <K extends keyof ProfileForm>(key: K, value: ProfileForm[K]) => void;

interface FieldContext {
  base: string;
  problems: FieldProblems;
  shown(field: string): boolean;
  touch(field: string): void;
}

/** The id of a field's input, from its name in the problems map. */
const inputId = (base: string, field: string): string => `${base}-${field.replaceAll('.', '-')}`;

/** What an input needs to be linked to its hint and its messages. */
function fieldProps(ctx: FieldContext, field: string, hint = false) {
  const invalid = ctx.shown(field) && (ctx.problems[field]?.length ?? 0) > 0;
  const described = [hint ? `${inputId(ctx.base, field)}-hint` : '', invalid ? `${inputId(ctx.base, field)}-error` : '']
    .filter(Boolean)
    .join(' ');
  return {
    id: inputId(ctx.base, field),
    'aria-invalid': invalid,
    'aria-describedby': described || undefined,
    onBlur: () => ctx.touch(field),
  };
}

function Messages({ ctx, field }: { ctx: FieldContext; field: string }) {
  const { t } = useTranslation();
  const problems = ctx.problems[field];
  if (!ctx.shown(field) || !problems?.length) return null;
  return (
    <div id={`${inputId(ctx.base, field)}-error`} className="ph-field-error">
      {problems.map((p, i) => (
        <p key={i}>{t(p.key, p.params ?? {})}</p>
      ))}
    </div>
  );
}

function Field({
  ctx,
  field,
  label,
  hint,
  children,
}: {
  ctx: FieldContext;
  field: string;
  label: string;
  hint?: string;
  children: ReactNode;
}) {
  return (
    <div className="ph-field">
      <label htmlFor={inputId(ctx.base, field)}>{label}</label>
      {children}
      {hint ? (
        <p id={`${inputId(ctx.base, field)}-hint`} className="ph-hint">
          {hint}
        </p>
      ) : null}
      <Messages ctx={ctx} field={field} />
    </div>
  );
}

function PairRows({
  ctx,
  rows,
  prefix,
  labels,
  secret,
  reveal,
  onChange,
  addLabel,
}: {
  ctx: FieldContext;
  rows: PairRow[];
  prefix: string;
  labels: { a: (n: number) => string; b: (n: number) => string; remove: (n: number) => string };
  secret?: boolean;
  /** Fetches a saved secret by its path (the rows are basic-auth entries of a saved profile). */
  reveal?: (path: string) => Promise<string | null>;
  onChange(rows: PairRow[]): void;
  addLabel: string;
}) {
  const aField = prefix === 'basicAuth' ? 'user' : 'name';
  const bField = prefix === 'basicAuth' ? 'password' : 'value';
  const set = (i: number, patch: Partial<PairRow>): void =>
    onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <div className="ph-pairs">
      {rows.map((r, i) => {
        const fa = `${prefix}.${i}.${aField}`;
        const fb = `${prefix}.${i}.${bField}`;
        return (
          <div key={r.key} className="ph-pair">
            <div className="ph-field">
              <label htmlFor={inputId(ctx.base, fa)}>{labels.a(i + 1)}</label>
              <input {...fieldProps(ctx, fa)} value={r.a} onChange={(e) => set(i, { a: e.target.value })} />
              <Messages ctx={ctx} field={fa} />
            </div>
            <div className="ph-field">
              <label htmlFor={inputId(ctx.base, fb)}>{labels.b(i + 1)}</label>
              {secret ? (
                <SecretInput
                  {...fieldProps(ctx, fb)}
                  what={labels.b(i + 1)}
                  value={r.b}
                  onChange={(v) => set(i, { b: v })}
                  {...(reveal ? { reveal: () => reveal(`access.basicAuth.${i}.password`) } : {})}
                />
              ) : (
                <input {...fieldProps(ctx, fb)} value={r.b} onChange={(e) => set(i, { b: e.target.value })} />
              )}
              <Messages ctx={ctx} field={fb} />
            </div>
            <button
              type="button"
              className="ph-icon-button ph-pair-remove"
              aria-label={labels.remove(i + 1)}
              onClick={() => onChange(rows.filter((_, j) => j !== i))}
            >
              ×
            </button>
          </div>
        );
      })}
      <button type="button" className="ph-button ph-button-small" onClick={() => onChange([...rows, newRow()])}>
        {addLabel}
      </button>
    </div>
  );
}

export interface ProfileEditorProps {
  /** The profile to edit; absent for a new one. */
  profile?: ProfileData | undefined;
  onCancel?: () => void;
}

export function ProfileEditor({ profile, onCancel }: ProfileEditorProps) {
  const { t } = useTranslation();
  const bridge = useBridge();
  /** Fetches a saved secret of this profile (null when there is none, or it is not saved yet). */
  const revealer = (path: string): (() => Promise<string | null>) | undefined =>
    profile
      ? async () => {
          const r = await settle(() => bridge.profiles.secret({ id: profile.id, path }));
          return r.ok ? r.value : null;
        }
      : undefined;
  const store = usePortholeStore();
  const inform = useInform();
  const base = useId();
  const [form, setForm] = useState<ProfileForm>(() => formFromProfile(profile ?? null));
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [saving, setSaving] = useState(false);
  const [serverError, setServerError] = useState<string | null>(null);

  const validation = validateProfileForm(form, profile?.id);
  const problems = validation.ok ? {} : validation.problems;
  const ctx: FieldContext = {
    base,
    problems,
    shown: (field) => submitted || touched.has(field),
    touch: (field) => setTouched((s) => (s.has(field) ? s : new Set(s).add(field))),
  };
  const update: Update = (key, value) => setForm((f) => ({ ...f, [key]: value }));
  const domain = hostDomain(form);

  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setSubmitted(true);
    setServerError(null);
    if (!validation.ok) {
      const first = validation.fields.find((f) => f !== 'form');
      if (first) document.getElementById(inputId(base, first))?.focus();
      return;
    }
    setSaving(true);
    const draft = validation.draft;
    const r = await settle(() =>
      profile ? bridge.profiles.update({ id: profile.id, profile: draft }) : bridge.profiles.create({ profile: draft }),
    );
    setSaving(false);
    if (!r.ok) {
      setServerError(r.error.message);
      return;
    }
    const saved = r.value;
    store.getState().setProfiles([...Object.values(store.getState().profiles).filter((p) => p.id !== saved.id), saved]);
    inform('profile.saved', { name: saved.name });
    if (profile) {
      setForm(formFromProfile(saved));
      setSubmitted(false);
      setTouched(new Set());
    } else store.getState().openTunnel(saved.id);
  };

  const titleId = `${base}-title`;
  // The same choice, with its warning, for both upstreams that serve files (fastcgi and folder).
  const followSymlinks = (
    <>
      <label className="ph-check">
        <input
          type="checkbox"
          checked={form.followSymlinks}
          onChange={(e) => update('followSymlinks', e.target.checked)}
        />
        {t('profile.followSymlinks')}
      </label>
      {form.followSymlinks ? (
        <p className="ph-warning" role="note">
          {t('profile.followSymlinksWarning')}
        </p>
      ) : null}
    </>
  );
  return (
    <form className="ph-form ph-profile" aria-labelledby={titleId} onSubmit={(e) => void save(e)} noValidate>
      <h2 id={titleId}>{profile ? t('profile.editTitle', { name: profile.name }) : t('profile.newTitle')}</h2>

      <fieldset>
        <legend>{t('profile.general')}</legend>
        <Field ctx={ctx} field="name" label={t('profile.name')}>
          <input {...fieldProps(ctx, 'name')} value={form.name} onChange={(e) => update('name', e.target.value)} />
        </Field>
        <label className="ph-check">
          <input type="checkbox" checked={form.autoStart} onChange={(e) => update('autoStart', e.target.checked)} />
          {t('profile.autoStart')}
        </label>
      </fieldset>

      <fieldset>
        <legend>{t('profile.relay')}</legend>
        <Field
          ctx={ctx}
          field="relayKind"
          label={t('profile.transport')}
          hint={t(`profile.transportHint.${form.relayKind}`)}
        >
          <select
            {...fieldProps(ctx, 'relayKind', true)}
            value={form.relayKind}
            onChange={(e) => update('relayKind', e.target.value as ProfileForm['relayKind'])}
          >
            {RELAY_KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`profile.transports.${k}`)}
              </option>
            ))}
          </select>
        </Field>
        {form.relayKind === 'fpw' ? (
          <div className="ph-radios" role="radiogroup" aria-label={t('profile.relayKind')}>
            <label className="ph-check">
              <input
                type="radio"
                name={`${base}-relay`}
                checked={form.relayMode === 'public'}
                onChange={() => update('relayMode', 'public')}
              />
              {t('profile.relayPublic', { domain: PUBLIC_FPW_RELAY.domain })}
            </label>
            <label className="ph-check">
              <input
                type="radio"
                name={`${base}-relay`}
                checked={form.relayMode === 'custom'}
                onChange={() => update('relayMode', 'custom')}
              />
              {t('profile.relayCustom')}
            </label>
          </div>
        ) : null}
        {!usesPublicRelay(form) ? (
          <Field
            ctx={ctx}
            field="relayUrl"
            label={t('profile.relayUrl')}
            hint={t(`profile.relayUrlHint.${form.relayKind}`)}
          >
            <input
              {...fieldProps(ctx, 'relayUrl', true)}
              className="ph-mono"
              placeholder={form.relayKind === 'fpw' ? 'https://relay.example.com/' : 'wss://relay.example.com/'}
              value={form.relayUrl}
              onChange={(e) => update('relayUrl', e.target.value)}
            />
          </Field>
        ) : null}
        <Field ctx={ctx} field="host" label={t('profile.host')} hint={t('profile.hostHint')}>
          <span className="ph-inline">
            <input
              {...fieldProps(ctx, 'host', true)}
              className="ph-mono"
              value={form.host}
              placeholder={domain ? `moon-flower-snake-red-apple.${domain}` : ''}
              onChange={(e) => update('host', e.target.value)}
            />
            <button
              type="button"
              className="ph-button ph-button-small"
              disabled={domain === null}
              title={domain === null ? t('profile.generateHostNoDomain') : undefined}
              onClick={() => domain && update('host', generateHost(domain))}
            >
              {t('profile.generateHost')}
            </button>
          </span>
        </Field>
        <Field
          ctx={ctx}
          field="token"
          label={t('profile.token')}
          hint={t(profile ? 'profile.tokenHintKeep' : 'profile.tokenHintNew')}
        >
          <span className="ph-inline">
            <SecretInput
              {...fieldProps(ctx, 'token', true)}
              className="ph-mono"
              what={t('profile.token')}
              value={form.token}
              onChange={(v) => update('token', v)}
              reveal={revealer('relay.token')}
            />
            <button type="button" className="ph-button ph-button-small" onClick={() => update('token', randomToken())}>
              {t('profile.generateToken')}
            </button>
          </span>
        </Field>
      </fieldset>

      <fieldset>
        <legend>{t('profile.upstream')}</legend>
        <Field ctx={ctx} field="upstreamKind" label={t('profile.upstreamKind')}>
          <select
            {...fieldProps(ctx, 'upstreamKind')}
            value={form.upstreamKind}
            onChange={(e) => update('upstreamKind', e.target.value as ProfileForm['upstreamKind'])}
          >
            <option value="http">{t('profile.kindHttp')}</option>
            <option value="fastcgi">{t('profile.kindFastcgi')}</option>
            <option value="folder">{t('profile.kindFolder')}</option>
            <option value="tcp">{t('profile.kindTcp')}</option>
          </select>
        </Field>
        {form.upstreamKind === 'http' ? (
          <>
            <Field ctx={ctx} field="target" label={t('profile.target')} hint={t('profile.targetHint')}>
              <input
                {...fieldProps(ctx, 'target', true)}
                className="ph-mono"
                placeholder="http://127.0.0.1:3000"
                value={form.target}
                onChange={(e) => update('target', e.target.value)}
              />
            </Field>
            <label className="ph-check">
              <input type="checkbox" checked={form.insecure} onChange={(e) => update('insecure', e.target.checked)} />
              {t('profile.insecure')}
            </label>
            {form.insecure ? (
              <p className="ph-warning" role="note">
                {t('profile.insecureWarning')}
              </p>
            ) : null}
          </>
        ) : null}
        {form.upstreamKind === 'fastcgi' ? (
          <>
            <Field ctx={ctx} field="fcgiAddress" label={t('profile.fcgiAddress')} hint={t('profile.fcgiAddressHint')}>
              <input
                {...fieldProps(ctx, 'fcgiAddress', true)}
                className="ph-mono"
                placeholder="127.0.0.1:9000"
                value={form.fcgiAddress}
                onChange={(e) => update('fcgiAddress', e.target.value)}
              />
            </Field>
            <Field ctx={ctx} field="fcgiRoot" label={t('profile.fcgiRoot')}>
              <input
                {...fieldProps(ctx, 'fcgiRoot')}
                className="ph-mono"
                placeholder="/var/www/app/public"
                value={form.fcgiRoot}
                onChange={(e) => update('fcgiRoot', e.target.value)}
              />
            </Field>
            <Field ctx={ctx} field="fcgiIndex" label={t('profile.fcgiIndex')}>
              <input
                {...fieldProps(ctx, 'fcgiIndex')}
                className="ph-mono"
                value={form.fcgiIndex}
                onChange={(e) => update('fcgiIndex', e.target.value)}
              />
            </Field>
            <Field
              ctx={ctx}
              field="fcgiRemoteRoot"
              label={t('profile.fcgiRemoteRoot')}
              hint={t('profile.fcgiRemoteRootHint')}
            >
              <input
                {...fieldProps(ctx, 'fcgiRemoteRoot', true)}
                className="ph-mono"
                value={form.fcgiRemoteRoot}
                onChange={(e) => update('fcgiRemoteRoot', e.target.value)}
              />
            </Field>
            {followSymlinks}
          </>
        ) : null}
        {form.upstreamKind === 'folder' ? (
          <>
            <Field ctx={ctx} field="folderRoot" label={t('profile.folderRoot')}>
              <input
                {...fieldProps(ctx, 'folderRoot')}
                className="ph-mono"
                placeholder="/home/me/site"
                value={form.folderRoot}
                onChange={(e) => update('folderRoot', e.target.value)}
              />
            </Field>
            <label className="ph-check">
              <input type="checkbox" checked={form.listing} onChange={(e) => update('listing', e.target.checked)} />
              {t('profile.listing')}
            </label>
            <label className="ph-check">
              <input type="checkbox" checked={form.dotfiles} onChange={(e) => update('dotfiles', e.target.checked)} />
              {t('profile.dotfiles')}
            </label>
            {form.dotfiles ? (
              <p className="ph-warning" role="note">
                {t('profile.dotfilesWarning')}
              </p>
            ) : null}
            {followSymlinks}
          </>
        ) : null}
        {form.upstreamKind === 'tcp' ? (
          <>
            <p className="ph-hint">{t('profile.tcpNote')}</p>
            <Field ctx={ctx} field="tcpTarget" label={t('profile.tcpTarget')} hint={t('profile.tcpTargetHint')}>
              <input
                {...fieldProps(ctx, 'tcpTarget', true)}
                className="ph-mono"
                placeholder="127.0.0.1:6379"
                value={form.tcpTarget}
                onChange={(e) => update('tcpTarget', e.target.value)}
              />
            </Field>
            <Field
              ctx={ctx}
              field="tcpRemotePort"
              label={t('profile.tcpRemotePort')}
              hint={t('profile.tcpRemotePortHint')}
            >
              <input
                {...fieldProps(ctx, 'tcpRemotePort', true)}
                inputMode="numeric"
                value={form.tcpRemotePort}
                onChange={(e) => update('tcpRemotePort', e.target.value)}
              />
            </Field>
          </>
        ) : null}
      </fieldset>

      <fieldset>
        <legend>{t('profile.access')}</legend>
        <p className="ph-hint">{t('profile.accessHint')}</p>
        <h3 className="ph-subhead">{t('profile.basicAuth')}</h3>
        <PairRows
          ctx={ctx}
          rows={form.basicAuth}
          prefix="basicAuth"
          secret
          {...(revealer('access.basicAuth.0.password') ? { reveal: (path: string) => revealer(path)!() } : {})}
          labels={{
            a: (n) => t('profile.user', { n }),
            b: (n) => t('profile.password', { n }),
            remove: (n) => t('profile.removeUser', { n }),
          }}
          onChange={(rows) => update('basicAuth', rows)}
          addLabel={t('profile.addUser')}
        />
        <Field ctx={ctx} field="allow" label={t('profile.allow')} hint={t('profile.cidrHint')}>
          <textarea
            {...fieldProps(ctx, 'allow', true)}
            className="ph-mono"
            rows={3}
            value={form.allow}
            onChange={(e) => update('allow', e.target.value)}
          />
        </Field>
        <Field ctx={ctx} field="deny" label={t('profile.deny')} hint={t('profile.cidrHint')}>
          <textarea
            {...fieldProps(ctx, 'deny', true)}
            className="ph-mono"
            rows={3}
            value={form.deny}
            onChange={(e) => update('deny', e.target.value)}
          />
        </Field>
      </fieldset>

      <fieldset>
        <legend>{t('profile.headerRules')}</legend>
        {(['request', 'response'] as const).map((dir) => (
          <div key={dir} className="ph-header-rules">
            <h3 className="ph-subhead">{t(dir === 'request' ? 'profile.toUpstream' : 'profile.toVisitor')}</h3>
            <PairRows
              ctx={ctx}
              rows={dir === 'request' ? form.requestAdd : form.responseAdd}
              prefix={`${dir}Add`}
              labels={{
                a: (n) => t(`profile.${dir}HeaderName`, { n }),
                b: (n) => t(`profile.${dir}HeaderValue`, { n }),
                remove: (n) => t(`profile.${dir}HeaderRemove`, { n }),
              }}
              onChange={(rows) => update(dir === 'request' ? 'requestAdd' : 'responseAdd', rows)}
              addLabel={t('profile.addHeader')}
            />
            <Field
              ctx={ctx}
              field={`${dir}Remove`}
              label={t(`profile.${dir}RemoveList`)}
              hint={t('profile.removeHint')}
            >
              <textarea
                {...fieldProps(ctx, `${dir}Remove`, true)}
                className="ph-mono"
                rows={2}
                value={dir === 'request' ? form.requestRemove : form.responseRemove}
                onChange={(e) => update(dir === 'request' ? 'requestRemove' : 'responseRemove', e.target.value)}
              />
            </Field>
          </div>
        ))}
      </fieldset>

      <fieldset>
        <legend>{t('profile.advanced')}</legend>
        <Field ctx={ctx} field="workers" label={t('profile.workers')} hint={t('profile.workersHint')}>
          <input
            {...fieldProps(ctx, 'workers', true)}
            inputMode="numeric"
            value={form.workers}
            onChange={(e) => update('workers', e.target.value)}
          />
        </Field>
        <Field ctx={ctx} field="timeout" label={t('profile.timeout')}>
          <input
            {...fieldProps(ctx, 'timeout')}
            inputMode="decimal"
            value={form.timeoutSeconds}
            onChange={(e) => update('timeoutSeconds', e.target.value)}
          />
        </Field>
        <Field ctx={ctx} field="hostHeader" label={t('profile.hostHeader')}>
          <select
            {...fieldProps(ctx, 'hostHeader')}
            value={form.hostHeader}
            onChange={(e) => update('hostHeader', e.target.value as ProfileForm['hostHeader'])}
          >
            <option value="upstream">{t('profile.hostHeaderUpstream')}</option>
            <option value="visitor">{t('profile.hostHeaderVisitor')}</option>
          </select>
        </Field>
      </fieldset>

      {submitted && !validation.ok ? (
        <div className="ph-form-error" role="alert">
          <p>{t('profile.fixErrors', { count: validation.fields.length })}</p>
          <Messages ctx={ctx} field="form" />
        </div>
      ) : null}
      {serverError ? (
        <p className="ph-form-error" role="alert">
          {t('profile.saveFailed')} <span className="ph-notice-detail">{serverError}</span>
        </p>
      ) : null}
      <div className="ph-actions">
        <button type="submit" className="ph-button ph-button-primary" disabled={saving}>
          {profile ? t('profile.save') : t('profile.create')}
        </button>
        {onCancel ? (
          <button type="button" className="ph-button" onClick={onCancel}>
            {t('profile.cancel')}
          </button>
        ) : null}
      </div>
    </form>
  );
}
