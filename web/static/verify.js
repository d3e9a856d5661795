// The public verification page. A QR code in URL form (format version 2,
// docs/FORMAT.md §4.2) opens it as /V/<QR text>: the path is the text, in
// characters a URL keeps as they are, so the page reads it back exactly
// from location.pathname and verifies at once. Older links open it as
// /verify#<QR text, percent-encoded> or /verify?t=<QR text, form-encoded>.
// Anyone may also paste a QR text, or drop or choose a signed file
// (document.js).
//
// Each verification runs as at the counter (check.js): input that is no
// e-licence code gets the neutral 未能识别 card with its hint, and a server
// that does not answer within the deadline the amber 无法确定 card with a
// retry; only the newest verification's answer is ever shown. This page
// acts for no department: an annotated copy is shown as what it is, a copy
// made for the department it names, never accepted here on anyone's behalf.

import * as i18n from './i18n.js';
import * as verdict from './verdict.js';
import { checkText } from './check.js';
import * as docs from './document.js';

const form = document.getElementById('verify-form');
const area = document.getElementById('qr-text');
const card = document.getElementById('verdict');
let current = null;
let seq = 0;

// decode undoes the percent-encoding of a QR text in a URL. A QR text is
// in the QR alphanumeric set; a link made by hand may hold the raw text,
// whose '%' is Base45 and not an escape, and whose spaces the browser
// turned into %20.
function decode(s) {
  const alnum = /^[0-9A-Z $%*+\-./:]*$/;
  try {
    const d = decodeURIComponent(s);
    if (alnum.test(d)) return d;
  } catch {
    // not percent-encoded
  }
  return s.replace(/%20/g, ' ');
}

function clean(s) {
  return s.replace(/^[\s]+|[\r\n\t]+$/g, '').replace(/[\r\n]+/g, '');
}

/** textOfPath returns the QR text a /V/ path carries, or ''. */
export function textOfPath(pathname) {
  const m = /^(?:\/[^/]*)*\/V\/([^/]+)$/.exec(pathname);
  // The text is verified as it stands: a browser that percent-encoded it
  // (no version-2 character needs it) makes it unreadable, not another text.
  return m ? m[1] : '';
}

function fromURL() {
  const fromPath = textOfPath(location.pathname);
  if (fromPath) return fromPath;
  const hash = location.hash.slice(1);
  if (hash) return decode(hash);
  // The query is form-encoded: '+' is a space, a Base45 '+' is %2B.
  const t = new URLSearchParams(location.search).get('t');
  return t || '';
}

// publicCopy marks an annotated copy refused only because this page acts
// for no department: its signatures, key and validity passed, and it is
// shown as the copy it is, for the department it names.
function publicCopy(o) {
  const r = o.report;
  if (r && r.kind === 'annotated copy' && r.sub_indication === 'WRONG_RELYING_DEPARTMENT') o.publicCopy = true;
  return o;
}

function render() {
  verdict.render(card, current, { onRetry: retry });
}

// run is the last verification, which the retry button repeats; only
// the newest verification's answer is ever shown.
let again = null;
async function run(verify) {
  const mine = ++seq;
  again = verify;
  current = 'pending';
  render();
  const o = await verify();
  if (mine !== seq) return; // a newer verification started meanwhile
  current = o;
  render();
  card.scrollIntoView({ block: 'nearest' });
}

function retry() {
  if (again) run(again);
}

function check(text) {
  run(async () => publicCopy(await checkText(text)));
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = clean(area.value);
  if (text) check(text);
});

// A signed file: the PDF itself, or any file and its .p7s, dropped or
// chosen (document.js).
docs.setup((file, sig) => run(() => docs.checkFile(file, sig)));

area.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    form.requestSubmit();
  }
});

i18n.onChange(render);
i18n.init();

function fromLocation() {
  const text = clean(fromURL());
  if (text) {
    area.value = text;
    check(text);
  }
}
window.addEventListener('hashchange', fromLocation);
fromLocation();
