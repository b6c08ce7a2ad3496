// The app in a real browser against a real Django server on the demo data (see run.sh).
// Steps run in order on one signed-in page, as a person would use the app.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const BASE_URL = process.env.E2E_BASE_URL;
const USER = process.env.E2E_USER;
const PASSWORD = process.env.E2E_PASSWORD;
const COUNTS = JSON.parse(process.env.E2E_COUNTS ?? "{}");
const SHOTS = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "test-artifacts", "screenshots");
assert.ok(BASE_URL && USER && PASSWORD && COUNTS.customers, "run through e2e/run.sh, which sets E2E_*");

let browser;
let page;

const shoot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

// A test that fails leaves a screenshot of what the browser showed at that moment.
function step(name, body) {
  test(name, async () => {
    try {
      await body();
    } catch (error) {
      const slug = name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
      await page?.screenshot({ path: join(SHOTS, `FAILED-${slug}.png`), fullPage: true }).catch(() => {});
      throw error;
    }
  });
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  const context = await browser.newContext({ baseURL: BASE_URL, viewport: { width: 1440, height: 900 } });
  context.setDefaultTimeout(15_000);
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
});

step("an anonymous visitor is asked to sign in, in words", async () => {
  await page.goto("/");
  const alert = page.getByRole("alert");
  await alert.getByText("Please sign in").waitFor();
  assert.equal(
    await alert.getByRole("link", { name: "sign in" }).getAttribute("href"),
    "/accounts/login/?next=/",
  );

  await alert.getByRole("link", { name: "sign in" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.match(await page.locator("header h1").innerText(), /IntraSoft/);
  await shoot("login");
});

step("signing in shows the customer table with every demo customer", async () => {
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();

  await page.waitForURL(`${BASE_URL}/`);
  const count = page.getByTestId("customer-count");
  await count.waitFor();
  assert.equal(await count.innerText(), `${COUNTS.customers} customers`);
  assert.equal(await page.locator("tbody tr").count(), COUNTS.customers);
  // One column per field of the customer table.
  assert.equal(await page.locator("thead th").count(), COUNTS.fields);
  await shoot("customers");
});

step("filtering by area shows only that area's customers", async () => {
  const area = "Switzerland";
  await page.getByLabel("Area").selectOption(area);

  await page.getByTestId("customer-count").getByText(`${COUNTS.by_area[area]} customers`).waitFor();
  const areas = await page.locator("tbody tr td:nth-child(3)").allInnerTexts();
  assert.equal(areas.length, COUNTS.by_area[area]);
  assert.deepEqual([...new Set(areas)], [area]);

  await page.getByRole("button", { name: "Customer", exact: true }).click();
  const names = await page.locator("tbody tr td:nth-child(2)").allInnerTexts();
  assert.deepEqual(
    names,
    [...names].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: "base" })),
  );
  await shoot("customers-filtered");
});

step("searching by name narrows the area's customers", async () => {
  await page.getByLabel("Name").fill("gmbh");

  const noun = COUNTS.swiss_gmbh === 1 ? "customer" : "customers";
  await page.getByTestId("customer-count").getByText(`${COUNTS.swiss_gmbh} ${noun}`).waitFor();
  const names = await page.locator("tbody tr td:nth-child(2)").allInnerTexts();
  assert.ok(names.length > 0);
  assert.equal(names.length, COUNTS.swiss_gmbh);
  assert.ok(names.every((name) => /gmbh/i.test(name)));
});

step("the form's customer search offers the first matches by name and is used by keyboard", async () => {
  await page.getByRole("link", { name: "Opportunities" }).click();
  await page.getByTestId("opportunity-count").waitFor();
  const form = page.locator("form.create");
  const customer = form.getByRole("combobox", { name: "Customer" });
  const { term, matches, first } = COUNTS.search;
  await customer.fill(term);

  const options = form.getByRole("listbox").getByRole("option");
  await options.nth(first.length - 1).waitFor();
  const offered = await options.allInnerTexts();
  assert.deepEqual(
    offered.map((text) => text.replace(/ \([^()]*\)$/, "")),
    first,
  );
  assert.ok(offered.every((text) => text.toLowerCase().includes(term)));
  await form
    .getByText(
      matches > first.length
        ? `The first ${first.length} matches; type more of the name to narrow them.`
        : `${matches} customers match.`,
    )
    .waitFor();
  await shoot("opportunity-customer-search");

  await customer.press("ArrowDown");
  await customer.press("ArrowDown");
  assert.equal(await customer.getAttribute("aria-activedescendant"), await options.nth(1).getAttribute("id"));
  await customer.press("Enter");
  assert.equal(await customer.inputValue(), first[1]);
  assert.equal(await customer.getAttribute("aria-expanded"), "false");
});

step("a bad revenue is refused with the server's message beside the field", async () => {
  const form = page.locator("form.create");
  await form.getByLabel("Opportunity name").fill("E2E Payroll roll-out");
  await form.getByLabel("Product").selectOption("Payroll");
  await form.getByLabel("Status").selectOption("Proposal");
  await form.getByLabel("Est. monthly revenue").fill("-250");
  await form.getByLabel("Expected close date").fill("2025-05-31");
  await form.getByRole("button", { name: "Create opportunity" }).click();

  const revenue = form.getByLabel("Est. monthly revenue");
  const message = form.locator("#est_monthly_revenue-error");
  await message.waitFor();
  assert.ok((await message.innerText()).length > 0);
  assert.equal(await revenue.getAttribute("aria-invalid"), "true");
  await shoot("opportunity-validation-error");
});

step("a valid opportunity is created and listed", async () => {
  const before = Number((await page.getByTestId("opportunity-count").innerText()).split(" ")[0]);
  const form = page.locator("form.create");
  await form.getByLabel("Est. monthly revenue").fill("1250.50");
  await form.getByRole("button", { name: "Create opportunity" }).click();

  await form.getByText(`Created “E2E Payroll roll-out” for ${COUNTS.search.first[1]}.`).waitFor();
  await page
    .getByTestId("opportunity-count")
    .getByText(`${before + 1} opportunities`)
    .waitFor();
  const row = page.locator("tbody tr", { hasText: "E2E Payroll roll-out" });
  assert.equal(await row.count(), 1);
  assert.match(await row.innerText(), /1,250\.50/);

  await page.getByLabel("Status").first().selectOption("Proposal");
  await page.getByTestId("opportunity-count").waitFor();
  const statuses = await page.locator("tbody tr td:nth-child(5)").allInnerTexts();
  assert.ok(statuses.length > 0);
  assert.deepEqual([...new Set(statuses)], ["Proposal"]);
  await page.getByLabel("Status").first().selectOption("");
  await page.locator("tbody tr", { hasText: "E2E Payroll roll-out" }).waitFor();
  await shoot("opportunities");
});

step("the forecast charts target, actuals and projection per area", async () => {
  await page.getByRole("link", { name: "Forecast" }).click();
  // The first answer (the server's default period) fills the inputs; choose the demo's period after it.
  await page.getByText(/^FY\d{4} \(July/).waitFor();
  await page.getByLabel("Fiscal year").fill("2025");
  await page.getByLabel("As of").fill("2024-12-15");
  await page.getByRole("button", { name: "Show" }).click();

  await page.getByText("FY2025 (July 2024 – June 2025), as of 2024-12-15.").waitFor();
  const groups = page.locator("figure.chart svg g[data-group]");
  assert.equal(await groups.count(), 5);
  assert.ok((await page.locator("figure.chart rect[data-series='actuals_to_date']").count()) === 5);
  assert.ok((await page.locator("figure.chart rect[data-series='projected_total']").count()) === 5);
  assert.equal(await page.getByRole("rowheader", { name: "Total" }).count(), 1);
  // The demo history stores a FY2025 snapshot per day from 2024-12-01 to 12-13: one point each.
  await page.getByText("Projected total per area, day by day").waitFor();
  assert.equal(await page.locator("[data-line]").count(), 5);
  assert.equal(await page.locator("[data-line='Switzerland'] circle").count(), 13);
  assert.equal(
    await page.locator("[data-line='Switzerland'] circle").first().getAttribute("data-day"),
    "2024-12-01",
  );
  await shoot("forecast");
});

step("the movement page explains Switzerland's change with a waterfall and lists a bar's deals", async () => {
  await page.getByRole("link", { name: "Movement" }).click();
  await page.getByRole("heading", { name: "Pipeline movement" }).waitFor();
  await page.getByLabel("Fiscal year").fill("2025");
  await page.getByLabel("From", { exact: true }).fill("2024-12-02");
  await page.getByLabel("To", { exact: true }).fill("2024-12-13");
  await page.getByRole("button", { name: "Show" }).click();
  await page
    .getByText("FY2025: the pipeline when 2024-12-02 began and when 2024-12-13 ended.", { exact: false })
    .waitFor();

  // docs/forecast.md's worked example, drawn: start, the buckets, end (weighted pipeline).
  const swiss = page.getByRole("group", { name: /^Switzerland: Weighted pipeline/ });
  const labels = await swiss
    .locator("[data-bar]")
    .evaluateAll((bars) => bars.map((b) => b.getAttribute("aria-label")));
  assert.deepEqual(labels, [
    "start: 39,085",
    "new: +3,000",
    "deleted: 0",
    "won: +6,100",
    "lost: 0",
    "slipped: −7,170",
    "pulled in: +2,660",
    "increased: +1,200",
    "decreased: 0",
    "unexplained: 0",
    "end: 44,875",
  ]);
  await swiss.getByRole("button", { name: "won: +6,100" }).locator("rect").click();
  const deals = page.getByRole("table", { name: "Switzerland: deals won" });
  await deals.getByRole("rowheader", { name: "Payroll expansion - Aare Treuhand AG" }).waitFor();
  assert.equal(await deals.locator("tbody tr").count(), 1);

  await page.getByLabel("Measure").selectOption({ label: "Open deals (count)" });
  await page
    .getByRole("group", { name: /^Switzerland: Open deals/ })
    .getByRole("img", { name: "end: 6" })
    .waitFor();
  await page.getByLabel("Measure").selectOption({ label: "Weighted pipeline" });
  await shoot("movement");

  // Before the history's first entry: the API's message names the first day it can answer.
  await page.getByLabel("From", { exact: true }).fill("2024-11-01");
  await page.getByRole("button", { name: "Show" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.innerText(), /from must be 2024-12-02 or later/);
  await shoot("movement-error");
});
