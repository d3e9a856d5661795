// The citizen's wallet (亮证). Sign-in is a one-time link from the issuing
// department, /wallet#login=<token>: the token is exchanged for a session at
// once and removed from the address bar. The session lives in
// sessionStorage, gone when the tab closes; the licences only in memory.
//
// A chosen licence shows a dynamic presentation token that is replaced
// every refresh_seconds (60 s by default), with a visible countdown, so a
// screenshot goes stale. With no network the licence's static QR, already
// in memory, is shown under a clear warning.

import * as i18n from './i18n.js';
import { t } from './i18n.js';
import * as api from './api.js';
import * as qr from './qrcode.js';
import { dateTime, day, lastDay } from './time.js';

const sessionKey = 'elicence.wallet.session';
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

function say(key, params) {
  messageKey = key;
  messageParams = params;
  message.textContent = key ? t(key, params) : '';
  message.hidden = !key;
}

function saveSession(s) {
  session = s;
  try {
    if (s) sessionStorage.setItem(sessionKey, JSON.stringify(s));
    else sessionStorage.removeItem(sessionKey);
  } catch {
    // storage blocked: the session lasts for this page only
  }
}

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(sessionKey) || 'null');
    if (s && s.session && (!s.expires_at || Date.parse(s.expires_at) > Date.now())) return s;
  } catch {
    // unreadable: sign in again
  }
  return null;
}

function signedOut(key) {
  stopDynamic();
  saveSession(null);
  licences = [];
  chosen = null;
  listView.hidden = true;
  showView.hidden = true;
  say(key);
}

function statusBadge(lic) {
  let s = lic.status || 'valid';
  if (s === 'valid' && lic.valid_until && Date.parse(lic.valid_until) <= Date.now()) s = 'expired';
  return s;
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
    badge.textContent = t(`wallet.status.${status}`);
    btn.append(badge);
    fillCard(btn, lic);
    btn.addEventListener('click', () => choose(lic));
    li.append(btn);
    cards.append(li);
  }
  if (licences.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = t('wallet.none');
    cards.append(li);
  }
}

async function loadLicences() {
  say('wallet.loading');
  const r = await api.walletLicences(session.session);
  if (r.status === 401) return signedOut('wallet.sessionExpired');
  if (!r.ok) return say('wallet.loadFailed', { detail: r.network ? t('wallet.offline') : api.problemText(r) });
  licences = r.data.licences || [];
  say('');
  showView.hidden = true;
  listView.hidden = false;
  renderCards();
  return undefined;
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
  qrKind.textContent = t('wallet.static');
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
    signedOut('wallet.sessionExpired');
    return;
  }
  if (r.network || r.status >= 500) {
    showStatic();
    return;
  }
  // Refused, e.g. a revoked licence: no code to show.
  stopTicker();
  mode = '';
  qr.clear(qrBox);
  countdown.hidden = true;
  qrKind.textContent = '';
  qrHint.textContent = api.problemText(r);
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

function defaultExpiry() {
  const d = new Date(Date.now() + 7 * 86400000);
  return day(d);
}

function choose(lic) {
  chosen = lic;
  listView.hidden = true;
  showView.hidden = false;
  fillCard(showView.querySelector('.licence-card'), lic);
  $('annotate').open = false;
  $('annotated').hidden = true;
  qr.clear($('annotated-qr'));
  $('annotate-error').textContent = '';
  $('expiry').value = defaultExpiry();
  $('expiry').min = day(new Date());
  keepAwake();
  refresh();
  $('back').focus();
}

$('back').addEventListener('click', () => {
  stopDynamic();
  chosen = null;
  showView.hidden = true;
  listView.hidden = false;
  offlineBanner.hidden = true;
  cards.querySelector('button')?.focus();
});

$('retry').addEventListener('click', () => refresh());

$('signout').addEventListener('click', () => signedOut('wallet.signinNeeded'));

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

$('annotate-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const err = $('annotate-error');
  const dept = $('relying').value;
  const purpose = $('purpose').value.trim();
  const until = $('expiry').value;
  if (!dept || !purpose || !until) {
    err.textContent = t('wallet.formIncomplete');
    return;
  }
  err.textContent = '';
  const r = await api.annotatedCopy(session.session, chosen.id, {
    relying_department: dept,
    purpose,
    expires_at: `${until}T23:59:59+08:00`,
  });
  if (r.status === 401) {
    signedOut('wallet.sessionExpired');
    return;
  }
  if (!r.ok) {
    err.textContent = t('wallet.annotateFailed', { detail: r.network ? t('wallet.offline') : api.problemText(r) });
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
    if (mode) {
      qrKind.textContent = t(mode === 'static' ? 'wallet.static' : 'wallet.dynamic');
      qrHint.textContent = mode === 'dynamic' ? t('wallet.dynamicHint') : '';
      qrBox.querySelector('svg')?.setAttribute('aria-label', label());
      tick();
    }
  }
});

async function start() {
  i18n.init();
  const m = /^#login=([^&]+)/.exec(location.hash);
  if (m) {
    // The link is single-use: take it out of the address bar and history.
    history.replaceState(null, '', location.pathname + location.search);
    say('wallet.signingIn');
    const r = await api.walletSession(decodeURIComponent(m[1]));
    if (!r.ok) {
      signedOut(r.network ? 'wallet.offline' : 'wallet.signinFailed');
      return;
    }
    saveSession(r.data);
  } else {
    session = loadSession();
  }
  if (!session) {
    signedOut('wallet.signinNeeded');
    return;
  }
  await loadLicences();
}

start();
