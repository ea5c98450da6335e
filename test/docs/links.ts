// A small link checker for the repository's docs: markdown links between files and to headings,
// and `docs/...` paths named in code and prose. Pure (reads files, no network): external links
// are not followed.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface BrokenLink { file: string; line: number; target: string; reason: string }

const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage']);

/** Files under `dir` (relative to `root`) whose names end with one of `exts`; dot-directories skipped. */
export function filesUnder(root: string, dir: string, exts: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      if (e.name.startsWith('.') || SKIP_DIRS.has(e.name)) continue;
      const p = path.join(rel, e.name);
      if (e.isDirectory()) walk(p);
      else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped (but - and _), spaces to -. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link shows its text
    .replace(/<[^>]+>/g, '')                   // inline HTML
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

/** Lines of a markdown file outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((l, i) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(l);
    if (m) {
      if (!fence) fence = m[1]![0]!;
      else if (m[1]![0] === fence) fence = undefined;
      return;
    }
    if (!fence) out.push({ line: i + 1, text: l });
  });
  return out;
}

/** The anchors of a markdown file's headings (duplicates numbered -1, -2 as GitHub does). */
export function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text: l } of proseLines(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(l);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Markdown links `[text](target)` of a file, outside code blocks and code spans. */
export function markdownLinks(text: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  for (const { line, text: l } of proseLines(text)) {
    const prose = l.replace(/`[^`]*`/g, '``');
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ line, target: m[1]! });
  }
  return out;
}

/** `docs/...` paths named anywhere in a text (code comments, messages, prose), with an optional #anchor. */
export function docsMentions(text: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  text.split('\n').forEach((l, i) => {
    for (const m of l.matchAll(/(?<![\w./\-$])docs\/[\w./-]*(?:#[\w-]+)?/g)) {
      out.push({ line: i + 1, target: m[0].replace(/[.]+(?=#|$)/, '') }); // a sentence's full stop is not part of the path
    }
  });
  return out;
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOfFile(file: string): Set<string> {
  let a = anchorCache.get(file);
  if (!a) { a = anchorsOf(readFileSync(file, 'utf8')); anchorCache.set(file, a); }
  return a;
}

/**
 * Why `target` (a path, optionally with #anchor, resolved against `base`) does not resolve, or
 * undefined when it does. `loose` lets a path name a file by its prefix, as prose names an ADR
 * (`docs/decisions/0009` for `docs/decisions/0009-snapshot-by-reference.md`) or a file without `.md`.
 */
export function unresolved(base: string, target: string, loose: boolean): string | undefined {
  const [p = '', anchor] = target.split('#', 2) as [string, string | undefined];
  let file = path.resolve(base, decodeURIComponent(p));
  if (!existsSync(file) && loose) {
    const dir = path.dirname(file);
    const stem = path.basename(file);
    const match = existsSync(dir) ? readdirSync(dir).find((n) => n === `${stem}.md` || n.startsWith(`${stem}-`)) : undefined;
    if (match) file = path.join(dir, match);
  }
  if (!existsSync(file)) return 'no such file';
  if (anchor === undefined) return undefined;
  if (statSync(file).isDirectory() || !file.endsWith('.md')) return 'an anchor into a file that has no headings';
  return anchorsOfFile(file).has(anchor) ? undefined : `no heading with anchor #${anchor} in ${path.basename(file)}`;
}

/** Broken markdown links in `mdFiles` and broken `docs/` mentions in `mentionFiles` (paths relative to `root`). */
export function brokenLinks(root: string, mdFiles: readonly string[], mentionFiles: readonly string[]): BrokenLink[] {
  const broken: BrokenLink[] = [];
  for (const rel of mdFiles) {
    const abs = path.join(root, rel);
    for (const { line, target } of markdownLinks(readFileSync(abs, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto: …: not checked here
      const reason = unresolved(path.dirname(abs), target.startsWith('#') ? `${path.basename(abs)}${target}` : target, false);
      if (reason) broken.push({ file: rel, line, target, reason });
    }
  }
  for (const rel of mentionFiles) {
    for (const { line, target } of docsMentions(readFileSync(path.join(root, rel), 'utf8'))) {
      const reason = unresolved(root, target, true);
      if (reason) broken.push({ file: rel, line, target, reason });
    }
  }
  return broken;
}
