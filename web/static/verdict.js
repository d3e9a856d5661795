// The verdict card shared by the counter and the public verification page:
// a large green 通过 / red 不通过 / amber 无法确定 with an icon and a word
// (never colour alone), the reason in plain language and the licence's
// disclosed fields. The head of the card is an assertive live region, so a
// screen reader announces every verdict.

import { t } from './i18n.js';
import { clock, dateTime, day, lastDay, shortTime } from './time.js';
import { problemText } from './api.js';

const icons = { PASSED: '✓', FAILED: '✗', INDETERMINATE: '?' };
const classes = { PASSED: 'pass', FAILED: 'fail', INDETERMINATE: 'unsure' };

/** outcome turns an API answer into what the card shows. */
export function outcome(answer) {
  if (answer.ok) return { report: answer.data };
  if (answer.network) return { local: 'network' };
  return { local: 'refused', detail: problemText(answer) };
}

/** indicationOf returns PASSED, FAILED or INDETERMINATE for an outcome. */
export function indicationOf(o) {
  return o.report?.indication || 'INDETERMINATE';
}

/** word is the one-word verdict of an outcome. */
export function word(o) {
  return t(`verdict.${indicationOf(o)}`);
}

function statusDate(r) {
  const s = r.status || {};
  if (s.revoked_at || s.changed_at) return t('reason.revokedAt', { date: dateTime(s.revoked_at || s.changed_at) });
  if (s.issued_at) return t('reason.statusAsOf', { date: dateTime(s.issued_at) });
  return t('reason.statusAsOf', { date: dateTime(r.verified_at) });
}

/** reason says in plain words why an outcome is what it is. */
export function reason(o) {
  if (o.local === 'network') return t('reason.network');
  if (o.local === 'refused') return t('reason.refused', { detail: o.detail });
  const r = o.report;
  const lic = r.licence || {};
  const ann = r.annotation || {};
  if (r.indication === 'PASSED') {
    if (r.kind === 'annotated copy') return t('reason.PASSED.annotated', { purpose: ann.purpose || '' });
    if (r.kind === 'presentation') return t('reason.PASSED.presentation');
    return t('reason.PASSED');
  }
  const sub = r.sub_indication || '';
  const key = `reason.${sub}`;
  const params = { code: sub || r.indication, dept: ann.relying_department_name || ann.relying_department || '' };
  switch (sub) {
    case 'REVOKED':
    case 'SUSPENDED':
      params.date = statusDate(r);
      break;
    case 'EXPIRED':
      params.date = lastDay(lic.valid_until);
      break;
    case 'NOT_YET_VALID':
      params.date = day(lic.valid_from);
      break;
    case 'ANNOTATION_EXPIRED':
      params.date = dateTime(ann.expires);
      break;
    case 'KEY_COMPROMISED': {
      const m = /since (\S+)/.exec(r.reason || '');
      params.date = m ? dateTime(m[1]) : '';
      break;
    }
  }
  const known = t(key) !== key;
  return known ? t(key, params) : t('reason.unknown', params);
}

function validity(lic) {
  if (!lic.valid_from) return '';
  if (!lic.valid_until) return t('validity.forever', { from: day(lic.valid_from) });
  return t('validity.range', { from: day(lic.valid_from), until: lastDay(lic.valid_until) });
}

/** rows lists the label/value pairs the card shows for a report. */
export function rows(r) {
  const out = [];
  const add = (label, value, cls) => {
    if (value) out.push({ label, value, cls });
  };
  const lic = r.licence;
  if (lic) {
    add(t('field.type'), lic.type_name || lic.type_code, 'major');
    add(t('field.holder'), lic.holder_name, 'major');
    add(t('field.holderId'), lic.holder_id, 'major');
  }
  if (r.issuer) add(t('field.issuer'), r.issuer.name ? r.issuer.name : r.issuer.code, 'major');
  if (lic) {
    add(t('field.validity'), validity(lic), 'major');
    for (const f of lic.fields || []) add(f.label || f.key, f.value, 'minor');
  }
  if (r.presentation) add(t('field.presentation'), clock(r.presentation.expires), 'minor');
  if (r.annotation) {
    const a = r.annotation;
    add(t('field.relying'), a.relying_department_name || a.relying_department, 'major');
    add(t('field.purpose'), a.purpose, 'major');
    add(t('field.annotationUntil'), dateTime(a.expires), 'minor');
  }
  if (r.status?.issued_at) add(t('field.status'), t('status.asOf', { date: dateTime(r.status.issued_at) }), 'minor');
  if (lic) add(t('field.id'), lic.id, 'minor id');
  return out;
}

/**
 * render shows an outcome on the card section; null shows the idle card,
 * 'pending' a card waiting for the answer.
 */
export function render(section, o) {
  const head = section.querySelector('.verdict-head');
  const icon = section.querySelector('.verdict-icon');
  const wordEl = section.querySelector('.verdict-word');
  const reasonEl = section.querySelector('.verdict-reason');
  const dl = section.querySelector('.verdict-fields');
  const details = section.querySelector('.verdict-checks');
  dl.replaceChildren();
  details.hidden = true;
  details.querySelector('ol').replaceChildren();
  wordEl.removeAttribute('data-i18n');
  if (o === null || o === 'pending') {
    section.className = `verdict ${o === null ? 'idle' : 'pending'}`;
    section.dataset.indication = '';
    section.dataset.subIndication = '';
    icon.textContent = o === null ? '⌁' : '…';
    wordEl.textContent = t(o === null ? 'verdict.idle' : 'verdict.pending');
    reasonEl.textContent = '';
    head.setAttribute('aria-busy', o === 'pending' ? 'true' : 'false');
    return;
  }
  const ind = indicationOf(o);
  section.className = `verdict ${classes[ind]}`;
  section.dataset.indication = ind;
  section.dataset.subIndication = o.report?.sub_indication || (o.local ? o.local.toUpperCase() : '');
  icon.textContent = icons[ind];
  wordEl.textContent = word(o);
  reasonEl.textContent = reason(o);
  head.setAttribute('aria-busy', 'false');
  if (!o.report) return;
  for (const row of rows(o.report)) {
    const div = document.createElement('div');
    div.className = row.cls;
    const dt = document.createElement('dt');
    dt.textContent = row.label;
    const dd = document.createElement('dd');
    dd.textContent = row.value;
    div.append(dt, dd);
    dl.append(div);
  }
  const ol = details.querySelector('ol');
  for (const c of o.report.checks || []) {
    const li = document.createElement('li');
    li.className = `check ${String(c.result).toLowerCase()}`;
    li.textContent = `${c.name}: ${c.result}${c.detail ? ` — ${c.detail}` : ''}`;
    ol.append(li);
  }
  if (o.report.verified_at) {
    const li = document.createElement('li');
    li.textContent = `verified_at: ${clock(o.report.verified_at)}`;
    ol.append(li);
  }
  details.hidden = ol.children.length === 0;
}

/**
 * maskName hides most of a name for lists that stay on screen: 张三 → 张*,
 * 北京某某科技有限公司 → 北京******公司.
 */
export function maskName(name) {
  const cs = Array.from(name || '');
  if (cs.length <= 1) return cs.join('');
  if (cs.length <= 3) return cs[0] + '*'.repeat(cs.length - 1);
  return cs.slice(0, 2).join('') + '*'.repeat(cs.length - 4) + cs.slice(-2).join('');
}

/** summary is a one-line record of an outcome for the recent-scans list. */
export function summary(o, at) {
  const lic = o.report?.licence || {};
  return {
    time: shortTime(at),
    indication: indicationOf(o),
    word: word(o),
    type: lic.type_name || lic.type_code || '',
    holder: lic.holder_name ? `${maskName(lic.holder_name)} ${lic.holder_id || ''}`.trim() : '',
    reason: reason(o),
  };
}
