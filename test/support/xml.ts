// A small XML reader for tests that check generated XML (JUnit): elements, attributes, text,
// CDATA, comments, the five named entities and character references. It rejects what is not
// well-formed (mismatched tags, unquoted attributes, a bare '&' or '<', characters XML 1.0
// forbids), which is part of what the tests check.

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The text directly inside this element (not its children's), entities decoded. */
  readonly text: string;
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const FORBIDDEN = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function decodeEntities(raw: string, at: number): string {
  // XML's end-of-line handling comes before anything else: CR LF and a lone CR read as LF.
  const text = raw.replace(/\r\n?/g, '\n');
  if (FORBIDDEN.test(text)) throw new Error(`XML: a character XML 1.0 does not allow, near offset ${at}`);
  if (/<|&(?!(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/.test(text)) throw new Error(`XML: bare '<' or '&' near offset ${at}`);
  return text.replace(/&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g, (_, entity: string) =>
    entity.startsWith('#x') ? String.fromCodePoint(parseInt(entity.slice(2), 16))
      : entity.startsWith('#') ? String.fromCodePoint(Number(entity.slice(1))) : NAMED_ENTITIES[entity]);
}

export function parseXml(source: string): XmlElement {
  let position = 0;
  const skipMisc = (): void => {
    while (true) {
      const rest = source.slice(position);
      const whitespace = /^\s+/.exec(rest);
      if (whitespace !== null) { position += whitespace[0].length; continue; }
      if (rest.startsWith('<?')) { position = expectIndex(source.indexOf('?>', position), '?>') + 2; continue; }
      if (rest.startsWith('<!--')) { position = expectIndex(source.indexOf('-->', position), '-->') + 3; continue; }
      return;
    }
  };
  const expectIndex = (index: number, what: string): number => {
    if (index < 0) throw new Error(`XML: missing '${what}' after offset ${position}`);
    return index;
  };
  const element = (): XmlElement => {
    const open = /^<([A-Za-z_][\w.-]*)/.exec(source.slice(position));
    if (open === null) throw new Error(`XML: expected an element at offset ${position}`);
    const name = open[1];
    position += open[0].length;
    const attributes: Record<string, string> = {};
    while (true) {
      const attribute = /^\s+([A-Za-z_][\w.:-]*)\s*=\s*"([^"]*)"/.exec(source.slice(position));
      if (attribute === null) break;
      if (attribute[1] in attributes) throw new Error(`XML: attribute ${attribute[1]} twice on <${name}>`);
      attributes[attribute[1]] = decodeEntities(attribute[2], position);
      position += attribute[0].length;
    }
    const end = /^\s*(\/?)>/.exec(source.slice(position));
    if (end === null) throw new Error(`XML: malformed start tag <${name}> at offset ${position}`);
    position += end[0].length;
    if (end[1] === '/') return { name, attributes, children: [], text: '' };
    const children: XmlElement[] = [];
    let text = '';
    while (true) {
      const rest = source.slice(position);
      if (rest.startsWith(`</${name}`)) {
        const close = new RegExp(`^</${name}\\s*>`).exec(rest);
        if (close === null) throw new Error(`XML: malformed end tag of <${name}>`);
        position += close[0].length;
        return { name, attributes, children, text };
      }
      if (rest.startsWith('</')) throw new Error(`XML: <${name}> closed by ${rest.slice(0, 20)}`);
      if (rest.startsWith('<![CDATA[')) {
        const close = expectIndex(source.indexOf(']]>', position), ']]>');
        text += source.slice(position + 9, close);
        position = close + 3;
      } else if (rest.startsWith('<!--')) {
        position = expectIndex(source.indexOf('-->', position), '-->') + 3;
      } else if (rest.startsWith('<')) {
        children.push(element());
      } else {
        const next = source.indexOf('<', position);
        if (next < 0) throw new Error(`XML: <${name}> is never closed`);
        text += decodeEntities(source.slice(position, next), position);
        position = next;
      }
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (position !== source.length) throw new Error(`XML: content after the root element at offset ${position}`);
  return root;
}

/** Every descendant element with this name, in document order. */
export function findAll(element: XmlElement, name: string): XmlElement[] {
  return element.children.flatMap((child) => [...(child.name === name ? [child] : []), ...findAll(child, name)]);
}
