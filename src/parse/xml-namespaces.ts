/** The namespace the `xml` prefix is bound to (Namespaces in XML 1.0, §3). */
export const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
/** The namespace of `xmlns` declarations, which no prefix may be bound to. */
export const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

/**
 * The namespace bindings in scope where the parser is (Namespaces in XML 1.0): a declaration
 * on an element holds for that element and what it contains, and ends with it, so a prefix
 * may be bound to another namespace inside an item than outside it.
 *
 * saxes checks well-formedness; this checks namespace well-formedness, as saxes does with its
 * `xmlns` option, but in constant time per name: saxes looks a prefix up through every open
 * element, so a feed nesting elements a few ten thousand levels deep takes minutes to read.
 * test/unit/parse/xml-conformance.test.ts holds it to saxes's `xmlns` mode.
 */
export class NamespaceScope {
  private readonly bound = Object.create(null) as Record<string, string | undefined>;
  /** The bindings each open element replaced, to restore when it closes. */
  private readonly undo: Array<{ depth: number; prefix: string; previous: string | undefined }> = [];
  /** XML 1.1 lets `xmlns:p=""` undeclare a prefix; XML 1.0 does not. */
  xml11 = false;

  constructor() {
    this.bound.xml = XML_NAMESPACE;
  }

  /** The namespace URI a prefix is bound to here (`''`: the default namespace), if any. */
  resolve(prefix: string): string | undefined {
    return this.bound[prefix];
  }

  /**
   * Applies one declaration (`xmlns="…"` has prefix `''`) made by the element opened at
   * `depth`. Returns what is wrong with it, if anything.
   */
  declare(depth: number, prefix: string, value: string): string | undefined {
    const uri = value.trim();
    const wrong = declarationProblem(prefix, uri, this.xml11);
    if (wrong !== undefined) return wrong;
    this.undo.push({ depth, prefix, previous: this.bound[prefix] });
    // `xmlns=""` (and `xmlns:p=""` in XML 1.1) ends the binding.
    this.bound[prefix] = uri === '' ? undefined : uri;
    return undefined;
  }

  /** The element opened at `depth` closes: the bindings it declared end. */
  close(depth: number): void {
    const undo = this.undo;
    while (undo.length > 0 && (undo[undo.length - 1] as { depth: number }).depth >= depth) {
      const u = undo.pop() as { prefix: string; previous: string | undefined };
      this.bound[u.prefix] = u.previous;
    }
  }
}

function declarationProblem(prefix: string, uri: string, xml11: boolean): string | undefined {
  if (prefix === 'xmlns') return 'the prefix xmlns may not be declared';
  if (prefix === 'xml' && uri !== XML_NAMESPACE)
    return `the prefix xml may only be bound to ${XML_NAMESPACE}`;
  if (uri === XMLNS_NAMESPACE) return `no prefix may be bound to ${XMLNS_NAMESPACE}`;
  if (uri === XML_NAMESPACE && prefix !== 'xml')
    return `only the prefix xml may be bound to ${XML_NAMESPACE}`;
  if (uri === '' && prefix !== '' && !xml11) {
    return `xmlns:${prefix}="" undeclares a prefix, which XML 1.0 does not allow`;
  }
  return undefined;
}

/**
 * The prefix of a qualified name (`g` of `g:price`; `''` for `price`), or undefined when the
 * name is not a qualified name (`:a`, `a:`, `a:b:c`).
 */
export function prefixOf(name: string): string | undefined {
  const colon = name.indexOf(':');
  if (colon === -1) return '';
  if (colon === 0 || colon === name.length - 1 || name.indexOf(':', colon + 1) !== -1) return undefined;
  return name.slice(0, colon);
}
