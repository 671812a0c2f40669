/**
 * A small YAML subset parser for the job specs in jobs/ (no YAML package is installed):
 * block mappings, block sequences (of scalars or of mappings, `- Key: v`), plain, single- and
 * double-quoted scalars, integers, floats, booleans, null and `#` comments. Anchors, flow
 * collections, multi-line scalars and documents separators are rejected with the line number,
 * so a spec that leaves the subset fails loudly instead of parsing wrong.
 */

/** A parsed YAML value. */
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  readonly indent: number;
  readonly text: string;
  readonly no: number;
}

function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || text[i - 1] === ' ')) return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
}

function scalar(raw: string, no: number): YamlValue {
  const s = raw.trim();
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw new SyntaxError(`yaml line ${no}: unterminated string ${s}`);
    return JSON.parse(s) as string;
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new SyntaxError(`yaml line ${no}: unterminated string ${s}`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (/^[[{&*!|>]/.test(s)) throw new SyntaxError(`yaml line ${no}: "${s}" is outside the supported YAML subset`);
  if (s === '' || s === '~' || s === 'null') return null;
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (/^-?\d+$/.test(s)) return Number(s);
  if (/^-?\d+\.\d+$/.test(s)) return Number(s);
  return s;
}

/** Splits `key: rest` (the key may be quoted); null when the text is not a mapping entry. */
function splitKey(text: string): [string, string] | null {
  const m = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s][^:]*?)\s*:(?:\s+(.*))?$/.exec(text);
  if (!m) return null;
  const key = m[1].startsWith('"') || m[1].startsWith("'") ? String(scalar(m[1], 0)) : m[1];
  return [key, m[2] ?? ''];
}

/** Parses one YAML document in the supported subset. */
export function parseYaml(source: string): YamlValue {
  const lines: Line[] = [];
  source.split(/\r?\n/).forEach((raw, i) => {
    if (raw.includes('\t')) throw new SyntaxError(`yaml line ${i + 1}: tabs are not allowed`);
    const text = stripComment(raw);
    if (text.trim() === '') return;
    if (text.trim() === '---' || text.trim() === '...') throw new SyntaxError(`yaml line ${i + 1}: one document only`);
    lines.push({ indent: text.length - text.trimStart().length, text: text.trim(), no: i + 1 });
  });
  let pos = 0;

  function block(indent: number): YamlValue {
    const first = lines[pos];
    return first.text === '-' || first.text.startsWith('- ') ? sequence(indent) : mapping(indent);
  }

  function value(rest: string, parentIndent: number, no: number): YamlValue {
    if (rest !== '') return scalar(rest, no);
    const next = lines[pos];
    // A sequence may sit at the same indent as its key; a mapping must be deeper.
    if (next && (next.indent > parentIndent || (next.indent === parentIndent && next.text.startsWith('- ')))) {
      return block(next.indent);
    }
    return null;
  }

  function mapping(indent: number): { [key: string]: YamlValue } {
    const out: { [key: string]: YamlValue } = {};
    while (pos < lines.length && lines[pos].indent === indent && !lines[pos].text.startsWith('- ')) {
      const line = lines[pos++];
      const kv = splitKey(line.text);
      if (!kv) throw new SyntaxError(`yaml line ${line.no}: expected "key: value", got "${line.text}"`);
      const [key, rest] = kv;
      if (key in out) throw new SyntaxError(`yaml line ${line.no}: duplicate key "${key}"`);
      out[key] = value(rest, indent, line.no);
    }
    if (pos < lines.length && lines[pos].indent > indent) {
      throw new SyntaxError(`yaml line ${lines[pos].no}: unexpected indentation`);
    }
    return out;
  }

  function sequence(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    while (pos < lines.length && lines[pos].indent === indent && (lines[pos].text === '-' || lines[pos].text.startsWith('- '))) {
      const line = lines[pos];
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        pos++;
        out.push(value('', indent, line.no));
      } else if (splitKey(rest)) {
        // `- Key: v` starts a mapping whose other keys are aligned with "Key".
        lines[pos] = { indent: indent + line.text.length - rest.length, text: rest, no: line.no };
        out.push(mapping(lines[pos].indent));
      } else {
        pos++;
        out.push(scalar(rest, line.no));
      }
    }
    return out;
  }

  if (lines.length === 0) return null;
  const doc = block(lines[0].indent);
  if (pos < lines.length) throw new SyntaxError(`yaml line ${lines[pos].no}: unexpected content "${lines[pos].text}"`);
  return doc;
}
