/** The identifier of a catalog, channel or rule set: usable in URLs and file names. */
export const ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';

const ID = new RegExp(ID_PATTERN);

/** Whether a text is such an identifier. */
export function isId(text: string): boolean {
  return ID.test(text);
}
