/**
 * Where a JSON text first breaks the grammar, as "line L, column C" (both from 1), with V8's own
 * wording of what is wrong. V8 gives a character position only for some errors, and for "Unexpected
 * token" none at all, while an editor counts lines and columns.
 */
export function describeJsonSyntaxError(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const stated = /at position (\d+)/.exec(message);
  const offset = stated ? Number(stated[1]) : (firstSyntaxErrorOffset(text) ?? text.length);
  const { line, column } = lineAndColumn(text, offset);
  // V8 quotes a snippet of the text ('…"b": }" is not valid JSON'); the position says more.
  const what = message.replace(/ in JSON at position \d+.*$/s, '').replace(/, (\.\.\.)?".*" is not valid JSON$/s, '').replace(/ of JSON input$/, ' of the file');
  return `line ${line}, column ${column}: ${what}`;
}

export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = '"\\/bfnrtu';

/** The offset of the first character that makes `text` not JSON, or undefined when it is JSON. */
export function firstSyntaxErrorOffset(text: string): number | undefined {
  let i = 0;
  const broken = (): never => {
    throw new JsonBreak(i);
  };
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const string = () => {
    i++;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        i++;
        if (i >= text.length || !ESCAPES.includes(text[i]!)) broken();
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) broken();
          i += 4;
        }
      } else if (c < ' ') broken();
      i++;
    }
    broken();
  };
  const sequence = (close: string, item: () => void) => {
    i++;
    space();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      item();
      space();
      if (text[i] === ',') i++;
      else if (text[i] === close) {
        i++;
        return;
      } else broken();
    }
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      sequence('}', () => {
        space();
        if (text[i] !== '"') broken();
        string();
        space();
        if (text[i] !== ':') broken();
        i++;
        value();
      });
    } else if (c === '[') sequence(']', value);
    else if (c === '"') string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) broken();
      i = NUMBER.lastIndex;
    } else {
      const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, i));
      if (!literal) broken();
      i += literal!.length;
    }
  };
  try {
    value();
    space();
    if (i < text.length) broken();
    return undefined;
  } catch (error) {
    if (error instanceof JsonBreak) return error.offset;
    throw error;
  }
}

class JsonBreak {
  constructor(readonly offset: number) {}
}
