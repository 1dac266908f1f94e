import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/** A Chromium to drive, or why there is none (the caller prints it and skips). */
export type ChromiumOrReason = { readonly executablePath: string } | { readonly skip: string };

/**
 * The Chromium binary the browser tests drive with playwright-core (which downloads no
 * browser of its own): CHROMIUM_PATH, or the `chromium` on PATH (Debian's package). Without
 * either it says why, so the caller can skip with a reason; with REQUIRE_CHROMIUM=1 (CI sets
 * it) it throws instead, so the tests cannot pass by skipping.
 */
export function findChromium(): ChromiumOrReason {
  const found = locate();
  if ("skip" in found && process.env.REQUIRE_CHROMIUM === "1") throw new Error(`REQUIRE_CHROMIUM=1, but ${found.skip}`);
  return found;
}

function locate(): ChromiumOrReason {
  const given = process.env.CHROMIUM_PATH;
  if (given) return existsSync(given) ? { executablePath: given } : { skip: `CHROMIUM_PATH names ${given}, which does not exist` };
  try {
    const onPath = execFileSync("which", ["chromium"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    if (onPath) return { executablePath: onPath };
  } catch {
    // not on PATH
  }
  return { skip: "no chromium on PATH and CHROMIUM_PATH is not set (apt-get install chromium)" };
}
