import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Opportunity } from "../api";
import { customer, mockApi, page, renderWithQuery, VOCABULARY } from "../test-utils";
import { OpportunitiesPage } from "./Opportunities";

function opportunity(oid: string, area: string, status: string): Opportunity {
  return {
    oid,
    cid: 1,
    customer_name: "Acme",
    area,
    opportunity_name: `Deal ${oid}`,
    product: "Payroll",
    status,
    est_monthly_revenue: "1234.50",
    probability: 50,
    forecast_category: "Best Case",
    expected_close_date: "2025-03-31",
    created_at: "2024-12-01T10:00:00Z",
    updated_at: "2024-12-01T10:00:00Z",
  };
}

const ALL = [opportunity("a1", "France", "Proposal"), opportunity("b2", "UK", "Prospecting")];

describe("OpportunitiesPage", () => {
  it("lists opportunities and asks the API for one area and one status", async () => {
    const calls = mockApi((url) => {
      if (url.pathname === "/api/customers") return [200, [customer({})]];
      const area = url.searchParams.get("area");
      const status = url.searchParams.get("status");
      return [200, ALL.filter((o) => (!area || o.area === area) && (!status || o.status === status))];
    });
    renderWithQuery(<OpportunitiesPage vocabulary={VOCABULARY} />);
    expect(await screen.findByText("2 opportunities")).toBeTruthy();
    const table = screen.getByRole("table");
    expect(within(table).getAllByText("1,234.50")).toHaveLength(2);
    expect(within(table).getByText("Deal b2")).toBeTruthy();

    const user = userEvent.setup();
    await user.selectOptions(screen.getAllByLabelText("Area")[0], "UK");
    expect(await screen.findByText("1 opportunity")).toBeTruthy();
    await user.selectOptions(screen.getAllByLabelText("Status")[0], "Proposal");
    expect(await screen.findByText("No opportunities match these filters.")).toBeTruthy();

    const listed = calls.filter((c) => c.url.pathname === "/api/opportunities").map((c) => c.url.search);
    expect(listed).toEqual(["", "?area=UK", "?area=UK&status=Proposal"]);
  });

  it("lists a new opportunity as soon as it is created, asking the API again", async () => {
    const stored = [...ALL];
    const calls = mockApi((url, call) => {
      if (url.pathname === "/api/customers")
        return [200, page([customer({ cid: 1, customer_name: "Acme" })])];
      if (call.method === "POST") {
        const created = {
          ...opportunity("c3", "France", "Proposal"),
          ...(JSON.parse(call.body) as Partial<Opportunity>),
        };
        stored.push(created);
        return [201, created];
      }
      return [200, stored];
    });
    renderWithQuery(<OpportunitiesPage vocabulary={VOCABULARY} />);
    expect(await screen.findByText("2 opportunities")).toBeTruthy();

    const user = userEvent.setup();
    const form = screen.getByRole("form", { name: "New opportunity" });
    await user.type(within(form).getByLabelText("Customer"), "acm");
    await user.click(await screen.findByRole("option", { name: "Acme (France, 1)" }));
    await user.type(within(form).getByLabelText("Opportunity name"), "Expenses pilot");
    await user.selectOptions(within(form).getByLabelText("Product"), "Expenses");
    await user.selectOptions(within(form).getByLabelText("Status"), "Proposal");
    await user.type(within(form).getByLabelText("Est. monthly revenue"), "900");
    await user.type(within(form).getByLabelText("Expected close date"), "2025-04-30");
    await user.click(within(form).getByRole("button", { name: "Create opportunity" }));

    expect(await screen.findByText("3 opportunities")).toBeTruthy();
    expect(within(screen.getByRole("table")).getByText("Expenses pilot")).toBeTruthy();
    const listed = calls.filter((c) => c.url.pathname === "/api/opportunities" && c.method === "GET");
    expect(listed).toHaveLength(2);
  });
});
