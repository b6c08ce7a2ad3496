// @vitest-environment node
// `make types` and its check: the committed types must be what the API's schema generates, and
// the check must fail, saying what to run, as soon as the API changes and they were not regenerated.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentSchema, generate, TYPES_FILE } from "./api-types.mjs";

const SCRIPT = join(import.meta.dirname, "api-types.mjs");
const run = (...args) =>
  promisify(execFile)(process.execPath, [SCRIPT, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

let dir;
let schemaFile;
let changedFile;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "api-types-"));
  const schema = currentSchema();
  schemaFile = join(dir, "schema.json");
  writeFileSync(schemaFile, JSON.stringify(schema));
  // What another change to the API might do: a new field on the customer.
  const customer = schema.components.schemas.Customer;
  customer.properties.segment = { type: "string", readOnly: true };
  customer.required.push("segment");
  changedFile = join(dir, "changed.json");
  writeFileSync(changedFile, JSON.stringify(schema));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("make types", () => {
  it("has written the committed types from the API's schema as the code stands", async () => {
    expect(await generate(JSON.parse(readFileSync(schemaFile, "utf8")))).toBe(
      readFileSync(TYPES_FILE, "utf8"),
    );
  });

  it("fails the check, naming `make types`, once the schema has changed", async () => {
    const before = readFileSync(TYPES_FILE, "utf8");

    const result = await run("--check", "--schema", changedFile);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("src/api-schema.ts is stale");
    expect(result.stderr).toContain("Run `make types`");
    // The check only reports: the committed file is left as it was.
    expect(readFileSync(TYPES_FILE, "utf8")).toBe(before);
  });

  it("writes types with the schema's change, which the check then accepts", async () => {
    const out = join(dir, "api-schema.ts");

    const written = await run("--schema", changedFile, "--types", out);
    const checked = await run("--check", "--schema", changedFile, "--types", out);

    expect(written.code).toBe(0);
    expect(readFileSync(out, "utf8")).toMatch(/readonly segment: string;/);
    expect(readFileSync(TYPES_FILE, "utf8")).not.toMatch(/segment/);
    expect(checked).toMatchObject({ code: 0, stderr: "" });
    expect(checked.stdout).toContain("matches the API's OpenAPI schema");
  });
});
