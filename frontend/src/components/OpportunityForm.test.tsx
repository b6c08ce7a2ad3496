import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { customer, mockApi, page, renderWithQuery, VOCABULARY } from "../test-utils";
import { OpportunityForm } from "./OpportunityForm";

const CUSTOMERS = page([customer({ cid: 7, customer_name: "Ørsted", area: "UK" })]);

async function fillValidForm(revenue: string) {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("Customer"), "ørs");
  await user.click(await screen.findByRole("option", { name: "Ørsted (UK, 7)" }));
  await user.type(screen.getByLabelText("Opportunity name"), "Payroll roll-out");
  await user.selectOptions(screen.getByLabelText("Product"), "Payroll");
  await user.selectOptions(screen.getByLabelText("Status"), "Proposal");
  await user.type(screen.getByLabelText("Est. monthly revenue"), revenue);
  await user.type(screen.getByLabelText("Expected close date"), "2025-03-31");
  await user.click(screen.getByRole("button", { name: "Create opportunity" }));
}

describe("OpportunityForm", () => {
  afterEach(() => {
    document.cookie = "csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT";
  });

  it("posts the form with the CSRF token and reports the created opportunity", async () => {
    document.cookie = "csrftoken=tok%2Den123";
    const calls = mockApi((url, call) =>
      url.pathname === "/api/customers"
        ? [200, CUSTOMERS]
        : call.method === "POST"
          ? [201, { oid: "a".repeat(32), opportunity_name: "Payroll roll-out", customer_name: "Ørsted" }]
          : [404, undefined],
    );
    renderWithQuery(<OpportunityForm vocabulary={VOCABULARY} />);

    await fillValidForm("1234.50");

    expect(await screen.findByText("Created “Payroll roll-out” for Ørsted.")).toBeTruthy();
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.url.pathname).toBe("/api/opportunities");
    expect(post.credentials).toBe("same-origin");
    expect(post.headers.get("X-CSRFToken")).toBe("tok-en123");
    expect(post.headers.get("Content-Type")).toBe("application/json");
    // Reads carry no CSRF token: only writes need it.
    expect(calls.find((c) => c.method === "GET")!.headers.has("X-CSRFToken")).toBe(false);
    // Optional fields left blank are not sent, so the server applies the status defaults.
    expect(JSON.parse(post.body)).toEqual({
      cid: 7,
      opportunity_name: "Payroll roll-out",
      product: "Payroll",
      status: "Proposal",
      est_monthly_revenue: "1234.50",
      expected_close_date: "2025-03-31",
    });
    // The form starts afresh, the customer too.
    expect(screen.getByLabelText<HTMLInputElement>("Opportunity name").value).toBe("");
    expect(screen.getByLabelText<HTMLInputElement>("Customer").value).toBe("");
  });

  it("shows each server validation message beside its own field", async () => {
    mockApi((url) =>
      url.pathname === "/api/customers"
        ? [200, CUSTOMERS]
        : [
            400,
            {
              type: "validation_error",
              errors: [
                {
                  code: "min_value",
                  detail: "Ensure this value is greater than 0.",
                  attr: "est_monthly_revenue",
                },
                { code: "invalid", detail: "Closing date is too far away.", attr: "expected_close_date" },
              ],
            },
          ],
    );
    renderWithQuery(<OpportunityForm vocabulary={VOCABULARY} />);

    await fillValidForm("-5");

    const revenue = screen.getByLabelText(/Est. monthly revenue/);
    const message = await within(revenue.closest(".field")!).findByText(
      "Ensure this value is greater than 0.",
    );
    expect(revenue.getAttribute("aria-invalid")).toBe("true");
    expect(revenue.getAttribute("aria-describedby")).toBe(message.id);
    expect(
      within(screen.getByLabelText(/Expected close date/).closest(".field")!).getByText(
        "Closing date is too far away.",
      ),
    ).toBeTruthy();
    expect(screen.getByLabelText(/Opportunity name/).getAttribute("aria-invalid")).toBeNull();
    expect(screen.getByRole("alert").textContent).toContain("please correct the fields marked below");
    // What was typed stays, so it can be corrected.
    expect((revenue as HTMLInputElement).value).toBe("-5");
  });

  it("shows a message that names no field, or a field the form lacks, above the form", async () => {
    mockApi((url) =>
      url.pathname === "/api/customers"
        ? [200, CUSTOMERS]
        : [
            400,
            {
              type: "validation_error",
              errors: [
                { code: "invalid", detail: "A closed deal needs a past date.", attr: "non_field_errors" },
                { code: "unknown", detail: "Unexpected field.", attr: "colour" },
              ],
            },
          ],
    );
    renderWithQuery(<OpportunityForm vocabulary={VOCABULARY} />);

    await fillValidForm("10");

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("A closed deal needs a past date.");
    expect(alert.textContent).toContain("colour: Unexpected field.");
  });

  it("asks to sign in again when the session has expired", async () => {
    mockApi((url) =>
      url.pathname === "/api/customers"
        ? [200, CUSTOMERS]
        : [401, { type: "client_error", errors: [{ code: "not_authenticated", detail: "x", attr: null }] }],
    );
    renderWithQuery(<OpportunityForm vocabulary={VOCABULARY} />);

    await fillValidForm("10");

    const alert = await screen.findByRole("alert");
    expect(within(alert).getByRole("link", { name: "sign in" })).toBeTruthy();
  });

  it("offers the status defaults for probability and forecast category", async () => {
    mockApi(() => [200, CUSTOMERS]);
    renderWithQuery(<OpportunityForm vocabulary={VOCABULARY} />);
    await userEvent.setup().selectOptions(screen.getByLabelText("Status"), "Proposal");

    expect(screen.getByLabelText("Probability %").getAttribute("placeholder")).toBe("default 50");
    expect(screen.getByRole("option", { name: "Default (Best Case)" })).toBeTruthy();
  });
});
