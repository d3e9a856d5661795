// Draws QR codes as SVG with the vendored qrcode-generator (see
// web/README.md): alphanumeric mode, error correction M, a quiet zone of
// four modules. The text drawn is kept in data-qr-text, for tests and for
// assistive technology that wants it.

const svgNS = 'http://www.w3.org/2000/svg';

/** draw replaces the contents of el with the QR code of text. */
export function draw(el, text, label) {
  const qr = window.qrcode(0, 'M');
  // Our QR texts (a prefix and Base45 or Base41, or an upper-case QR URL)
  // are in the alphanumeric set.
  const alnum = /^[0-9A-Z $%*+\-./:]*$/.test(text);
  qr.addData(text, alnum ? 'Alphanumeric' : 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4;
  const size = n + 2 * quiet;
  let d = '';
  for (let y = 0; y < n; y++) {
    let x = 0;
    while (x < n) {
      if (!qr.isDark(y, x)) {
        x++;
        continue;
      }
      const start = x;
      while (x < n && qr.isDark(y, x)) x++;
      d += `M${start + quiet} ${y + quiet}h${x - start}v1h${start - x}z`;
    }
  }
  const svg = document.createElementNS(svgNS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const bg = document.createElementNS(svgNS, 'rect');
  bg.setAttribute('width', size);
  bg.setAttribute('height', size);
  bg.setAttribute('fill', '#fff');
  const path = document.createElementNS(svgNS, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(bg, path);
  el.replaceChildren(svg);
  el.dataset.qrText = text;
  el.dataset.qrVersion = String((n - 17) / 4);
}

/** clear removes the QR code from el. */
export function clear(el) {
  el.replaceChildren();
  el.dataset.qrText = '';
}
