import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from './repository-root.js';

/**
 * The code blocks of one `## ` section of README.md whose fence names `language`, in order: doc
 * checks run them as the README shows them.
 * @example
 * const [example] = readmeSnippets('Plain Node: LockClient', 'js');
 */
export function readmeSnippets(section: string, language: string): string[] {
  const readme = readFileSync(join(repositoryRoot(import.meta.url), 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`README.md has no section "## ${section}"`);
  const next = readme.indexOf('\n## ', start + 1);
  const body = readme.slice(start, next < 0 ? undefined : next);
  return [...body.matchAll(/^```(\S*)\n([\s\S]*?)^```$/gm)]
    .filter(([, fence]) => fence === language)
    .map(([, , code]) => code!);
}
