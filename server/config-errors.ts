/**
 * Messages for a config file a person wrote by hand: JSON syntax errors by line and column (V8's
 * own message gives a character offset at best, and for some errors none), and zod issues that
 * name an unknown key with the known key it most likely meant.
 */
import { closest, distance } from 'fastest-levenshtein';
import { parse as parseJsonc, type ParseError, printParseErrorCode } from 'jsonc-parser';
import { z } from 'zod';

/** 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lastBreak = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: offset - lastBreak };
}

const SYNTAX_WORDS: Partial<Record<ReturnType<typeof printParseErrorCode>, string>> = {
  InvalidSymbol: 'unexpected',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":" after the property name',
  CommaExpected: 'expected "," between entries',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected text after the end of the JSON value',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfString: 'a string is not closed',
};

/** `line 3, column 14: expected "," between entries`, or null when the text is valid JSON. */
export function jsonSyntaxError(text: string): string | null {
  try {
    JSON.parse(text);
    return null;
  } catch {
    // Located below: jsonc-parser reports an offset for every kind of error.
  }
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return 'not valid JSON';
  const code = printParseErrorCode(first.error);
  // A comma before "}" or "]" (allowed in JavaScript, not in JSON): point at the comma itself.
  const trailing = /,(\s*)$/.exec(text.slice(0, first.offset));
  if (trailing && /^[}\]]/.test(text.slice(first.offset)) && (code === 'PropertyNameExpected' || code === 'ValueExpected')) {
    const comma = lineAndColumn(text, first.offset - trailing[0].length);
    return `line ${comma.line}, column ${comma.column}: a comma before "${text[first.offset]}" (JSON allows no trailing comma)`;
  }
  const { line, column } = lineAndColumn(text, first.offset);
  const found = text.slice(first.offset, first.offset + Math.min(first.length, 20));
  const words = SYNTAX_WORDS[code] ?? code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  const what = code === 'InvalidSymbol' ? `${words} "${found}"` : first.offset >= text.length ? `${words} (the file ends here)` : words;
  return `line ${line}, column ${column}: ${what}`;
}

/** The object schema at `path` inside `schema` (through defaults, optionals, arrays, unions, pipes). */
function objectAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodObject | undefined {
  let s: z.ZodType | undefined = schema;
  const rest = [...path];
  for (let guard = 0; s && guard < 64; guard++) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else if (s instanceof z.ZodUnion) s = (s.options as z.ZodType[]).find((o) => objectAt(o, rest) !== undefined);
    else if (rest.length === 0) return s instanceof z.ZodObject ? s : undefined;
    else if (s instanceof z.ZodObject) s = s.shape[String(rest.shift())] as z.ZodType | undefined;
    else if (s instanceof z.ZodArray) {
      rest.shift();
      s = s.element as z.ZodType;
    } else return undefined;
  }
  return undefined;
}

/** The known key a misspelt one most likely meant: close in edit distance, else undefined. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(key, [...known]);
  // Up to a third of the key's length (at least 2) apart: catches "practise_trials",
  // "stimulus_sett", "timming", and offers nothing for a key unlike every known one.
  return distance(key, best) <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

const at = (path: readonly PropertyKey[]) => path.map(String).join('.') || '(top level)';

export interface ConfigIssue {
  path: PropertyKey[];
  message: string;
}

/**
 * The problems worth telling, unknown keys first. An unknown key is named with a suggestion; the
 * "missing" complaint about the key it meant is left out, since the misspelling explains it.
 */
export function configIssues(issues: readonly z.core.$ZodIssue[], schema: z.ZodType): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const explained = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const known = Object.keys(objectAt(schema, issue.path)?.shape ?? {});
    for (const key of issue.keys) {
      const meant = suggestKey(key, known);
      if (meant) explained.add([...issue.path, meant].map(String).join('.'));
      const hint = meant ? `did you mean "${meant}"?` : known.length > 0 ? `known keys: ${known.join(', ')}` : '';
      out.push({ path: issue.path, message: `unknown key "${key}"${hint ? ` (${hint})` : ''}` });
    }
  }
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') continue;
    if (issue.code === 'invalid_type' && explained.has(issue.path.map(String).join('.'))) continue;
    out.push({ path: issue.path, message: issue.message });
  }
  return out;
}

/** One line per problem: `path: message`. */
export function configIssueLines(issues: readonly z.core.$ZodIssue[], schema: z.ZodType): string[] {
  return configIssues(issues, schema).map((i) => `${at(i.path)}: ${i.message}`);
}
