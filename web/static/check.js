// One verification as the counter and the public page run it: the local
// precheck of input that is no e-licence code (full-width characters from a
// Chinese input method), then POST /v1/verify under the page's deadline
// (web.DefaultVerifyTimeout unless the server says otherwise). A late
// answer is dropped by the deadline itself; a page that starts a newer
// verification keeps only the newest answer (see the callers).

import { verifyText } from './api.js';
import * as verdict from './verdict.js';

/** verifyTimeout is each verification's deadline in ms. */
export const verifyTimeout = Number(document.documentElement.dataset.verifyTimeout) || 5000;

/** checkText verifies a QR text and returns the outcome the card shows. */
export async function checkText(text) {
  const local = verdict.precheck(text);
  if (local) return local;
  const o = verdict.outcome(await verifyText(text, { timeout: verifyTimeout }), text);
  if (o.local === 'timeout') o.seconds = Math.round(verifyTimeout / 100) / 10;
  return o;
}
