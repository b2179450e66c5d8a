// Debian's Chromium for the browser tests: where it is, and the rule that a missing browser
// ignores the test on a developer's machine but fails it in CI (CI=true), never a silent skip.

export const CHROMIUM = "/usr/bin/chromium";

export const chromiumInstalled = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

export const inCi = Deno.env.get("CI") === "true";

/** Whether a browser test is ignored here; says why once when it is. */
export function ignoreWithoutChromium(test: string): boolean {
  const ignore = !chromiumInstalled && !inCi;
  if (ignore) {
    console.warn(
      `${test}: ${CHROMIUM} is missing, so the browser test is ignored ` +
        "(apt-get install chromium to run it; in CI it must run).",
    );
  }
  return ignore;
}
