// The hand-written switchboard.d.ts must compile, and the usage examples must type-check against it.
import { it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

it("switchboard.d.ts and test/types.usage.ts type-check with tsc --strict", async () => {
  const tsc = resolve(root, "node_modules/typescript/bin/tsc");
  const args = [tsc, "--noEmit", "--strict", "--target", "es2022", "--lib", "es2022,dom", "--module", "nodenext", "--moduleResolution", "nodenext", "switchboard.d.ts", "test/types.usage.ts"];
  const result = await new Promise((res) => {
    execFile(process.execPath, args, { cwd: root, timeout: 60_000 }, (error, stdout, stderr) => res({ error, output: stdout + stderr }));
  });
  assert.equal(result.error, null, result.output);
});
