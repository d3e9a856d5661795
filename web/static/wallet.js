// The citizen's wallet (亮证). Sign-in is through the province's identity
// provider (GET /v1/wallet/oidc/login, when the issuer offers it), which
// reaches the holder's licences of every department, or a one-time link
// from an issuing department, /wallet#login=<token>, which reaches that
// department's only. Either way the page receives a one-time token in the
// fragment, exchanges it for a session at once and removes it from the
// address bar.
//
// The licences stay on the phone: the session and the last list of
// licences (with their static QR texts) are kept in localStorage until the
// holder signs out, and the service worker keeps the page, so that the
// wallet opens with no network, a reload included, and shows the static
// code with a clear warning. The session is refreshed (its secret rotated)
// each time the page opens online, so a phone in use stays signed in.
//
// A chosen valid licence shows a dynamic presentation token that is
// replaced every refresh_seconds (60 s by default), with a visible
// countdown, so a screenshot goes stale. A revoked, suspended or expired
// licence shows its state instead, with no code and no annotated copy.

import * as i18n from './i18n.js';
import { t } from './i18n.js';
import * as api from './api.js';
import * as qr from './qrcode.js';
import { dateTime, day, lastDay } from './time.js';

const sessionKey = 'elicence.wallet.session';
const licencesKey = 'elicence.wallet.licences';
const shownKey = 'elicence.wallet.shown';
const maxCopyDays = 90;
const $ = (id) => document.getElementById(id);
const message = $('wallet-message');
const listView = $('list-view');
const showView = $('show-view');
const cards = $('cards');
const qrBox = $('qr');
const countdown = $('countdown');
const countdownBar = $('countdown-bar');
const countdownText = $('countdown-text');
const offlineBanner = $('offline-banner');
const qrKind = $('qr-kind');
const qrHint = $('qr-hint');

let session = null; // {session, holder_name, expires_at}
let licences = [];
let chosen = null; // the licence shown
let mode = ''; // 'dynamic' | 'static' | ''
let deadline = 0; // when the dynamic code is replaced, ms since epoch
let period = 60000; // refresh interval, ms
let ticker = 0;
let refreshing = false;
let again = false; // a refresh was asked for while one was running
let retry = 0; // timer retrying a dynamic code while the static one shows
let wakeLock = null;
let messageKey = '';
let messageParams = null;
let departmentsLoaded = false;
let offlineList = false; // the list shown is the one kept on the phone

function say(key, params) {
  messageKey = key;
  messageParams = params;
  message.textContent = key ? t(key, params) : '';
  message.hidden = !key;
}

function store(key, value) {
  try {
    if (value === null || value === undefined) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage blocked: it lasts for this page only
  }
}

function stored(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || 'null');
  } catch {
    return null;
  }
}

function saveSession(s) {
  session = s;
  store(sessionKey, s);
}

function loadSession() {
  const s = stored(sessionKey);
  if (s && s.session && (!s.expires_at || Date.parse(s.expires_at) > Date.now())) return s;
  return null;
}

// current returns the session kept on the phone if another tab of the
// wallet has refreshed it since this one read it.
function adoptNewer() {
  const s = loadSession();
  if (s && session && s.session !== session.session) {
    session = s;
    return true;
  }
  return false;
}

function signedOut(key) {
  stopDynamic();
  saveSession(null);
  store(licencesKey, null);
  store(shownKey, null);
  licences = [];
  chosen = null;
  listView.hidden = true;
  showView.hidden = true;
  showSignIn();
  say(key);
}

let signInOptions = null;

async function showSignIn() {
  $('signin-view').hidden = false;
  if (!signInOptions) {
    const r = await api.walletSignIn();
    signInOptions = r.ok ? r.data : { oidc: false };
  }
  $('signin-oidc-wrap').hidden = !signInOptions.oidc;
  $('signin-oidc-hint').hidden = !signInOptions.oidc;
  if (signInOptions.oidc_login_url) $('signin-oidc').href = signInOptions.oidc_login_url;
}

function statusBadge(lic) {
  let s = lic.status || 'valid';
  if (s === 'valid' && lic.valid_until && Date.parse(lic.valid_until) <= Date.now()) s = 'expired';
  return s;
}

// stateWord words a licence's state, with its reason where known
// (已吊销 is a penalty; a holder's own cancellation is 已注销).
function stateWord(lic) {
  const s = statusBadge(lic);
  const key = `wallet.state.${s}.${lic.status_reason || ''}`;
  return i18n.has(key) ? t(key) : t(`wallet.state.${s}`);
}

function validityText(lic) {
  if (!lic.valid_until) return t('validity.forever', { from: day(lic.valid_from) });
  return t('validity.range', { from: day(lic.valid_from), until: lastDay(lic.valid_until) });
}

function fillCard(el, lic) {
  el.querySelector('.card-type').textContent = lic.type_name || lic.type_code;
  el.querySelector('.card-holder').textContent = lic.holder_name;
  el.querySelector('.card-id').textContent = lic.holder_id;
  el.querySelector('.card-issuer').textContent = lic.issuer_name || lic.issuer_code || '';
  el.querySelector('.card-validity').textContent = `${t('field.validity')}：${validityText(lic)}`;
  const lid = el.querySelector('.card-lid');
  if (lid) lid.textContent = `${t('wallet.licenceId')}：${lic.id}`;
  const logLine = el.querySelector('.card-log');
  if (logLine) logLine.hidden = !fillLogLine(logLine, lic.log);
  el.dataset.status = statusBadge(lic);
}

// fillLogLine says where the licence is in its department's issuance log
// (the issuer's lookup: included, pending, missing, unavailable); false
// when the department keeps no log.
function fillLogLine(el, log) {
  if (!log) return false;
  const key = `wallet.log.${log.state}`;
  el.dataset.state = log.state;
  el.textContent = t(i18n.has(key) ? key : 'wallet.log.unavailable', { index: log.index, size: log.checkpoint_size });
  return true;
}

function renderCards() {
  cards.replaceChildren();
  $('holder-name').textContent = session?.holder_name || '';
  for (const lic of licences) {
    const li = document.createElement('li');
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'licence-card';
    btn.dataset.id = lic.id;
    const status = statusBadge(lic);
    btn.dataset.status = status;
    for (const cls of ['card-type', 'card-holder', 'card-id', 'card-issuer', 'card-validity']) {
      const p = document.createElement(cls === 'card-type' ? 'strong' : 'span');
      p.className = cls;
      btn.append(p);
    }
    const badge = document.createElement('span');
    badge.className = `badge ${status}`;
    badge.textContent = stateWord(lic);
    btn.append(badge);
    fillCard(btn, lic);
    btn.addEventListener('click', () => choose(lic));
    li.append(btn);
    cards.append(li);
  }
  if (licences.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = t(session?.all_departments ? 'wallet.noneAll' : 'wallet.none');
    cards.append(li);
  }
  $('scope-hint').textContent = t(session?.all_departments ? 'wallet.scopeHintAll' : 'wallet.scopeHint');
  const note = $('offline-note');
  note.hidden = !offlineList;
  if (offlineList) {
    const kept = stored(licencesKey);
    note.textContent = t('wallet.offlineList', { at: dateTime(kept?.saved_at) || '' });
  }
}

function showList() {
  $('signin-view').hidden = true;
  showView.hidden = true;
  listView.hidden = false;
  renderCards();
}

// loadLicences fetches the list, or shows the one kept on the phone when
// there is no network; it reopens the licence last shown.
async function loadLicences() {
  const kept = stored(licencesKey);
  if (!kept) say('wallet.loading');
  let r = await api.walletLicences(session.session);
  if (r.status === 401 && adoptNewer()) r = await api.walletLicences(session.session);
  if (r.status === 401) return signedOut('wallet.sessionExpired');
  if (r.ok) {
    licences = r.data.licences || [];
    offlineList = false;
    store(licencesKey, { saved_at: new Date().toISOString(), licences });
  } else if (kept && (r.network || r.status >= 500)) {
    licences = kept.licences || [];
    offlineList = true;
  } else {
    return say(r.network ? 'wallet.offlineNothing' : 'wallet.loadFailedPlain');
  }
  say('');
  const shown = stored(shownKey);
  const again = shown && licences.find((l) => l.id === shown);
  if (again) choose(again, false);
  else showList();
  return undefined;
}

// refreshSession rotates the session's secret and extends it; without a
// network it keeps the one it has.
async function refreshSession() {
  const r = await api.walletRefresh(session.session);
  if (r.ok) {
    saveSession({ ...session, ...r.data });
  } else if (r.status === 401 && !adoptNewer()) {
    signedOut('wallet.sessionExpired');
    return false;
  }
  return true;
}

// Showing a licence.

function label() {
  const type = chosen ? chosen.type_name || chosen.type_code : '';
  return t('wallet.qrLabel', { type: `${type} ${t(mode === 'static' ? 'wallet.static' : 'wallet.dynamic')}` });
}

// retryEvery is how often the static code's page tries again for a dynamic
// one, in case the network came back without an 'online' event.
const retryEvery = 10000;

function showStatic() {
  stopTicker();
  clearTimeout(retry);
  retry = setTimeout(refresh, retryEvery);
  mode = 'static';
  qr.draw(qrBox, chosen.qr_text, label());
  qrBox.dataset.kind = 'static';
  qrKind.dataset.kind = 'static';
  qrKind.textContent = t('wallet.staticOffline');
  qrHint.textContent = '';
  countdown.hidden = true;
  offlineBanner.hidden = false;
}

function showDynamic(p) {
  clearTimeout(retry);
  mode = 'dynamic';
  offlineBanner.hidden = true;
  qr.draw(qrBox, p.qr_text, label());
  qrBox.dataset.kind = 'dynamic';
  qrKind.dataset.kind = 'dynamic';
  qrBox.dataset.expiresAt = p.expires_at || '';
  qrKind.textContent = t('wallet.dynamic');
  qrHint.textContent = t('wallet.dynamicHint');
  const secs = Number(p.refresh_seconds) > 0 ? Number(p.refresh_seconds) : 60;
  period = secs * 1000;
  deadline = Date.now() + period;
  countdown.hidden = false;
  startTicker();
  tick();
}

async function refresh() {
  if (!chosen) return;
  if (refreshing) {
    again = true; // e.g. back online while a request made offline fails
    return;
  }
  if (!navigator.onLine) {
    showStatic();
    return;
  }
  refreshing = true;
  again = false;
  countdownText.textContent = t('wallet.refreshing');
  const id = chosen.id;
  const r = await api.presentation(session.session, id);
  refreshing = false;
  if (!chosen || chosen.id !== id) return;
  if (again && !r.ok) {
    refresh();
    return;
  }
  if (r.ok) {
    showDynamic(r.data);
    return;
  }
  if (r.status === 401) {
    if (adoptNewer()) {
      refresh();
      return;
    }
    signedOut('wallet.sessionExpired');
    return;
  }
  if (r.network || r.status >= 500) {
    showStatic();
    return;
  }
  // Refused, e.g. a licence revoked since the list was loaded: no code.
  stopTicker();
  mode = '';
  qr.clear(qrBox);
  countdown.hidden = true;
  qrKind.textContent = '';
  qrHint.textContent = t(r.status === 429 ? 'wallet.err.rateLimited' : 'wallet.err.presentRefused');
}

function tick() {
  if (mode !== 'dynamic') return;
  const left = deadline - Date.now();
  if (left <= 0) {
    refresh();
    return;
  }
  const s = Math.ceil(left / 1000);
  countdownText.textContent = t('wallet.countdown', { s });
  countdownText.dataset.seconds = String(s);
  countdownBar.style.width = `${Math.max(0, Math.min(100, (left / period) * 100))}%`;
}

function startTicker() {
  stopTicker();
  ticker = setInterval(tick, 250);
}

function stopTicker() {
  clearInterval(ticker);
  ticker = 0;
}

function stopDynamic() {
  stopTicker();
  clearTimeout(retry);
  mode = '';
  qr.clear(qrBox);
  wakeLock?.release().catch(() => {});
  wakeLock = null;
}

async function keepAwake() {
  try {
    wakeLock = await navigator.wakeLock?.request('screen');
  } catch {
    wakeLock = null; // not allowed: the phone may dim
  }
}

function dayAfter(days) {
  return day(new Date(Date.now() + days * 86400000));
}

function defaultExpiry() {
  return dayAfter(7);
}

// usable reports whether a licence may be shown and annotated now.
function usable(lic) {
  return statusBadge(lic) === 'valid';
}

function showState(lic) {
  const s = statusBadge(lic);
  $('state-panel').dataset.status = s;
  $('state-word').textContent = stateWord(lic);
  const params = { date: dateTime(lic.status_changed_at) || '', issuer: lic.issuer_name || lic.issuer_code || '' };
  let key = `wallet.stateText.${s}`;
  if ((s === 'revoked' || s === 'suspended') && params.date) key += 'At';
  $('state-text').textContent = t(key, params);
}

function choose(lic, focus = true) {
  chosen = lic;
  store(shownKey, lic.id);
  $('signin-view').hidden = true;
  listView.hidden = true;
  showView.hidden = false;
  fillCard(showView.querySelector('.licence-card'), lic);
  $('annotate').open = false;
  $('annotated').hidden = true;
  qr.clear($('annotated-qr'));
  $('annotate-error').textContent = '';
  $('expiry').value = defaultExpiry();
  $('expiry').min = dayAfter(1);
  $('expiry').max = dayAfter(maxCopyDays);
  const ok = usable(lic);
  // Offer only what the licence allows: no code, no annotated copy for a
  // revoked, suspended or expired one.
  $('state-panel').hidden = ok;
  $('show-qr').hidden = !ok;
  $('annotate').hidden = !ok;
  if (ok) {
    keepAwake();
    refresh();
  } else {
    stopDynamic();
    offlineBanner.hidden = true;
    showState(lic);
  }
  if (focus) $('back').focus();
}

$('back').addEventListener('click', () => {
  stopDynamic();
  chosen = null;
  store(shownKey, null);
  offlineBanner.hidden = true;
  showList();
  cards.querySelector('button')?.focus();
});

$('retry').addEventListener('click', () => refresh());

$('signout').addEventListener('click', async () => {
  const s = session;
  signedOut('wallet.signedOut');
  // Ends the session on the server too; offline, the phone forgets it
  // anyway and the session lapses.
  if (s) await api.walletSignOut(s.session);
});

window.addEventListener('offline', () => {
  if (chosen) showStatic();
});
window.addEventListener('online', () => {
  if (chosen) refresh();
});
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && chosen) {
    if (mode === 'dynamic') tick();
    if (wakeLock === null) keepAwake();
  }
});

// Annotated copies (加注件).

async function loadDepartments() {
  if (departmentsLoaded) return;
  const r = await api.departments();
  if (!r.ok) return;
  departmentsLoaded = true;
  const sel = $('relying');
  for (const d of r.data.departments || r.data || []) {
    const o = document.createElement('option');
    o.value = d.code;
    o.textContent = d.name ? `${d.name}` : d.code;
    sel.append(o);
  }
}

$('annotate').addEventListener('toggle', () => {
  if ($('annotate').open) loadDepartments();
});

// copyError words a refused annotated copy: each field's own message,
// never the server's English.
function copyError(r) {
  if (r.network) return t('wallet.offline');
  if (r.status === 429) return t('wallet.err.rateLimited');
  const fields = (r.problem && r.problem.errors) || [];
  const msgs = [];
  for (const f of fields) {
    const key = { expires_at: 'wallet.err.expiry', expires_in_days: 'wallet.err.expiry', purpose: 'wallet.err.purpose', relying_department: 'wallet.err.dept' }[f.field];
    if (key && !msgs.includes(t(key))) msgs.push(t(key));
  }
  if (msgs.length) return msgs.join(' ');
  if (r.status === 404) return t('wallet.err.gone');
  if (r.status === 409 || r.status === 422) return t('wallet.err.notUsable');
  return t('wallet.err.generic');
}

$('annotate-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const err = $('annotate-error');
  const dept = $('relying').value;
  const purpose = $('purpose').value.trim();
  const until = $('expiry').value;
  const problems = [];
  if (!dept) problems.push(t('wallet.err.deptMissing'));
  if (!purpose) problems.push(t('wallet.err.purposeMissing'));
  if (!until) problems.push(t('wallet.err.expiryMissing'));
  else if (until < dayAfter(1)) problems.push(t('wallet.err.expiryPast'));
  else if (until > dayAfter(maxCopyDays)) problems.push(t('wallet.err.expiryTooLong', { max: maxCopyDays }));
  if (problems.length) {
    err.textContent = problems.join(' ');
    return;
  }
  err.textContent = '';
  // The end of the chosen day in China, but never past 90 days from now.
  const latest = Date.now() + maxCopyDays * 86400000 - 60000;
  const end = Math.min(Date.parse(`${until}T23:59:59+08:00`), latest);
  const r = await api.annotatedCopy(session.session, chosen.id, {
    relying_department: dept,
    purpose,
    expires_at: new Date(end).toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  if (r.status === 401) {
    signedOut('wallet.sessionExpired');
    return;
  }
  if (!r.ok) {
    err.textContent = t('wallet.annotateFailed', { detail: copyError(r) });
    return;
  }
  const deptName = $('relying').selectedOptions[0]?.textContent || dept;
  qr.draw($('annotated-qr'), r.data.qr_text, `${t('wallet.annotated')} ${deptName}`);
  $('annotated-info').textContent = t('wallet.annotatedFor', {
    dept: deptName,
    purpose,
    until: dateTime(r.data.expires_at) || until,
  });
  $('annotated').hidden = false;
  $('annotated').scrollIntoView({ block: 'nearest' });
});

i18n.onChange(() => {
  say(messageKey, messageParams);
  if (!listView.hidden) renderCards();
  if (chosen) {
    fillCard(showView.querySelector('.licence-card'), chosen);
    if (!usable(chosen)) showState(chosen);
    if (mode) {
      qrKind.textContent = t(mode === 'static' ? 'wallet.staticOffline' : 'wallet.dynamic');
      qrHint.textContent = mode === 'dynamic' ? t('wallet.dynamicHint') : '';
      qrBox.querySelector('svg')?.setAttribute('aria-label', label());
      tick();
    }
  }
});

async function start() {
  i18n.init();
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/wallet-sw.js', { scope: '/wallet' }).catch(() => {
      // no offline copy of the page: the licences are still kept
    });
  }
  const m = /^#login=([^&]+)/.exec(location.hash);
  const failed = /^#signin_error=([a-z_]+)/.exec(location.hash);
  if (m || failed) {
    // The link is single-use: take it out of the address bar and history.
    history.replaceState(null, '', location.pathname + location.search);
  }
  if (failed) {
    const key = `wallet.signinError.${failed[1]}`;
    signedOut(i18n.has(key) ? key : 'wallet.signinError.other');
    return;
  }
  if (m) {
    say('wallet.signingIn');
    const r = await api.walletSession(decodeURIComponent(m[1]));
    if (!r.ok) {
      signedOut(r.network ? 'wallet.offline' : 'wallet.signinFailed');
      return;
    }
    // A new sign-in replaces what another one kept.
    store(licencesKey, null);
    store(shownKey, null);
    saveSession(r.data);
  } else {
    session = loadSession();
    if (session && navigator.onLine && !(await refreshSession())) return;
  }
  if (!session) {
    signedOut('wallet.signinChoose');
    return;
  }
  await loadLicences();
}

start();
