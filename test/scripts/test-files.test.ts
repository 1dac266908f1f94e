import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";

const TEST_ROOT = join(import.meta.dirname, "..");

/** Every test file `npm test` runs (test/<folder>/<name>.test.ts). */
function testFiles(): string[] {
  return readdirSync(TEST_ROOT, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((folder) =>
      readdirSync(join(TEST_ROOT, folder.name))
        .filter((name) => name.endsWith(".test.ts"))
        .map((name) => join(folder.name, name)),
    );
}

/**
 * The top-level awaits of a file that come after its first top-level call statement (in a
 * test file, a call at the top level registers tests or hooks), as "line: text".
 */
function awaitsAfterRegistration(source: string, fileName = "file.ts"): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  let registered = false;
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) || ts.isClassLike(node)) return; // an await in there runs later, not at load
    if (ts.isAwaitExpression(node) && registered) {
      const { line } = file.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${line + 1}: ${node.getText().split("\n")[0]}`);
    }
    if (ts.isExpressionStatement(node) && ts.isCallExpression(node.expression)) registered = true;
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(file, visit);
  return found;
}

describe("test files", () => {
  it("finds an await at the top level after a test is registered, and none before it or inside a function", () => {
    assert.deepEqual(awaitsAfterRegistration("const a = await setUp();\nit('x', async () => { await a; });\n"), []);
    assert.deepEqual(awaitsAfterRegistration("after(() => stop());\nconst url = await database();\n"), ["2: await database()"]);
    assert.deepEqual(awaitsAfterRegistration("it('x', () => {});\nif (ok) {\n  const b = await more();\n}\n"), ["3: await more()"]);
  });

  // node:test runs a file's `after` hooks as soon as the tests registered so far have ended,
  // even while the file is still loading: an await between registrations lets a hook undo
  // (stop a server, remove a folder) what tests registered after the await still need.
  it("have no top-level await after their first test or hook is registered", () => {
    const offenders = testFiles().flatMap((name) => awaitsAfterRegistration(readFileSync(join(TEST_ROOT, name), "utf8"), name).map((at) => `${name}:${at}`));
    assert.deepEqual(offenders, []);
  });
});
