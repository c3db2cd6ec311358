// A parser for the subset of POSIX sh the fake device understands, with sh's quoting rules exactly:
// 'single quotes' are literal; "double quotes" keep everything but $, ` and \ (which escapes only
// $ ` " \ and newline there); an unquoted backslash makes the next character literal and drops a
// backslash-newline. Parameter expansions ($NAME, ${NAME}, $1, $@, $?, …) are parsed and later
// expanded. Command substitutions ($(…), `…`, $((…))) are parsed, so that a hostile string is split
// where a real shell would split it, but they are never executed: the interpreter records them and
// refuses the command (see shell-interpreter.ts).
//
// Grammar (newline acts like ';'; a trailing '&' runs the job in the foreground):
//   script    := [and_or (sep and_or)*] [sep]          sep := ';' | '&' | newline
//   and_or    := pipeline (('&&' | '||') newline* pipeline)*
//   pipeline  := ['!'] command ('|' newline* command)*
//   command   := (assignment)* (word | redirect)+ ...  assignment := NAME=word (before the first word)
//   redirect  := [fd] ('>' | '>>' | '>|' | '<' | '>&' | '<&') word
//   comment   := '#' at the start of a word, up to the end of the line
// Not supported (a clear syntax error, nothing runs): ( ) subshells, { } groups, here-documents (<<),
// if/while/for/case, functions, globbing (`*` stays literal).

export type WordPart =
  | { kind: 'text'; text: string; quoted: boolean }
  | { kind: 'param'; name: string; quoted: boolean }
  | { kind: 'subst'; source: string; quoted: boolean };

export interface Word {
  parts: WordPart[];
  /** The word as written, quotes included (for messages). */
  raw: string;
}

export type RedirectOp = '>' | '>>' | '<' | '>&' | '<&';

export interface Redirect {
  fd: number;
  op: RedirectOp;
  target: Word;
}

export interface Assignment {
  name: string;
  value: Word;
}

export interface SimpleCommand {
  assignments: Assignment[];
  words: Word[];
  redirects: Redirect[];
}

export interface Pipeline {
  negate: boolean;
  commands: SimpleCommand[];
}

export interface AndOr {
  first: Pipeline;
  rest: Array<{ op: '&&' | '||'; pipeline: Pipeline }>;
}

export type Script = AndOr[];

export class ShellSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShellSyntaxError';
  }
}

type Token =
  | { type: 'word'; word: Word }
  | { type: 'op'; op: string; fd?: number }
  | { type: 'newline' };

const OPERATORS = ['&&', '||', ';;', '>>', '>&', '<&', '<<', '>|', '<>', '|', '&', ';', '<', '>', '(', ')'];
const OPERATOR_START = new Set(['&', '|', ';', '<', '>', '(', ')']);
const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'case', 'esac', 'while', 'until', 'for', 'in', 'function', 'select', '{', '}', '[[', ']]']);
const SPECIAL_PARAMS = new Set(['?', '$', '#', '@', '*', '!', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

function isNameStart(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z_]/.test(ch);
}

function isNameChar(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z0-9_]/.test(ch);
}

class Lexer {
  private pos = 0;
  constructor(private readonly src: string) {}

  tokens(): Token[] {
    const out: Token[] = [];
    for (;;) {
      this.skipBlanks();
      if (this.pos >= this.src.length) return out;
      const ch = this.src[this.pos]!;
      if (ch === '\n') {
        this.pos++;
        out.push({ type: 'newline' });
        continue;
      }
      if (ch === '#') {
        while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
        continue;
      }
      if (OPERATOR_START.has(ch)) {
        const op = OPERATORS.find((candidate) => this.src.startsWith(candidate, this.pos))!;
        this.pos += op.length;
        out.push({ type: 'op', op });
        continue;
      }
      const start = this.pos;
      const word = this.word();
      // An all-digit unquoted word directly followed by < or > is an IO number: `2>file`.
      const next = this.src[this.pos];
      if ((next === '<' || next === '>') && /^[0-9]+$/.test(this.src.slice(start, this.pos))) {
        const op = OPERATORS.find((candidate) => this.src.startsWith(candidate, this.pos))!;
        this.pos += op.length;
        out.push({ type: 'op', op, fd: Number(this.src.slice(start, this.pos - op.length)) });
        continue;
      }
      out.push({ type: 'word', word });
    }
  }

  private skipBlanks(): void {
    for (;;) {
      const ch = this.src[this.pos];
      if (ch === ' ' || ch === '\t' || ch === '\r') this.pos++;
      else if (ch === '\\' && this.src[this.pos + 1] === '\n') this.pos += 2; // line continuation
      else return;
    }
  }

  private word(): Word {
    const start = this.pos;
    const parts: WordPart[] = [];
    const text = (value: string, quoted: boolean): void => {
      const last = parts[parts.length - 1];
      if (last?.kind === 'text' && last.quoted === quoted) last.text += value;
      else parts.push({ kind: 'text', text: value, quoted });
    };
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos]!;
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || OPERATOR_START.has(ch)) break;
      if (ch === '\\') {
        const next = this.src[this.pos + 1];
        this.pos += 2;
        if (next === undefined) text('\\', false); // a trailing backslash stays (as mksh does)
        else if (next !== '\n') text(next, true);
        continue;
      }
      if (ch === "'") {
        const end = this.src.indexOf("'", this.pos + 1);
        if (end < 0) throw new ShellSyntaxError('unterminated quoted string');
        text(this.src.slice(this.pos + 1, end), true);
        // Keep an empty '' visible: it makes the word exist even when empty.
        if (end === this.pos + 1) parts.push({ kind: 'text', text: '', quoted: true });
        this.pos = end + 1;
        continue;
      }
      if (ch === '"') {
        this.pos++;
        let sawAny = false;
        for (;;) {
          if (this.pos >= this.src.length) throw new ShellSyntaxError('unterminated quoted string');
          const c = this.src[this.pos]!;
          if (c === '"') {
            this.pos++;
            break;
          }
          sawAny = true;
          if (c === '\\') {
            const next = this.src[this.pos + 1];
            if (next === '$' || next === '`' || next === '"' || next === '\\') {
              text(next, true);
              this.pos += 2;
            } else if (next === '\n') {
              this.pos += 2;
            } else {
              text('\\', true);
              this.pos++;
            }
          } else if (c === '$') {
            const part = this.dollar(true);
            if (part === undefined) text('$', true);
            else parts.push(part);
          } else if (c === '`') {
            parts.push({ kind: 'subst', source: this.backquote(), quoted: true });
          } else {
            text(c, true);
            this.pos++;
          }
        }
        if (!sawAny) parts.push({ kind: 'text', text: '', quoted: true });
        continue;
      }
      if (ch === '$') {
        const part = this.dollar(false);
        if (part === undefined) text('$', false);
        else parts.push(part);
        continue;
      }
      if (ch === '`') {
        parts.push({ kind: 'subst', source: this.backquote(), quoted: false });
        continue;
      }
      text(ch, false);
      this.pos++;
    }
    return { parts, raw: this.src.slice(start, this.pos) };
  }

  /** At a `$`: a parameter or substitution part, or undefined (then `$` is literal); advances. */
  private dollar(quoted: boolean): WordPart | undefined {
    const next = this.src[this.pos + 1];
    if (next === '(') {
      const start = this.pos;
      this.pos += 1;
      this.skipBalanced('(', ')');
      return { kind: 'subst', source: this.src.slice(start, this.pos), quoted };
    }
    if (next === '{') {
      const end = this.src.indexOf('}', this.pos + 2);
      if (end < 0) throw new ShellSyntaxError('missing }');
      const inner = this.src.slice(this.pos + 2, end);
      const source = this.src.slice(this.pos, end + 1);
      this.pos = end + 1;
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(inner) || /^[0-9]+$/.test(inner) || SPECIAL_PARAMS.has(inner)) {
        return { kind: 'param', name: inner, quoted };
      }
      // ${x:-…}, ${#x}, … are not supported: keep them as a substitution so they are refused, not
      // silently mis-expanded.
      return { kind: 'subst', source, quoted };
    }
    if (next !== undefined && SPECIAL_PARAMS.has(next)) {
      this.pos += 2;
      return { kind: 'param', name: next, quoted };
    }
    if (isNameStart(next)) {
      let end = this.pos + 1;
      while (isNameChar(this.src[end])) end++;
      const name = this.src.slice(this.pos + 1, end);
      this.pos = end;
      return { kind: 'param', name, quoted };
    }
    this.pos++;
    return undefined;
  }

  /** At an opening bracket: skips to just after its matching closer, honouring quotes. */
  private skipBalanced(open: string, close: string): void {
    let depth = 0;
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos]!;
      if (ch === '\\') {
        this.pos += 2;
        continue;
      }
      if (ch === "'") {
        const end = this.src.indexOf("'", this.pos + 1);
        if (end < 0) throw new ShellSyntaxError('unterminated quoted string');
        this.pos = end + 1;
        continue;
      }
      if (ch === '"') {
        this.pos++;
        while (this.pos < this.src.length && this.src[this.pos] !== '"') this.pos += this.src[this.pos] === '\\' ? 2 : 1;
        this.pos++;
        continue;
      }
      this.pos++;
      if (ch === open) depth++;
      else if (ch === close && --depth === 0) return;
    }
    throw new ShellSyntaxError(`missing ${close}`);
  }

  /** At a backquote: returns the `…` source and advances past the closing one. */
  private backquote(): string {
    const start = this.pos;
    this.pos++;
    while (this.pos < this.src.length && this.src[this.pos] !== '`') this.pos += this.src[this.pos] === '\\' ? 2 : 1;
    if (this.pos >= this.src.length) throw new ShellSyntaxError('unterminated `');
    this.pos++;
    return this.src.slice(start, this.pos);
  }
}

/** The literal text of a word if it has no quoting or expansion at all (for reserved words). */
function plainText(word: Word): string | undefined {
  if (word.parts.length !== 1) return undefined;
  const [part] = word.parts;
  return part!.kind === 'text' && !part!.quoted ? part!.text : undefined;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  script(): Script {
    const out: Script = [];
    for (;;) {
      this.skipSeparators();
      if (this.pos >= this.tokens.length) return out;
      out.push(this.andOr());
      const token = this.tokens[this.pos];
      if (token === undefined) return out;
      if (token.type === 'newline' || (token.type === 'op' && (token.op === ';' || token.op === '&'))) continue;
      throw this.unexpected(token);
    }
  }

  private skipSeparators(): void {
    for (;;) {
      const token = this.tokens[this.pos];
      if (token?.type === 'newline') this.pos++;
      else if (token?.type === 'op' && (token.op === ';' || token.op === '&')) {
        // A separator with nothing before it (`; echo`) is a syntax error in sh.
        if (this.pos === 0 || this.isSeparator(this.tokens[this.pos - 1])) throw this.unexpected(token);
        this.pos++;
      } else return;
    }
  }

  private isSeparator(token: Token | undefined): boolean {
    return token?.type === 'newline' || (token?.type === 'op' && (token.op === ';' || token.op === '&'));
  }

  private andOr(): AndOr {
    const first = this.pipeline();
    const rest: AndOr['rest'] = [];
    for (;;) {
      const token = this.tokens[this.pos];
      if (token?.type !== 'op' || (token.op !== '&&' && token.op !== '||')) return { first, rest };
      this.pos++;
      while (this.tokens[this.pos]?.type === 'newline') this.pos++;
      rest.push({ op: token.op, pipeline: this.pipeline() });
    }
  }

  private pipeline(): Pipeline {
    let negate = false;
    const head = this.tokens[this.pos];
    if (head?.type === 'word' && plainText(head.word) === '!') {
      negate = true;
      this.pos++;
    }
    const commands = [this.command()];
    for (;;) {
      const token = this.tokens[this.pos];
      if (token?.type !== 'op' || token.op !== '|') return { negate, commands };
      this.pos++;
      while (this.tokens[this.pos]?.type === 'newline') this.pos++;
      commands.push(this.command());
    }
  }

  private command(): SimpleCommand {
    const command: SimpleCommand = { assignments: [], words: [], redirects: [] };
    for (;;) {
      const token = this.tokens[this.pos];
      if (token === undefined || token.type === 'newline') break;
      if (token.type === 'op') {
        if (token.op === '>' || token.op === '>>' || token.op === '>|' || token.op === '<' || token.op === '>&' || token.op === '<&') {
          this.pos++;
          const target = this.tokens[this.pos];
          if (target?.type !== 'word') throw this.unexpected(target);
          this.pos++;
          const op: RedirectOp = token.op === '>|' ? '>' : token.op;
          command.redirects.push({ fd: token.fd ?? (op === '<' || op === '<&' ? 0 : 1), op, target: target.word });
          continue;
        }
        if (token.op === '<<' || token.op === '<>') throw new ShellSyntaxError(`'${token.op}' is not supported by the fake device shell`);
        if (token.op === '(' || token.op === ')' || token.op === ';;') throw this.unexpected(token);
        break; // ; & | && || end the command
      }
      const text = plainText(token.word);
      if (command.words.length === 0 && text !== undefined && RESERVED.has(text)) {
        throw new ShellSyntaxError(`'${text}' is not supported by the fake device shell`);
      }
      if (command.words.length === 0) {
        const assignment = asAssignment(token.word);
        if (assignment !== undefined) {
          command.assignments.push(assignment);
          this.pos++;
          continue;
        }
      }
      command.words.push(token.word);
      this.pos++;
    }
    if (command.words.length === 0 && command.assignments.length === 0 && command.redirects.length === 0) {
      throw this.unexpected(this.tokens[this.pos]);
    }
    return command;
  }

  private unexpected(token: Token | undefined): ShellSyntaxError {
    if (token === undefined) return new ShellSyntaxError('unexpected end of input');
    if (token.type === 'newline') return new ShellSyntaxError("unexpected newline");
    if (token.type === 'op') return new ShellSyntaxError(`'${token.op}' unexpected`);
    return new ShellSyntaxError(`'${token.word.raw}' unexpected`);
  }
}

/** `NAME=value` where NAME and `=` are unquoted, as sh recognises assignments. */
function asAssignment(word: Word): Assignment | undefined {
  const first = word.parts[0];
  if (first?.kind !== 'text' || first.quoted) return undefined;
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.text);
  if (match === null) return undefined;
  const rest = first.text.slice(match[0].length);
  const parts: WordPart[] = [...(rest === '' ? [] : [{ kind: 'text' as const, text: rest, quoted: false }]), ...word.parts.slice(1)];
  return { name: match[1]!, value: { parts, raw: word.raw.slice(match[0].length) } };
}

/** Parses a script; throws ShellSyntaxError with a message in mksh's style. */
export function parseScript(source: string): Script {
  return new Parser(new Lexer(source).tokens()).script();
}

/** Every command substitution in a script, found without running anything (for the injection log). */
export function findSubstitutions(script: Script): string[] {
  const found: string[] = [];
  const visit = (word: Word): void => {
    for (const part of word.parts) if (part.kind === 'subst') found.push(part.source);
  };
  for (const andOr of script) {
    for (const pipeline of [andOr.first, ...andOr.rest.map((r) => r.pipeline)]) {
      for (const command of pipeline.commands) {
        command.words.forEach(visit);
        command.assignments.forEach((a) => visit(a.value));
        command.redirects.forEach((r) => visit(r.target));
      }
    }
  }
  return found;
}

/** Quotes a string for sh (single quotes), for tests and for building command lines. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
