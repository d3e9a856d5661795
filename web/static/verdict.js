// The verdict card shared by the counter and the public verification page.
// Four verdicts, each with its own colour, icon, word and shape, so that
// none depends on colour alone:
//
//   PASSED        green  ✓ in a circle, solid border           通过
//   FAILED        red    ✗ in an octagon, hatched head, double  不通过
//   INDETERMINATE amber  ? in a triangle, dashed border         无法确定
//   UNREADABLE    grey   ⌀ in a square, dotted border           未能识别
//
// FAILED is kept for a licence that was read and truly fails. Input that
// could not be read as a licence (a Chinese input method's full-width
// characters, a truncated scan, another system's QR code) is UNREADABLE,
// with the likely cause and what to do; a verifier that did not answer in
// time, could not be reached or refused the request is INDETERMINATE. The
// head of the card is an assertive live region, so a screen reader
// announces every verdict.

import { t } from './i18n.js';
import { clock, dateTime, day, lastDay, shortTime } from './time.js';

/** Verdicts as the card shows them (data-indication). */
export const PASSED = 'PASSED';
export const FAILED = 'FAILED';
export const INDETERMINATE = 'INDETERMINATE';
export const UNREADABLE = 'UNREADABLE';

const icons = { PASSED: '✓', FAILED: '✗', INDETERMINATE: '?', UNREADABLE: '⌀' };
const classes = { PASSED: 'pass', FAILED: 'fail', INDETERMINATE: 'unsure', UNREADABLE: 'unreadable' };
const words = {
  PASSED: 'verdict.PASSED',
  FAILED: 'verdict.FAILED',
  INDETERMINATE: 'verdict.INDETERMINATE',
  UNREADABLE: 'verdict.UNREADABLE',
};

/**
 * unreadableSubs maps the verifier's sub-indications that mean "this text
 * is not a readable licence" to their cause. They say nothing about a
 * licence, so they are not red:
 *
 *   UNSUPPORTED_FORMAT  no e-licence prefix: another system's QR code
 *   ENCODING_FAILURE    invalid Base45: characters lost or changed in the scan
 *   FORMAT_FAILURE      truncated or malformed data: an incomplete scan
 *   INPUT_TOO_LARGE     longer than any QR code: not one e-licence code
 *   TRAILING_DATA       more after the signed object: two scans run together
 *
 * Every other FAILED sub-indication (signature, key, issuer, status,
 * validity, NON_CANONICAL, HASH_FAILURE …) concerns a licence that was read,
 * and stays red.
 */
export const unreadableSubs = {
  UNSUPPORTED_FORMAT: 'foreign',
  ENCODING_FAILURE: 'garbled',
  FORMAT_FAILURE: 'truncated',
  INPUT_TOO_LARGE: 'tooLong',
  TRAILING_DATA: 'glued',
};

/**
 * docUnreadableSubs maps the sub-indications that mean "this upload is no
 * signed document the verifier can read" to their cause. Every other
 * FAILED sub-indication of an upload is red: a changed byte
 * (HASH_FAILURE) and content appended after the signature (TRAILING_DATA,
 * which for a scanned text means two scans run together) included.
 *
 *   UNSUPPORTED_FORMAT  not a PDF, and no .p7s sent with it
 *   FORMAT_FAILURE      no elicence signature in the PDF (unsigned, the
 *                       signature removed, a damaged file), or a .p7s that
 *                       is no SM2 CMS signature (cause sigUnreadable)
 */
export const docUnreadableSubs = {
  UNSUPPORTED_FORMAT: 'notPdf',
  FORMAT_FAILURE: 'docUnsigned',
};

/**
 * The causes of an unreadable input, each with a cause and a hint message;
 * the doc… ones are of an uploaded file. docTooLarge, docEmpty, sigEmpty,
 * notPdf and docNoRead are found in the page, before anything is sent; the others
 * are the verifier's answer or its problem details, translated.
 */
export const unreadableCauses = ['ime', 'foreign', 'garbled', 'truncated', 'tooLong', 'glued',
  'notPdf', 'docUnsigned', 'sigUnreadable', 'docTooLarge', 'docTooLargeServer', 'docEmpty', 'sigEmpty',
  'docNoRead', 'docMissing', 'docPartTwice', 'docPartUnknown', 'docRejected', 'docBadForm'];

// Messages of the verifier's sub-indications, for a licence that was read.
const reasonKeys = {
  UNKNOWN_ISSUER: 'reason.UNKNOWN_ISSUER',
  UNKNOWN_KEY: 'reason.UNKNOWN_KEY',
  SIG_CRYPTO_FAILURE: 'reason.SIG_CRYPTO_FAILURE',
  KEY_COMPROMISED: 'reason.KEY_COMPROMISED',
  KEY_RETIRED: 'reason.KEY_RETIRED',
  TYPE_NOT_AUTHORISED: 'reason.TYPE_NOT_AUTHORISED',
  NOT_YET_VALID: 'reason.NOT_YET_VALID',
  EXPIRED: 'reason.EXPIRED',
  PRESENTATION_NOT_YET_VALID: 'reason.PRESENTATION_NOT_YET_VALID',
  PRESENTATION_EXPIRED: 'reason.PRESENTATION_EXPIRED',
  FUTURE_DATED: 'reason.FUTURE_DATED',
  LIFETIME_TOO_LONG: 'reason.LIFETIME_TOO_LONG',
  ANNOTATION_EXPIRED: 'reason.ANNOTATION_EXPIRED',
  WRONG_RELYING_DEPARTMENT: 'reason.WRONG_RELYING_DEPARTMENT',
  NON_CANONICAL: 'reason.NON_CANONICAL',
  REVOKED: 'reason.REVOKED',
  SUSPENDED: 'reason.SUSPENDED',
  HASH_FAILURE: 'reason.HASH_FAILURE',
  TRY_LATER: 'reason.TRY_LATER',
  STATUS_UNKNOWN: 'reason.STATUS_UNKNOWN',
};

// Messages of the sub-indications whose licence wording does not fit a
// signed document (cli/report.go documentZH says the same), used for every
// report of kind "document receipt": an uploaded file or a scanned receipt.
const docReasonKeys = {
  HASH_FAILURE: 'doc.HASH_FAILURE',
  TRAILING_DATA: 'doc.TRAILING_DATA',
  REVOKED: 'doc.REVOKED',
  TYPE_NOT_AUTHORISED: 'doc.TYPE_NOT_AUTHORISED',
  SIG_CRYPTO_FAILURE: 'doc.SIG_CRYPTO_FAILURE',
  UNKNOWN_KEY: 'doc.UNKNOWN_KEY',
  UNKNOWN_ISSUER: 'doc.UNKNOWN_ISSUER',
  KEY_RETIRED: 'doc.KEY_RETIRED',
  FUTURE_DATED: 'doc.FUTURE_DATED',
  TRY_LATER: 'doc.TRY_LATER',
  STATUS_UNKNOWN: 'doc.STATUS_UNKNOWN',
};

/**
 * docStatusWords words a rescinded document (the revoked bit of its
 * status-list slot) by the issuer's rescission reason
 * (issuer.RescindReasons): 已撤回, never a licence's 吊销 or 注销.
 */
const docStatusWords = {
  withdrawn: 'docStatus.withdrawn',
  issued_in_error: 'docStatus.issued_in_error',
  other: 'docStatus.other',
  '': 'docStatus.unknown',
};

/** docPassKeys says what a passed document check proves, by how it was checked. */
const docPassKeys = {
  pdf: 'doc.PASSED.pdf',
  p7s: 'doc.PASSED.p7s',
  '': 'doc.PASSED.receipt',
};

/** isDocument reports whether a report is of a signed document. */
function isDocument(r) {
  return r?.kind === 'document receipt';
}

/**
 * statusWords words a revocation or suspension by its reason code (the
 * issuer's codes, docs/openapi.yaml): 注销 is a cancellation (the holder's
 * request, the business closed), 撤销 undoes a licence that should not have
 * been issued, 吊销 is a penalty. The verifier's report carries the code
 * as status.reason when the status data has one; without it the card says
 * only that the issuing department ended the licence, never 吊销.
 */
const statusWords = {
  revoked: {
    cancelled: 'status.revoked.cancelled',
    holder_request: 'status.revoked.holder_request',
    withdrawn: 'status.revoked.withdrawn',
    issued_in_error: 'status.revoked.issued_in_error',
    penalty: 'status.revoked.penalty',
    superseded: 'status.revoked.superseded',
    other: 'status.revoked.other',
    '': 'status.revoked.unknown',
  },
  suspended: {
    investigation: 'status.suspended.investigation',
    holder_request: 'status.suspended.holder_request',
    other: 'status.suspended.other',
    '': 'status.suspended.unknown',
  },
};

// Problem types (the last part of an RFC 9457 type URI) of a refused
// request, as the card words them; a problem the page cannot act on is
// INDETERMINATE with the HTTP status as its code, never English text.
const problemKeys = {
  'rate-limited': 'problem.rateLimited',
  unavailable: 'problem.unavailable',
  internal: 'problem.internal',
};

/** kindKeys words what kind of code was scanned, so the clerk knows whether a screenshot could pass. */
const kindKeys = {
  credential: 'codeKind.credential',
  presentation: 'codeKind.presentation',
  'annotated copy': 'codeKind.annotated',
};

/**
 * precheck returns the outcome of a scanned text that need not be sent: a
 * text with characters outside ASCII came through a Chinese input method
 * (full-width ：or Ｌ, 。…), which no e-licence code contains.
 */
export function precheck(text) {
  if (/[^\x20-\x7e]/.test(text)) return { local: 'unreadable', cause: 'ime' };
  return null;
}

/**
 * outcome turns an API answer into what the card shows; text is what was
 * sent, which tells two scans run together from one garbled scan. upload,
 * for POST /v1/verify/document, describes the file sent ({name, size,
 * total, sig}; total counts its .p7s too): the report is then worded as a
 * file's, and a refused upload by its problem details, translated.
 */
export function outcome(answer, text = '', upload = null) {
  const o = answerOutcome(answer, text, upload);
  if (upload) o.upload = upload;
  return o;
}

function answerOutcome(answer, text, upload) {
  if (answer.ok) return { report: answer.data, text };
  if (answer.timeout) return { local: 'timeout' };
  if (answer.network) return { local: 'network' };
  const p = answer.problem || {};
  const type = String(p.type || '').split('/').pop();
  if (upload) {
    const cause = uploadCause(answer.status, type, p);
    if (cause) return { local: 'unreadable', cause: cause.cause, params: cause.params, notChecked: true, problem: p, status: answer.status };
  }
  if (answer.status === 413 || type === 'too-large') return { local: 'unreadable', cause: 'tooLong', problem: p, status: answer.status };
  return { local: 'refused', type, status: answer.status, problem: p };
}

// fieldWords names the parts of the upload form a problem may name.
const fieldWords = { file: 'doc.part.file', signature: 'doc.part.signature' };

/**
 * uploadCause translates the problem details of a refused document upload
 * (api.ReadMultipart, verifierapi's document handler) into a cause: the
 * field and the start of its reason, never the English text itself, which
 * stays under the technical details. A problem the page cannot word (429,
 * 503, 500) is null: the amber card with a retry.
 */
function uploadCause(status, type, p) {
  if (status === 413 || type === 'too-large') return { cause: 'docTooLargeServer' };
  if (status === 400 || status === 415) return { cause: 'docBadForm' };
  if (status !== 422) return null;
  const e = (p.errors || [])[0] || {};
  const field = String(e.field || '');
  const why = String(e.reason || '');
  if (field === 'file' && why.startsWith('required')) return { cause: 'docMissing' };
  if (field === 'signature' && why.startsWith('empty')) return { cause: 'sigEmpty' };
  if (why.startsWith('sent more than once')) return { cause: 'docPartTwice', params: { part: partName(field) } };
  if (why.startsWith('unknown part')) return { cause: 'docPartUnknown', params: { part: partName(field) } };
  return { cause: 'docRejected', params: { part: partName(field) } };
}

function partName(field) {
  return fieldWords[field] ? t(fieldWords[field]) : field || '?';
}

/** indicationOf returns PASSED, FAILED, INDETERMINATE or UNREADABLE for an outcome. */
export function indicationOf(o) {
  if (o.local === 'unreadable') return UNREADABLE;
  if (o.publicCopy) return INDETERMINATE;
  if (o.local) return INDETERMINATE;
  const r = o.report;
  if (r.indication === 'PASSED') return PASSED;
  if (r.indication === 'FAILED' && (o.upload ? docUnreadableSubs : unreadableSubs)[r.sub_indication]) return UNREADABLE;
  if (r.indication === 'FAILED') return FAILED;
  return INDETERMINATE;
}

// joined matches a text holding a second e-licence prefix or URL after its
// start: two scans run together. (Base45 may hold "LC1:" by chance, so this only
// chooses the hint of a text the verifier already found unreadable.)
// A version-2 prefix right after a '/' is the text of a QR URL, not a
// second scan.
const joined = /.HTTPS?:\/\/|.L[CPA]1:|[^/]L[CPAD]2:/;

/** causeOf returns the cause of an UNREADABLE outcome. */
function causeOf(o) {
  if (o.local === 'unreadable') return o.cause;
  if (o.upload) {
    const cause = docUnreadableSubs[o.report?.sub_indication];
    return cause === 'docUnsigned' && o.upload.sig ? 'sigUnreadable' : cause;
  }
  const cause = unreadableSubs[o.report?.sub_indication];
  if (cause !== 'foreign' && o.text && joined.test(o.text)) return 'glued';
  return cause;
}

/** causeParams fills an unreadable cause's message: the page's own, or the uploaded file's name. */
function causeParams(o) {
  return o.params || (o.upload ? { name: o.upload.name } : undefined);
}

/**
 * word is the one-word verdict of an outcome. An upload refused before it
 * was verified (too large, empty, not a PDF without its .p7s, or a form
 * the server refused) is 未核验: nothing was checked.
 */
export function word(o) {
  if (o.notChecked) return t('verdict.NOT_CHECKED');
  return t(words[indicationOf(o)]);
}

/** retryable reports whether scanning the same text again may change the verdict. */
export function retryable(o) {
  return indicationOf(o) === INDETERMINATE && !o.publicCopy;
}

function statusDate(r) {
  const s = r.status || {};
  if (s.changed_at) return t('reason.changedAt', { date: dateTime(s.changed_at) });
  if (s.issued_at) return t('reason.statusAsOf', { date: dateTime(s.issued_at) });
  return t('reason.statusAsOf', { date: dateTime(r.verified_at) });
}

/**
 * statusText words a revoked or suspended status with its reason code; doc
 * a rescinded document's.
 */
export function statusText(value, reasonCode, doc = false) {
  if (doc && value === 'revoked') return t(docStatusWords[reasonCode || ''] || docStatusWords.other);
  const table = statusWords[value];
  if (!table) return '';
  return t(table[reasonCode || ''] || table.other);
}

/** reason says in plain words why an outcome is what it is. */
export function reason(o) {
  const ind = indicationOf(o);
  if (ind === UNREADABLE) return t(`unreadable.${causeOf(o)}`, causeParams(o));
  if (o.local === 'timeout') return t('reason.timeout', { s: o.seconds ?? '' });
  if (o.local === 'network') return t('reason.network');
  if (o.local === 'refused') {
    const key = problemKeys[o.type];
    return key ? t(key) : t('problem.other', { code: o.status ? `HTTP ${o.status}` : o.type || '?' });
  }
  const r = o.report;
  const lic = r.licence || {};
  const ann = r.annotation || {};
  const doc = isDocument(r);
  if (r.indication === 'PASSED') {
    if (doc) return t(docPassKeys[r.document?.file || ''] || docPassKeys['']);
    if (r.kind === 'annotated copy') return t('reason.PASSED.annotated', { purpose: ann.purpose || '' });
    if (r.kind === 'presentation') return t('reason.PASSED.presentation');
    return t('reason.PASSED');
  }
  const sub = r.sub_indication || '';
  const params = { code: sub || r.indication, dept: ann.relying_department_name || ann.relying_department || '' };
  // An annotated copy on the public page, which acts for no department.
  if (o.publicCopy) return t('reason.publicCopy', { dept: params.dept, purpose: ann.purpose || '' });
  switch (sub) {
    case 'REVOKED':
      params.status = statusText('revoked', r.status?.reason, doc);
      params.date = statusDate(r);
      break;
    case 'SUSPENDED':
      params.status = statusText('suspended', r.status?.reason);
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
  if (doc && sub === 'HASH_FAILURE' && o.upload?.sig) return t('doc.HASH_FAILURE.p7s');
  const key = (doc && docReasonKeys[sub]) || reasonKeys[sub];
  return key ? t(key, params) : t('reason.unknown', params);
}

/** hint says what the clerk should do next, or what kind of code passed. */
export function hint(o) {
  const ind = indicationOf(o);
  if (ind === UNREADABLE) return t(`unreadable.${causeOf(o)}.hint`, causeParams(o));
  if (o.publicCopy) return t('hint.publicCopy', { dept: o.report.annotation?.relying_department_name || o.report.annotation?.relying_department || '' });
  if (ind === INDETERMINATE) return t(o.upload ? 'doc.hint.retry' : 'hint.retry');
  const r = o.report;
  if (isDocument(r)) {
    if (r.sub_indication === 'REVOKED' && !r.status?.reason) return t('doc.hint.revokedNoReason');
    if (ind === PASSED) return r.document?.file ? '' : t('doc.hint.receipt');
    return t('doc.hint.failed');
  }
  if (r.sub_indication === 'REVOKED' && !r.status?.reason) return t('hint.revokedNoReason');
  const k = kindKeys[r.kind];
  return k ? t(k) : '';
}

function validity(lic) {
  if (!lic.valid_from) return '';
  if (!lic.valid_until) return t('validity.forever', { from: day(lic.valid_from) });
  return t('validity.range', { from: day(lic.valid_from), until: lastDay(lic.valid_until) });
}

const usccChars = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const usccWeights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** isUSCC reports whether s is a GB 32100 unified social credit code with its check character. */
export function isUSCC(s) {
  if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(s || '')) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += usccChars.indexOf(s[i]) * usccWeights[i];
  return usccChars[(31 - (sum % 31)) % 31] === s[17];
}

/**
 * holderIdLabel labels a holder code by its kind. A credential holds a
 * unified social credit code whole (it is public) and a citizen identity
 * number masked (1101**********002X), so the code itself tells the kind.
 */
export function holderIdLabel(id) {
  if (isUSCC(id)) return t('field.holderId.uscc');
  if (/^\d{4}\*{10}[\dX*]{4}$/.test(id || '') || /^\d{17}[\dX]$/.test(id || '')) return t('field.holderId.citizen');
  return t('field.holderId.other');
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
    add(holderIdLabel(lic.holder_id), lic.holder_id, 'major');
  }
  // A signed document's receipt: its title and number (文号), then the
  // signing department and date.
  const doc = r.document;
  if (doc) {
    add(t('field.docTitle'), doc.title, 'major');
    add(t('field.docNumber'), doc.number, 'major');
  }
  if (r.issuer) add(t(isDocument(r) ? 'field.docIssuer' : 'field.issuer'), r.issuer.name ? r.issuer.name : r.issuer.code, 'major');
  if (doc) {
    add(t('field.docSigned'), day(doc.signed_at), 'major');
    add(t('field.docChecked'), t(docCheckedKeys[doc.file || ''] || docCheckedKeys['']), 'minor');
  }
  if (lic) {
    add(t('field.validity'), validity(lic), 'major');
    for (const f of lic.fields || []) add(f.label || f.key, f.value, 'minor');
  }
  if (lic && kindKeys[r.kind]) add(t('field.codeKind'), t(`codeKindShort.${r.kind === 'annotated copy' ? 'annotated' : r.kind}`), 'minor');
  if (r.presentation) add(t('field.presentation'), clock(r.presentation.expires), 'minor');
  if (r.annotation) {
    const a = r.annotation;
    add(t('field.relying'), a.relying_department_name || a.relying_department, 'major');
    add(t('field.purpose'), a.purpose, 'major');
    add(t('field.annotationUntil'), dateTime(a.expires), 'minor');
  }
  // A key retired or compromised since signing: the issuance-log checkpoint
  // that proved the object existed before (docs/FORMAT.md §12.1).
  const lp = r.log_proof;
  if (lp) add(t('field.logProof'), t('logProof.value', { date: dateTime(lp.cosigned_at), entry: lp.index + 1, size: lp.size }), 'minor');
  if (r.status?.issued_at) add(t('field.status'), t('status.asOf', { date: dateTime(r.status.issued_at) }), 'minor');
  if (lic) add(t('field.id'), lic.id, 'minor id');
  if (doc) add(t('field.docId'), doc.id, 'minor id');
  return out;
}

// technical lists what the card's technical details show: the checks of a
// report, or the problem the server sent (its English detail is kept here,
// for an administrator, and never shown as the reason).
function technical(o) {
  const out = [];
  if (o.report) {
    const r = o.report;
    out.push({ cls: '', text: `indication: ${r.indication}${r.sub_indication ? ` / ${r.sub_indication}` : ''}` });
    for (const c of r.checks || []) {
      out.push({ cls: `check ${String(c.result).toLowerCase()}`, text: `${c.name}: ${c.result}${c.detail ? ` — ${c.detail}` : ''}` });
    }
    if (r.verified_at) out.push({ cls: '', text: `verified_at: ${clock(r.verified_at)}` });
  } else if (o.problem) {
    const p = o.problem;
    out.push({ cls: '', text: `HTTP ${o.status || ''} ${p.type || ''}`.trim() });
    if (p.detail) out.push({ cls: '', text: `detail: ${p.detail}` });
    for (const e of p.errors || []) out.push({ cls: '', text: `${e.field}: ${e.reason}` });
    if (p.request_id) out.push({ cls: '', text: `request_id: ${p.request_id}` });
  }
  return out;
}

// docCheckedKeys says what a document report checked: the file's embedded
// PDF signature, the file against its .p7s, or a scanned receipt alone,
// which proves the record and nothing about a paper in hand.
const docCheckedKeys = {
  pdf: 'doc.checked.pdf',
  p7s: 'doc.checked.p7s',
  '': 'doc.checked.receipt',
};

/**
 * render shows an outcome on the card section; null shows the idle card,
 * 'pending' a card waiting for the answer. opts.earlier, a Date, says the
 * card is of an earlier scan than the newest; opts.onRetry, when given,
 * shows a retry button on an INDETERMINATE card.
 */
export function render(section, o, opts = {}) {
  const head = section.querySelector('.verdict-head');
  const icon = section.querySelector('.verdict-icon');
  const wordEl = section.querySelector('.verdict-word');
  const reasonEl = section.querySelector('.verdict-reason');
  const hintEl = section.querySelector('.verdict-hint');
  const earlierEl = section.querySelector('.verdict-earlier');
  const actions = section.querySelector('.verdict-actions');
  const retryBtn = section.querySelector('.verdict-retry');
  const dl = section.querySelector('.verdict-fields');
  const details = section.querySelector('.verdict-checks');
  dl.replaceChildren();
  details.hidden = true;
  details.querySelector('ol').replaceChildren();
  wordEl.removeAttribute('data-i18n');
  hintEl.hidden = true;
  hintEl.textContent = '';
  if (earlierEl) {
    earlierEl.hidden = !opts.earlier;
    earlierEl.textContent = opts.earlier ? t('verdict.earlier', { time: shortTime(opts.earlier) }) : '';
  }
  if (actions) {
    actions.hidden = true;
    if (retryBtn) retryBtn.onclick = null;
  }
  if (o === null || o === 'pending') {
    section.className = `verdict ${o === null ? 'idle' : 'pending'}`;
    section.dataset.indication = '';
    section.dataset.subIndication = '';
    section.dataset.cause = '';
    section.dataset.verdict = o === null ? 'idle' : 'pending';
    icon.textContent = o === null ? '⌁' : '…';
    wordEl.textContent = t(o === null ? 'verdict.idle' : 'verdict.pending');
    reasonEl.textContent = '';
    head.setAttribute('aria-busy', o === 'pending' ? 'true' : 'false');
    return;
  }
  const ind = indicationOf(o);
  section.className = `verdict ${classes[ind]}`;
  section.dataset.indication = ind;
  section.dataset.verdict = classes[ind];
  section.dataset.subIndication = o.report ? o.report.sub_indication || '' : o.local.toUpperCase();
  section.dataset.cause = ind === UNREADABLE ? causeOf(o) : '';
  icon.textContent = icons[ind];
  wordEl.textContent = word(o);
  reasonEl.textContent = reason(o);
  const h = hint(o);
  hintEl.textContent = h;
  hintEl.hidden = !h;
  head.setAttribute('aria-busy', 'false');
  if (actions && retryBtn && opts.onRetry && retryable(o)) {
    actions.hidden = false;
    retryBtn.onclick = opts.onRetry;
  }
  if (o.report || o.upload) {
    const list = o.report ? rows(o.report) : [];
    if (o.upload) list.push({ label: t('field.docFile'), value: `${o.upload.name} (${sizeText(o.upload.size)})`, cls: 'minor' });
    for (const row of list) {
      const div = document.createElement('div');
      div.className = row.cls;
      const dt = document.createElement('dt');
      dt.textContent = row.label;
      const dd = document.createElement('dd');
      dd.textContent = row.value;
      div.append(dt, dd);
      dl.append(div);
    }
  }
  const ol = details.querySelector('ol');
  for (const line of technical(o)) {
    const li = document.createElement('li');
    if (line.cls) li.className = line.cls;
    li.textContent = line.text;
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

/** sizeText writes a file size for people: 812 KB, 12.5 MB, 50 MB. */
export function sizeText(n) {
  if (n < 1024 * 1024) return `${Math.max(1, Math.round(n / 1024))} KB`;
  const mb = n / (1024 * 1024);
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}

/** summary is a one-line record of an outcome for the recent-scans list. */
export function summary(o, at) {
  const lic = o.report?.licence || {};
  const doc = o.report?.document;
  return {
    time: shortTime(at),
    indication: indicationOf(o),
    word: word(o),
    type: lic.type_name || lic.type_code || (doc ? [doc.title, doc.number].filter(Boolean).join(' ') : '') || o.upload?.name || '',
    holder: lic.holder_name ? `${maskName(lic.holder_name)} ${lic.holder_id || ''}`.trim() : '',
    reason: reason(o),
  };
}

/**
 * messageKeys lists every message key this module may build from data, so
 * that a test can demand each in both languages.
 */
export function messageKeys() {
  const keys = [...Object.values(words), ...Object.values(reasonKeys), ...Object.values(problemKeys), ...Object.values(kindKeys),
    ...Object.values(docReasonKeys), ...Object.values(docStatusWords), ...Object.values(docPassKeys), ...Object.values(docCheckedKeys),
    ...Object.values(fieldWords), 'verdict.NOT_CHECKED', 'doc.HASH_FAILURE.p7s', 'doc.hint.revokedNoReason', 'doc.hint.receipt',
    'doc.hint.failed', 'doc.hint.retry', 'field.docIssuer', 'field.docFile', 'field.logProof', 'logProof.value'];
  for (const table of Object.values(statusWords)) keys.push(...Object.values(table));
  for (const c of unreadableCauses) keys.push(`unreadable.${c}`, `unreadable.${c}.hint`);
  for (const k of ['credential', 'presentation', 'annotated']) keys.push(`codeKindShort.${k}`);
  return keys;
}
