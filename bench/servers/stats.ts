// What every bench server answers at /bench/stats: its memory, after a GC when asked (the
// servers run with --expose-gc) so heap figures compare live objects only.
export function memoryStats(
  collect: boolean,
): { rss: number; heapUsed: number; heapTotal: number } {
  if (collect) (globalThis as { gc?: () => void }).gc?.();
  const m = Deno.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal };
}
