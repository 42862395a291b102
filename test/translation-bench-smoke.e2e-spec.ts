import { runTranslationBench } from '../bench/translation/translation-bench';

/**
 * The translation benchmark in its smallest form, against the test Postgres, so the harness
 * cannot rot. Its checks are the point: a route change reaches exactly the sidecars that call
 * the route's service, with the new weights, and every sidecar is synced to the new revision.
 * The numbers come from running the benchmark, never from here.
 */
describe('translation benchmark', () => {
  it('runs a 20-node mesh through full translation and two route changes', async () => {
    const [result] = await runTranslationBench({
      sizes: [],
      smoke: true,
      databaseUrl: process.env.DATABASE_URL,
    });
    expect(result).toMatchObject({ nodes: 20, changes: 2, pushedPerChange: 5 });
    // Only the five sidecars that call the changed route's service are translated again.
    expect(result?.translatedPerChange).toBe(5);
  });
});
