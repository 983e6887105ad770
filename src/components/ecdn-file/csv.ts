/**
 * The first rows of a CSV (or TSV) text, for a preview table. Follows RFC 4180:
 * fields in double quotes may hold the separator, line breaks and `""` for a
 * quote. The separator is the one of comma, semicolon and tab that the first
 * line has most of, outside quotes. Stops after `limit` rows; a row cut off at
 * the end of `text` (a preview of the file's start) is dropped.
 */
export function parseCsv(text: string, limit = 100, complete = true): string[][] {
  const separator = guessSeparator(text);
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRow = () => {
    row.push(field);
    rows.push(row);
    row = [];
    field = '';
  };
  while (i < text.length && rows.length < limit) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === separator) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      endRow();
      if (c === '\r' && text[i + 1] === '\n') i++;
    } else field += c;
    i++;
  }
  // The last line: whole when the text is the whole file and nothing was cut.
  if (rows.length < limit && (field !== '' || row.length > 0) && complete && !quoted) endRow();
  return rows;
}

function guessSeparator(text: string): string {
  const end = text.search(/[\r\n]/);
  const firstLine = end < 0 ? text : text.slice(0, end);
  let best = ',';
  let most = 0;
  for (const candidate of [',', ';', '\t']) {
    let count = 0;
    let quoted = false;
    for (const c of firstLine) {
      if (c === '"') quoted = !quoted;
      else if (c === candidate && !quoted) count++;
    }
    if (count > most) {
      best = candidate;
      most = count;
    }
  }
  return best;
}
