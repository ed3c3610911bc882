/**
 * XML element names of outgoing feeds: which output names XML accepts, and how a name that
 * came from data (a nested object's key) is made acceptable. Shared by the definition check
 * (channels) and the XML serializer (publish), so both agree on what is valid.
 */

/** Google's product namespace, the only prefix an output name may carry (`g:price`). */
export const GOOGLE_NAMESPACE = 'http://base.google.com/ns/1.0';

// Name characters valid in every edition of XML 1.0: the fifth edition allows far more
// (any letter, emoji, symbols), but parsers that keep the fourth edition's Unicode 2.0
// tables, expat among them, refuse those, and a feed has to be read by every marketplace.
// So: ASCII letters and `_`; Latin-1 and Latin Extended-A letters (as the fourth edition
// lists them), Greek, Cyrillic, Hebrew, Arabic, hiragana, katakana, CJK ideographs and Hangul
// syllables; and after the first character also ASCII digits, `-`, `.`, `·` and the kana
// length marks.
const START =
  'A-Za-z_\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u00FF\\u0100-\\u0131\\u0134-\\u013E\\u0141-\\u0148\\u014A-\\u017E' +
  '\\u0386\\u0388-\\u038A\\u038C\\u038E-\\u03A1\\u03A3-\\u03CE\\u0401-\\u040C\\u040E-\\u044F\\u0451-\\u045C\\u045E-\\u0481' +
  '\\u05D0-\\u05EA\\u0621-\\u063A\\u0641-\\u064A\\u3041-\\u3094\\u30A1-\\u30FA\\u4E00-\\u9FA5\\uAC00-\\uD7A3';
const REST = `${START}0-9.\\-\\u00B7\\u3005\\u30FC-\\u30FE`;
const NCNAME = new RegExp(`^[${START}][${REST}]*$`);
const NOT_NAME_CHAR = new RegExp(`[^${REST}]`, 'gu');
const NAME_START = new RegExp(`^[${START}]`);

/**
 * Whether a name is an XML element name without prefix that every XML parser reads:
 * `price`, `Variant_SKU`, `Größe`, `цена`, `色`. A letter (of the scripts above) or `_`
 * first, then letters, digits, `-`, `_` and `.`.
 */
export function isXmlLocalName(name: string): boolean {
  return NCNAME.test(name);
}

/**
 * Why an output name cannot be an XML element name, in words for the person who wrote it,
 * or undefined when it can. `g:` is the one prefix accepted: feeds declare Google's
 * namespace for it; any other prefix would be undeclared, so the XML would be malformed.
 */
export function xmlNameProblem(name: string): string | undefined {
  const colon = name.indexOf(':');
  if (colon >= 0) {
    const prefix = name.slice(0, colon);
    if (prefix !== 'g') {
      return `"${name}" has the prefix "${prefix}:", which no namespace declares; only "g:" (Google's namespace) is allowed`;
    }
    const local = name.slice(colon + 1);
    if (isXmlLocalName(local)) return undefined;
    return `"${name}" is not a valid XML element name after "g:"${hint(local)}`;
  }
  if (isXmlLocalName(name)) return undefined;
  return `"${name}" is not a valid XML element name${hint(name)}`;
}

function hint(local: string): string {
  if (local === '') return ': the name is empty';
  return `: XML names start with a letter or "_" and hold only letters, digits, "-", "_" and "." (no spaces); "${sanitizeLocal(local)}" would do`;
}

/**
 * A valid local name made from any text: each character outside the accepted set becomes
 * `_`, and a name that cannot start as it does gets a leading `_`.
 */
export function sanitizeLocal(name: string): string {
  const cleaned = name.replace(NOT_NAME_CHAR, '_');
  return NAME_START.test(cleaned) ? cleaned : `_${cleaned}`;
}

/**
 * A valid element name for any text. `g:local` keeps its prefix when `googleDeclared`
 * (the root declares the namespace); any other colon becomes `_`, so the document never
 * uses an undeclared prefix. When `inheritGoogle`, an unprefixed name gets `g:`: children of
 * `g:shipping` are `g:country`, as Google reads them.
 */
export function sanitizeElementName(name: string, googleDeclared: boolean, inheritGoogle = false): string {
  if (googleDeclared && name.startsWith('g:')) return `g:${sanitizeLocal(name.slice(2))}`;
  const local = sanitizeLocal(name);
  return inheritGoogle && googleDeclared ? `g:${local}` : local;
}
