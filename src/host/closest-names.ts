/**
 * The names nearest to a mistyped one (edit distance, at most a quarter of its length and at least 2),
 * closest first, for "did you mean" hints.
 */
export function closestNames(typed: string, names: Iterable<string>, max = 3): string[] {
  const limit = Math.max(2, Math.floor(typed.length / 4));
  const scored: Array<[string, number]> = [];
  for (const name of new Set(names)) {
    if (name === typed) continue;
    const distance = editDistance(typed.toLowerCase(), name.toLowerCase());
    if (distance <= limit) scored.push([name, distance]);
  }
  return scored.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).slice(0, max).map(([name]) => name);
}

/** Levenshtein distance, two rows at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
