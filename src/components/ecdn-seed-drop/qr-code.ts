import { svg, type TemplateResult } from 'lit';
import { correction, generate } from 'lean-qr';
import { toSvgPath } from 'lean-qr/extras/svg';

/** Modules of white around the code: the quiet zone the QR standard asks for, so that phone cameras find its edges. */
const QUIET_ZONE = 4;

/**
 * A QR code of `text`, for a phone's camera: black modules on white whatever the
 * theme (some readers cannot read light on dark), at correction level M (a
 * screen photographed at an angle), drawn as one SVG path that scales sharply.
 * Lean-qr makes it: a few kilobytes, no dependencies, ISO 18004 compliant.
 */
export function qrCode(text: string, label: string): TemplateResult {
  const code = generate(text, { minCorrectionLevel: correction.M });
  const side = code.size + 2 * QUIET_ZONE;
  return svg`<svg class="qr" viewBox="${-QUIET_ZONE} ${-QUIET_ZONE} ${side} ${side}" role="img" aria-label=${label} shape-rendering="crispEdges">
    <rect x=${-QUIET_ZONE} y=${-QUIET_ZONE} width=${side} height=${side} fill="#fff"></rect>
    <path d=${toSvgPath(code)} fill="#000"></path>
  </svg>`;
}
