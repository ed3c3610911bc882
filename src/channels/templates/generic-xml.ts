import { canonicalOutputFields } from './canonical-fields.js';
import type { ChannelTemplate } from './definition.js';

export const genericXml: ChannelTemplate<'generic-xml'> = {
  name: 'generic-xml',
  description: 'The canonical fields but manage_stock and status, as elements of `<products><product>…`.',
  formats: ['xml'],
  xmlShape: 'products',
  fields: canonicalOutputFields,
};
