import type { Reference } from './xml-saxes.js';

/** A fault of the feed in the reader's words, and where it is (column null: not known). */
export interface Fault {
  message: string;
  line: number;
  column: number | null;
}

/** What the reader knows where saxes reports a fault. */
export interface FaultContext {
  /** saxes's position: the line and (1-based) column of the character it read last. */
  line: number;
  column: number;
  /** That character's code. */
  lastRead: number;
  /** The start tag being read, or read last. */
  tagName: string;
  /** The entity or character reference read last, with the place of its `&`. */
  reference: Reference;
  isHtmlEntity(name: string): boolean;
  /** The name of the end tag just read, as written. */
  endTagWritten(): string;
  /** The element saxes closed last (on a mismatched end tag: the one it should have closed). */
  lastClosed: string;
  rootSeen: boolean;
  /** Where text outside the root element begins, if known. */
  textOutsideRoot(): { line: number; column: number } | undefined;
}

/**
 * Words a fault saxes 6 reports (its messages: saxes.js, `fail(…)`) for a merchant: what is
 * wrong and, where it helps, how it is written instead; placed at the character at fault
 * when saxes reports it further on (a `<` in text at the `<`, not the character after it).
 */
export function describeFault(saxes: string, at: FaultContext): Fault {
  const here = (message: string, line = at.line, column: number | null = at.column): Fault => ({
    message,
    line,
    column,
  });
  const atReference = (message: string) => here(message, at.reference.line, at.reference.column);
  switch (saxes) {
    case 'disallowed character.':
      return at.lastRead === 0x3c
        ? here("'<' in an attribute value: write it &lt;")
        : here(
            `a character XML does not allow (U+${at.lastRead.toString(16).toUpperCase().padStart(4, '0')})`,
          );
    case 'disallowed character in tag name': {
      // saxes read the `<` and the character after it: the `<` is a column before, unless
      // that character began a line.
      const message = "'<' not followed by a tag name: a '<' in text is written &lt;";
      return at.column >= 2 ? here(message, at.line, at.column - 1) : here(message, at.line - 1, null);
    }
    case 'disallowed character in tag name.':
      return here(`a character that cannot be in a tag name, in <${at.tagName}`);
    case 'disallowed character in attribute name.':
      return here(`a character that cannot be in an attribute name, in <${at.tagName}>`);
    case 'disallowed character in closing tag.':
      return here('a character that cannot be in an end tag');
    case 'unquoted attribute value.':
      return here(`an attribute value without quotes in <${at.tagName}> (write name="value")`);
    case 'attribute without value.':
      return here(`an attribute without a value in <${at.tagName}> (write name="value")`);
    case 'no whitespace between attributes.':
      return here(`no white space between two attributes of <${at.tagName}>`);
    case 'forward-slash in opening tag not followed by >.':
      return here(`'/' not followed by '>' in <${at.tagName}>`);
    case 'the string "]]>" is disallowed in char data.':
      // Reported at its `>`: the `]]` are the two characters before it, on the same line.
      return here("']]>' in text: write it ]]&gt;", at.line, at.column - 2);
    case 'text data outside of root node.': {
      const start = at.textOutsideRoot();
      const message = at.rootSeen
        ? 'text after the root element'
        : 'text before the root element: not an XML document';
      return start === undefined ? here(message) : here(message, start.line, start.column);
    }
    case 'document must contain a root element.':
      return here('the document has no root element: it is empty or not XML', at.line, at.column + 1);
    case 'documents may contain only one root.':
      return here(`a second root element <${at.tagName}>`);
    case 'undefined entity.': {
      const name = at.reference.name;
      return atReference(
        at.isHtmlEntity(name)
          ? `&${name}; is an HTML entity, which XML does not define (options.htmlEntities is "refuse")`
          : `&${name}; is not defined (XML defines &amp; &lt; &gt; &quot; &apos;; a bare & is written &amp;)`,
      );
    }
    case 'empty entity name.':
      return here("'&;' is not a reference: a bare & is written &amp;", at.line, at.column - 1);
    case 'disallowed character in entity name.':
      return atReference(`&${at.reference.name}; is not an entity or character reference`);
    case 'malformed character entity.':
      return atReference(`&${at.reference.name}; refers to a character XML does not allow`);
    case 'malformed comment.':
      return here("'--' inside a comment");
    case 'inappropriately located doctype declaration.':
      return here('a DOCTYPE inside the document, or a second one');
    case 'incorrect syntax.':
      return here("'<!' not followed by a comment, a CDATA section or a DOCTYPE");
    case 'unexpected close tag.':
      return here(`</${at.endTagWritten()}> closes <${at.lastClosed}>`);
    case 'weird empty close tag.':
      return here('an empty end tag </>');
    default: {
      const duplicate = /^duplicate attribute: (.*)\.$/.exec(saxes);
      if (duplicate) return here(`the attribute ${duplicate[1]} appears twice in <${at.tagName}>`);
      const unmatched = /^unmatched closing tag: (.*)\.$/.exec(saxes);
      if (unmatched) return here(`</${unmatched[1]}> without a start tag`);
      // The XML declaration's and processing instructions' own faults, as saxes words them.
      return here(saxes.replace(/\.$/, ''));
    }
  }
}
