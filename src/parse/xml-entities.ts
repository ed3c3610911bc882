import { decodeHTMLStrict } from 'entities/decode';

/** The five entities XML defines (XML 1.0 §4.6). */
const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * HTML named entities met in an XML feed (`&nbsp;`, `&eacute;`), which XML does not define.
 * Shop exports are full of them. The table is the HTML standard's, from the `entities`
 * package (the one htmlparser2 and cheerio decode with), not a list of our own.
 */
export class HtmlEntityTable {
  /** Each HTML entity decoded so far, by name, with how often. */
  readonly counts = new Map<string, number>();
  /** The line of the first one decoded. */
  firstLine = 0;
  /** The last name looked up that XML does not define, to name it in an error. */
  lastUndefined = '';
  private readonly known = new Map<string, string | null>();

  /**
   * @param decode decode HTML entities (`htmlEntities: 'decode'`), or leave them undefined
   * @param line the parser's current line, asked for when an entity is decoded
   */
  constructor(
    private readonly decode: boolean,
    private readonly line: () => number,
  ) {}

  /**
   * The object saxes looks entity names up in (its `ENTITIES`): XML's five as its own
   * properties, then, through its prototype, HTML's, counted. A name neither defines is
   * undefined, and saxes reports an undefined entity. No prototype of Object's is on the
   * chain: `&constructor;` or `&__proto__;` are plain unknown names.
   */
  entities(): Record<string, string> {
    const html = new Proxy(Object.create(null) as Record<string, string>, {
      get: (_target, name) => (typeof name === 'string' ? this.lookup(name) : undefined),
    });
    const own = Object.create(html) as Record<string, string>;
    for (const [name, value] of Object.entries(XML_ENTITIES)) own[name] = value;
    return own;
  }

  /** The text of an HTML entity, when it is one; undefined otherwise. */
  htmlText(name: string): string | undefined {
    let text = this.known.get(name);
    if (text === undefined) {
      const reference = `&${name};`;
      const decoded = decodeHTMLStrict(reference);
      text = decoded === reference ? null : decoded;
      this.known.set(name, text);
    }
    return text ?? undefined;
  }

  /** Whether any HTML entity was decoded. */
  get used(): boolean {
    return this.counts.size > 0;
  }

  /** `&nbsp; (12), &eacute; (3)`: each entity decoded, most frequent first. */
  describe(): string {
    return [...this.counts]
      .sort((a, b) => b[1] - a[1])
      .map(([name, n]) => `&${name}; (${n})`)
      .join(', ');
  }

  private lookup(name: string): string | undefined {
    const text = this.decode ? this.htmlText(name) : undefined;
    if (text === undefined) {
      this.lastUndefined = name;
      return undefined;
    }
    if (this.counts.size === 0) this.firstLine = this.line();
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    return text;
  }
}
