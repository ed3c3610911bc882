/**
 * Channels (SPEC §1, §2 "Channel definition"): a destination marketplace, its catalog, its
 * rule sets in order, its output format, its field mapping and its secret feed URL.
 */

/** Output formats of a channel's feed; also the feed URL's extension. */
export const CHANNEL_FORMATS = ['csv', 'tsv', 'xml', 'json'] as const;
export type ChannelFormat = (typeof CHANNEL_FORMATS)[number];

/**
 * One output field's value as written in a channel definition:
 * - a product field or attribute name (`"title"`, `"Variant SKU"`);
 * - a template with `{{field}}` placeholders (`"{{price}} {{currency}}"`);
 * - `{ "const": … }`, the same value for every item;
 * - `null`, to drop a field the template would otherwise write.
 */
export type FieldSpec = string | { const: string | number | boolean | null } | null;

/** Channel options (all optional). */
export interface ChannelOptions {
  /** Orders reported as `unpaid` take no stock (issue 6). Default false. */
  skipUnpaidOrders?: boolean;
  /**
   * CSV/TSV: a text cell starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`
   * so a spreadsheet shows it as text instead of running it. Default true.
   */
  neutralizeFormulas?: boolean;
  /** CSV: the delimiter (default `,`; TSV always uses a tab). */
  delimiter?: string;
  /** Currency written after prices when a product has none (`EUR`). */
  currency?: string;
  /** RSS/XML: the feed's title, link and description (google-shopping's `<channel>`). */
  title?: string;
  link?: string;
  description?: string;
}

/** A channel as written in `feeds/*.json` or sent to `PUT /api/channels/{id}`. */
export interface ChannelDefinition {
  kind: 'channel';
  id: string;
  name?: string;
  catalog: string;
  /** Left out: the template's first format (google-shopping and generic-xml: xml; json: json), else csv. */
  format?: ChannelFormat;
  /**
   * The channel template it builds on, by name (channels/templates/, whose names the schema
   * checks): its fields and the shape of its feed.
   */
  preset?: string;
  /** Rule set ids, applied in this order. */
  rules?: string[];
  /** Output field name → value; added to (or overriding) the template's fields, in this order. */
  fields?: Record<string, FieldSpec>;
  /** false freezes the feed: the last publication stays served, nothing is rebuilt. Default true. */
  enabled?: boolean;
  options?: ChannelOptions;
}

/**
 * A value in an outgoing feed item, after mapping. A list is written as repeated XML
 * elements (`g:additional_image_link`), comma-joined in CSV and an array in JSON; an object
 * as nested elements (`g:shipping`) in XML and JSON text in CSV. `null` and `''` leave the
 * XML element out, an empty cell in CSV, and `null` in JSON.
 */
export type FeedValue = string | number | boolean | null | FeedValue[] | { [name: string]: FeedValue };
