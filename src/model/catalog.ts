import type { CanonicalField } from './fields.js';

/**
 * A catalog as its definition declares it (SPEC §2): where its feed comes from, how it is
 * read and mapped, when it is imported and how much an import may change. Checked by
 * catalog/definition.ts's schema; the model is only its shape.
 */

/** The decimal separator of a feed. */
export type DecimalSeparator = '.' | ',';

/** Feed formats a catalog may declare (SPEC §2). */
export const FEED_FORMATS = ['csv', 'tsv', 'xml', 'json', 'ndjson'] as const;
export type FeedFormat = (typeof FEED_FORMATS)[number];

/** A linked feed: its URL and how to authenticate. Secrets come from the environment. */
export interface UrlSource {
  url: string;
  /** Basic auth; the password is read from the named environment variable. */
  auth?: { username: string; passwordEnv: string };
  /** Extra request headers: a literal value, or `{ env }` to read a secret from the environment. */
  headers?: Record<string, string | { env: string }>;
}

/** A feed file on this machine (resolved against the definition file's folder). */
export interface FileSource {
  file: string;
}

/** Where a catalog's feed comes from when no file is uploaded: one of the kinds of `sources/kinds/`. */
export type CatalogSource = FileSource | UrlSource;

export interface CatalogDefinition {
  kind: 'catalog';
  id: string;
  name?: string;
  /**
   * A shop export whose quirks the import knows, by its dialect's name (catalog/dialects;
   * detected from the header when left out). The JSON key stays `preset`.
   */
  preset?: string;
  source?: CatalogSource;
  format?: FeedFormat;
  options?: {
    delimiter?: string;
    /** Any encoding name iconv-lite knows (`utf-8`, `windows-1252`, `iso-8859-15`, …). */
    encoding?: string;
    maxRecordSize?: number;
    /** Deepest nesting of an XML or JSON item. */
    maxDepth?: number;
    /** XML: the item element's path (`rss/channel/item`); detected when left out. */
    itemPath?: string;
    /** JSON: the path of the array of items (`data.products`); a top-level array when left out. */
    itemsPath?: string;
    /**
     * XML: namespace prefixes (or URIs) to strip from element names, or `all`. Left out,
     * Google's namespace is stripped (`g:price` is read as `price`); `[]` keeps every name as written.
     */
    stripNamespaces?: 'all' | string[];
    /**
     * The feed's decimal separator: `.` (`1,299.00`) or `,` (`1.299,00`). Left out, it is
     * detected from the feed's numeric columns (prices, stock, weight) once per import.
     */
    decimalSeparator?: DecimalSeparator;
    /**
     * XML: HTML named entities (`&nbsp;`), which XML does not define: `decode` (default, with
     * a warning naming each and its count) or `refuse` (the run is held as not well-formed).
     */
    htmlEntities?: 'decode' | 'refuse';
  };
  /** Canonical field → source column name. */
  mapping?: Partial<Record<CanonicalField, string>>;
  schedule?: string;
  /** IANA time zone of `schedule` (default UTC). */
  timezone?: string;
  safety?: {
    /** Share of the catalog's products a full import may remove before it is held (default 50). */
    maxDropPercent?: number;
    /** Share of a feed's rows that may be invalid before the import is held (default 20). */
    maxErrorPercent?: number;
  };
  /**
   * How long after a stock movement (an order) the merchant's own feed is trusted to show it
   * (`"30m"`, `"2h"`, `"90s"`; default 30 minutes): a ledger entry counts as reflected once an
   * import fetched at least this long after it has been applied.
   */
  reconcileAfter?: string;
}

/** How a feed's decimal separator was settled, for the run to say. */
export interface NumberFormatNote {
  decimalSeparator: DecimalSeparator;
  /** Given by the catalog, detected from the feed's values, or the default for want of evidence. */
  source: 'option' | 'detected' | 'default';
  /** Values that read only with a decimal point, and only with a decimal comma. */
  evidence?: { point: number; comma: number; example?: string };
}

/** The validators a server gave with a linked feed: its ETag and Last-Modified, as sent. */
export interface FeedValidators {
  etag?: string;
  lastModified?: string;
}

/** What a catalog remembers of its linked URL between runs, for a conditional fetch (sources/fetch-state.ts). */
export interface FetchState extends FeedValidators {
  /** sourceKey() of the definition URL the validators were fetched from. */
  sourceKey: string;
}
