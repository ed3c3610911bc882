import { canonicalOutputFields } from './canonical-fields.js';
import type { ChannelTemplate } from './definition.js';

export const genericCsv: ChannelTemplate<'generic-csv'> = {
  name: 'generic-csv',
  description:
    'The canonical fields but manage_stock and status, as CSV columns (or TSV, a delimiter apart).',
  formats: ['csv', 'tsv'],
  fields: canonicalOutputFields,
};
